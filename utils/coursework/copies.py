"""Student copies (solutions removed) and answer keys (answer cells filled) of chapter notebooks.

Both copies have the same cells in the same order: each solution block becomes a "Your answer"
cell in the student copy and a "Model answer" cell in the answer key, and each cell tagged
``answer`` holds the stub in the student copy and the solution's reference code in the key.
Outputs, execution counts and all metadata other than cell tags, the kernel and the language
are dropped from both.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from .parse import Exercise, FormatError, blocks, exercises, is_answer_cell, python_blocks

STUDENT, ANSWER_KEY = "student", "answer-key"
_KEEP_NB_METADATA = ("kernelspec", "language_info")
_GIT_URL = re.compile(r"(git\+https?://[^\s\"'@#]+)(@[^\s\"'#]*)?")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_SETUP_TAG = "remove-cell"


def _clean_cell(cell: nbformat.NotebookNode, source: str | None = None) -> nbformat.NotebookNode:
    """A copy of ``cell`` without outputs, counts or metadata other than its tags."""
    new = copy.deepcopy(cell)
    tags = cell.get("metadata", {}).get("tags")
    new.metadata = nbformat.NotebookNode({"tags": list(tags)} if tags else {})
    if new.cell_type == "code":
        new.outputs, new.execution_count = [], None
    if source is not None:
        new.source = source
    return new


def _markdown(source: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = re.sub(r"[^A-Za-z0-9_-]", "-", cell_id)[:64]
    return cell


def _your_answer(ex: Exercise, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    where = "Write your answer here."
    if ex.answer_cell is not None:
        stub = re.search(r"^def (\w+)", nb.cells[ex.answer_cell].source, re.M)
        name = f"`{stub[1]}`" if stub else "the stub"
        where = f"Your code goes in the cell of {name} above; write here what the exercise asks you to explain."
    return _markdown(f"**Your answer** (exercise `{ex.label}`). {where}", f"answer-{ex.label}")


def _model_answer(ex: Exercise) -> nbformat.NotebookNode:
    body = ex.solution.body if ex.solution is not None else "*(This exercise has no solution.)*"
    if ex.answer_cell is not None:  # the reference code already fills the answer cell: say so once
        lines = body.split("\n")
        code = python_blocks(body)[0]
        lines[code.start : code.end + 1] = ["*(The reference code fills the answer cell above.)*"]
        body = "\n".join(lines)
    text = f"**Model answer** (exercise `{ex.label}`)\n\n{body.strip()}\n"
    return _markdown(text, f"answer-{ex.label}")


def _split_markdown(
    nb: nbformat.NotebookNode, cell: nbformat.NotebookNode, by_label: dict[str, Exercise], kind: str
) -> list[nbformat.NotebookNode]:
    """The cell cut around its exercises and solutions: every solution block is removed, and an
    answer cell follows each written exercise or takes the place of a code exercise's solution."""
    cuts: list[tuple[int, int, Exercise | None]] = []  # (cut from line, resume at line, answer cell for)
    for block in blocks(cell.source):
        if block.name == "exercise" and by_label[block.options["label"]].answer_cell is None:
            cuts.append((block.end + 1, block.end + 1, by_label[block.options["label"]]))
        elif block.name == "solution":
            ex = by_label[block.arg]
            cuts.append((block.start, block.end + 1, ex if ex.answer_cell is not None else None))
    if not cuts:
        return [_clean_cell(cell)]
    lines, out, start = cell.source.split("\n"), [], 0
    for cut, resume, ex in [*cuts, (len(lines), len(lines), None)]:
        text = "\n".join(lines[start:cut]).strip("\n")
        if text.strip():
            new = _clean_cell(cell, text)
            if out or start:
                new.id = f"{cell.get('id', 'cell')}-{len(out)}"[:64]
            attachments = cell.get("attachments", {})
            new.pop("attachments", None)
            used = {k: v for k, v in attachments.items() if f"attachment:{k}" in text}
            if used:
                new.attachments = used
            out.append(new)
        if ex is not None:
            out.append(_your_answer(ex, nb) if kind == STUDENT else _model_answer(ex))
        start = resume
    return out


def pin_setup(source: str, tag: str) -> str:
    """Rewrite every ``git+<url>`` (with or without ``@ref``) in ``source`` to ``git+<url>@<tag>``."""
    if not _TAG.match(tag):
        raise ValueError(f"tag must be a git tag or branch name (letters, digits, . _ / -), got {tag!r}")
    return _GIT_URL.sub(lambda m: f"{m[1]}@{tag}", source)


def make_copy(
    nb: nbformat.NotebookNode, kind: str, *, tag: str | None = None, name: str = "notebook"
) -> nbformat.NotebookNode:
    """The student copy (``kind="student"``) or answer key (``kind="answer-key"``) of ``nb``.

    ``tag`` pins the Colab setup cell (tagged ``remove-cell``) to that git tag.
    """
    if kind not in (STUDENT, ANSWER_KEY):
        raise ValueError(f"kind must be {STUDENT!r} or {ANSWER_KEY!r}, got {kind!r}")
    found = exercises(nb, name)
    by_label = {ex.label: ex for ex in found}
    reference = {ex.answer_cell: ex.reference for ex in found if ex.answer_cell is not None}
    cells: list[nbformat.NotebookNode] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cells += _split_markdown(nb, cell, by_label, kind)
            continue
        source = cell.source
        if kind == ANSWER_KEY and is_answer_cell(cell):
            source = reference[index].rstrip("\n")
        if tag is not None and _SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            source = pin_setup(source, tag)
        cells.append(_clean_cell(cell, source))
    out = nbformat.v4.new_notebook(cells=cells)
    kept = {k: copy.deepcopy(nb.metadata[k]) for k in _KEEP_NB_METADATA if k in nb.metadata}
    out.metadata = nbformat.NotebookNode(kept)
    out.nbformat, out.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    left = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and re.search(r"\{solution", c.source)]
    if left:  # the last line of defence: a solution nested where the block reader cannot see it
        raise FormatError(
            f"{name}: copy cells {left} still contain a solution directive; "
            "put each solution block at the top level of its own markdown cell"
        )
    nbformat.validate(out)
    return out


def write_copies(kind: str, notebooks: list[Path], root: Path, out: Path, *, tag: str | None = None) -> list[Path]:
    """Write the ``kind`` copy of each notebook (paths under ``root``) to the same path under ``out``."""
    written = []
    for path in notebooks:
        rel = path.resolve().relative_to(root.resolve())
        nb = nbformat.read(path, as_version=4)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_copy(nb, kind, tag=tag, name=str(rel)), target)
        written.append(target)
    return written
