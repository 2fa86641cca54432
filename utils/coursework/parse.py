"""Read the coursework format of a chapter notebook: its exercises, answer cells and solutions.

The format is described in :mod:`utils.exercises`. This module only reads it: MyST fenced
directives (``:::{exercise}``, or ``{solution}`` in a backtick fence) are found line by line with the
CommonMark fence rule (a fence closes on a line of at least as many of the same character),
so fenced code inside a solution never ends it early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

ANSWER_TAG = "answer"

_FENCE = re.compile(r"^ {0,3}(?P<fence>:{3,}|`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")
_PYTHON_INFO = re.compile(r"^(python3?|py|ipython3?|\{code(-block|-cell)?\}\s+(python3?|ipython3?))$")


class FormatError(ValueError):
    """A notebook does not follow the coursework format; the message says where and how to fix it."""


@dataclass(frozen=True)
class Block:
    """One top-level fenced block of a markdown cell: lines ``start`` to ``end`` inclusive."""

    start: int
    end: int
    name: str  # the directive name ("exercise", "solution", ...), or "" for plain fenced code
    arg: str  # the directive argument, or the info string of plain fenced code
    options: dict[str, str]
    body: str  # the content after the options, without the fences


def blocks(markdown: str) -> list[Block]:
    """The top-level fenced blocks (directives and code) of ``markdown``, in order."""
    lines = markdown.split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None or (opening["fence"][0] == ":" and not opening["info"].startswith("{")):
            i += 1
            continue
        fence, info = opening["fence"], opening["info"]
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines) - 1)
        inner = lines[i + 1 : end if close.match(lines[end]) else end + 1]
        directive = _DIRECTIVE.match(info)
        options: dict[str, str] = {}
        if directive is not None:
            while inner and _OPTION.match(inner[0]):
                option = _OPTION.match(inner[0])
                assert option is not None
                options[option["key"]] = option["value"]
                inner = inner[1:]
        name, arg = (directive["name"], directive["arg"].strip()) if directive else ("", info)
        found.append(Block(i, end, name, arg, options, "\n".join(inner)))
        i = end + 1
    return found


def python_blocks(markdown: str) -> list[Block]:
    """The top-level fenced ``python`` code blocks of ``markdown``."""
    return [b for b in blocks(markdown) if not b.name and _PYTHON_INFO.match(b.arg)]


def first_python_block(markdown: str) -> str | None:
    """The code of the first fenced ``python`` block in ``markdown`` (None if there is none)."""
    found = python_blocks(markdown)
    return found[0].body.strip("\n") + "\n" if found else None


@dataclass
class Exercise:
    """One exercise of a notebook and where its parts are (cell indices)."""

    label: str
    cell: int
    answer_cell: int | None = None
    solution_cell: int | None = None
    solution: Block | None = None

    @property
    def reference(self) -> str | None:
        """The reference answer: the first ``python`` block of the solution."""
        return first_python_block(self.solution.body) if self.solution else None


def is_answer_cell(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell tagged ``answer`` (the stub the student fills in)."""
    return cell.cell_type == "code" and ANSWER_TAG in cell.get("metadata", {}).get("tags", [])


def exercises(nb: nbformat.NotebookNode, name: str = "notebook") -> list[Exercise]:
    """The exercises of ``nb`` with their answer and solution cells; raise FormatError if malformed.

    ``name`` (e.g. the notebook's path) starts every error message.
    """
    found: dict[str, Exercise] = {}
    current: Exercise | None = None
    for index, cell in enumerate(nb.cells):
        where = f"{name}: cell {index}"
        if cell.cell_type == "markdown":
            if re.search(r"\{solution-(start|end)\}", cell.source):
                raise FormatError(
                    f"{where}: gated solutions (solution-start/end) are not supported; use one :::{{solution}} block"
                )
            for block in blocks(cell.source):
                if block.name == "exercise":
                    label = block.options.get("label", "")
                    if not label:
                        raise FormatError(f"{where}: an exercise without ':label: chNN-ex-<slug>'")
                    if label in found:
                        raise FormatError(f"{where}: the exercise label {label!r} is used twice")
                    current = found[label] = Exercise(label, index)
                elif block.name == "solution":
                    target = found.get(block.arg)
                    if target is None:
                        raise FormatError(f"{where}: a solution for {block.arg!r}, which is no exercise above it")
                    if target.solution is not None:
                        raise FormatError(f"{where}: a second solution for {block.arg!r}")
                    target.solution_cell, target.solution = index, block
        elif is_answer_cell(cell):
            if current is None:
                raise FormatError(f"{where}: a cell tagged 'answer' before any exercise")
            if current.answer_cell is not None:
                raise FormatError(
                    f"{where}: a second cell tagged 'answer' for {current.label!r} "
                    f"(the first is cell {current.answer_cell}); one stub per exercise"
                )
            current.answer_cell = index
    for ex in found.values():
        if ex.answer_cell is not None and ex.reference is None:
            raise FormatError(
                f"{name}: {ex.label!r} has a cell tagged 'answer' but its solution has no "
                "```python block to serve as the reference answer"
            )
    return list(found.values())


def chapter_number(nb: nbformat.NotebookNode) -> int | None:
    """The chapter a notebook belongs to, read from its exercise labels ``chNN-ex-...`` (None if none)."""
    numbers = re.findall(r":label:\s*ch(\d+)-ex-", "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    if not numbers:
        numbers = re.findall(r"utils\.exercises\.ch(\d+)\b", "\n".join(c.source for c in nb.cells))
    return int(max(set(numbers), key=numbers.count)) if numbers else None
