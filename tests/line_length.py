"""Lines too long for the book's code column, in chapter notebooks.

The book shows about 80 characters of a code cell or a printed output at 1280 px; longer
lines are cut off at the right edge (the reader must scroll sideways to see the end). So
every code line and every printed line must be at most ``MAX_LINE`` = 79 characters.

    python tests/line_length.py chapters/*/*.ipynb             # code cells
    python tests/line_length.py --outputs _build/jupyter_execute/chapters/*/*.ipynb

The second form checks what an executed notebook printed (``make book`` writes executed
copies to ``_build/jupyter_execute``). Cells the book does not show (tags ``remove-cell``,
``remove-input``, ``remove-output``) are skipped for the part that is hidden.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

MAX_LINE = 79
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: The order in which the book picks one representation of a rich output (myst-nb's HTML
#: priority); only a ``text/plain`` pick is printed text.
MIME_PRIORITY = (
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/markdown",
    "text/latex",
    "text/plain",
)


@dataclass(frozen=True)
class LongLine:
    """One line over the limit: where it is, how long it is, and its text."""

    notebook: str
    cell: int  # index of the cell in the notebook (0-based, as nbformat counts)
    line: int  # line number within the cell's source or output (1-based)
    length: int
    text: str
    kind: str  # "code" or "output"

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell}, {self.kind} line {self.line} ({self.length} chars): {self.text}"


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _read(notebook: str | Path | nbformat.NotebookNode) -> tuple[str, nbformat.NotebookNode]:
    if isinstance(notebook, (str, Path)):
        return str(notebook), nbformat.read(str(notebook), as_version=4)
    return "<notebook>", notebook


def _over(name: str, cell: int, text: str, kind: str, limit: int) -> list[LongLine]:
    out = []
    for k, line in enumerate(text.splitlines(), start=1):
        line = ANSI.sub("", line).rstrip()
        if len(line) > limit:
            out.append(LongLine(name, cell, k, len(line), line, kind))
    return out


FENCE = re.compile(r"^(```+|~~~+)")


def _fenced_code(markdown: str) -> str:
    """The markdown with every line outside fenced code blocks blanked (line numbers kept)."""
    out, fence = [], None
    for line in markdown.splitlines():
        m = FENCE.match(line.strip())
        if fence is None and m and not line.strip().startswith(m.group(1) + "{"):
            fence = m.group(1)
            out.append("")
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
            fence = None
            out.append("")
        else:
            out.append(line if fence is not None else "")
    return "\n".join(out)


def long_code_lines(notebook: str | Path | nbformat.NotebookNode, limit: int = MAX_LINE) -> list[LongLine]:
    """Code lines longer than ``limit`` characters: code cells (unless the book hides them)
    and fenced code blocks in markdown cells (kind ``"markdown code"``)."""
    name, nb = _read(notebook)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not _tags(cell) & {"remove-cell", "remove-input"}:
            found += _over(name, i, cell.source, "code", limit)
        elif cell.cell_type == "markdown":
            found += _over(name, i, _fenced_code(cell.source), "markdown code", limit)
    return found


def _printed_text(output: Any) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return output.get("text", "")
    if kind == "error":
        return "\n".join(output.get("traceback", []))
    data = output.get("data", {})
    shown = next((mime for mime in MIME_PRIORITY if mime in data), None)
    if shown == "text/plain":
        text = data["text/plain"]
        return text if isinstance(text, str) else "".join(text)
    return ""


def long_output_lines(notebook: str | Path | nbformat.NotebookNode, limit: int = MAX_LINE) -> list[LongLine]:
    """Printed output lines (streams, plain-text results, tracebacks) longer than ``limit``."""
    name, nb = _read(notebook)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _tags(cell) & {"remove-cell", "remove-output"}:
            continue
        texts = [_printed_text(o) for o in cell.get("outputs", [])]
        text = "".join(t if t.endswith("\n") else t + "\n" for t in texts if t)
        found += _over(name, i, text, "output", limit)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--outputs", action="store_true", help="check printed outputs (executed notebooks)")
    parser.add_argument("--limit", type=int, default=MAX_LINE)
    args = parser.parse_args(argv)
    check = long_output_lines if args.outputs else long_code_lines
    found = [line for path in args.notebooks for line in check(path, args.limit)]
    for line in found:
        print(line)
    kind = "printed" if args.outputs else "code"
    print(f"{len(found)} {kind} lines over {args.limit} characters in {len(args.notebooks)} notebooks")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
