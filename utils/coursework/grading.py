"""Grade submitted notebooks: run each in a fresh kernel, then call its chapter's graded checks there.

A submission runs top to bottom with errors allowed and a time limit for the whole notebook;
then, in the same kernel, each exercise of the chapter's ``GRADED`` table is checked by
function name, with its own time limit. Whatever goes wrong with one answer (missing, crashing,
endless, a dead kernel, an unreadable file) scores 0 with a message and never stops the others.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass
from pathlib import Path

import nbformat

from .._validate import check_int, check_real
from .checks import MIME, graded_on_page, graded_table
from .parse import chapter_number, exercise_labels

COLUMNS = ("notebook", "exercise", "score", "max_score", "message")
_TIMED_OUT = "CellTimeoutError"


@dataclass(frozen=True)
class Row:
    """One line of the grades CSV: one graded exercise of one submission."""

    notebook: str
    exercise: str
    score: float
    max_score: float
    message: str


def _chapter_from_name(path: Path) -> int | None:
    found = re.search(r"(?:^|[^0-9])(?:ch)?(\d{2})_", path.name)
    return int(found[1]) if found else None


def _code(chapter: int, label: str) -> str:
    """The cell the grader runs in the submission's kernel to check one exercise."""
    return (
        f"from utils.coursework.checks import report as _ptdl_report\n_ptdl_report({chapter}, {label!r}, globals())\n"
    )


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: one thread, no progress bars, and figures not rendered (Agg)
    unless the notebook asks for ``%matplotlib inline``: drawing PNGs is half of chapter 2's time."""
    env = dict(os.environ)
    env.update(MPLBACKEND="agg", PTDL_NO_PROGRESS="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


class _Run:
    """One submission in one kernel: execute its cells under a deadline, then its checks."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: str, timeout: float, check_timeout: float) -> None:
        from nbclient import NotebookClient

        self.nb, self.timeout, self.check_timeout = nb, timeout, check_timeout
        self.client = NotebookClient(
            nb,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            error_on_timeout={"ename": _TIMED_OUT, "evalue": "time limit reached", "traceback": []},
            resources={"metadata": {"path": workdir}},
            on_cell_executed=self._record,
        )
        self.replies: dict[int, dict] = {}
        self.note = ""  # what went wrong with the notebook as a whole, added to missing answers

    def _record(self, cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
        self.replies[cell_index] = execute_reply.get("content", {})

    async def _cell(self, index: int, limit: float) -> bool:
        """Execute cell ``index`` within ``limit`` seconds; False if it timed out."""
        self.client.timeout = max(1, int(limit))
        await self.client.async_execute_cell(self.nb.cells[index], index)
        return self.replies.get(index, {}).get("ename") != _TIMED_OUT

    async def execute(self, checks: list[tuple[str, str]]) -> dict[str, tuple[float, str] | str]:
        """Run the notebook, then each ``(label, code)`` check; a verdict or an error text per label."""
        from nbclient.exceptions import DeadKernelError

        results: dict[str, tuple[float, str] | str] = {}
        async with self.client.async_setup_kernel(env=_kernel_env()):
            deadline = time.monotonic() + self.timeout
            try:
                for i, cell in enumerate(self.nb.cells):
                    if cell.cell_type == "code" and not await self._cell(i, deadline - time.monotonic()):
                        self.note = (
                            f" (the notebook reached its {self.timeout:g} s time limit in cell {i}; "
                            "the cells after it did not run)"
                        )
                        break
                first = len(self.nb.cells)
                self.nb.cells += [nbformat.v4.new_code_cell(code) for _, code in checks]
                for k, (label, _) in enumerate(checks):
                    finished = await self._cell(first + k, self.check_timeout)
                    results[label] = self._verdict(self.nb.cells[first + k]) if finished else _TIMED_OUT
                    if not finished and not await self._responsive():
                        self.note = " (the kernel stopped responding)"
                        break
            except DeadKernelError:
                self.note = " (the kernel died: out of memory, or the notebook ended its own process?)"
        return results

    async def _responsive(self) -> bool:
        """After a timeout: does the kernel answer a trivial cell within a few seconds?"""
        self.nb.cells.append(nbformat.v4.new_code_cell("pass"))
        return await self._cell(len(self.nb.cells) - 1, 10)

    @staticmethod
    def _verdict(cell: nbformat.NotebookNode) -> tuple[float, str] | str:
        for out in cell.outputs:
            if MIME in out.get("data", {}):
                data = out["data"][MIME]
                return float(data["score"]), str(data["message"])
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        error = f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else "no verdict came back"
        return f"the grader could not run the check ({error})."


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def grade_notebook(
    path: str | Path, *, timeout: float = 300, check_timeout: float = 60, chapter: int | None = None
) -> list[Row]:
    """The rows of one submission: one per graded exercise of its chapter (of its page, for a split chapter)."""
    name, path = str(path), Path(path)
    nb, problem = None, ""
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        problem = "the submission file was not found."
    except Exception as exc:  # not JSON, not a notebook: still one row per exercise
        problem = f"the file is not a readable notebook ({type(exc).__name__}: {_one_line(str(exc), 120)})."
    if chapter is None:
        chapter = (chapter_number(nb) if nb is not None else None) or _chapter_from_name(path)
    table = graded_table(chapter) if chapter is not None else {}
    if nb is not None:  # a page of a split chapter is graded on its own exercises
        table = graded_on_page(table, exercise_labels(nb))
    if not table:
        why = (
            f"Chapter {chapter} has no graded exercises."
            if chapter is not None
            else "Could not tell which chapter this is (pass --chapter)."
        )
        return [Row(name, "", 0, 0, _one_line(f"{why} {problem[:1].upper()}{problem[1:]}"))]
    if nb is not None:
        checks = [(label, _code(chapter, label)) for label in table]
        with tempfile.TemporaryDirectory(prefix="ptdl-grade-") as workdir:
            run = _Run(nb, workdir, timeout, check_timeout)
            try:
                results = asyncio.run(run.execute(checks))
            except Exception as exc:  # the kernel did not start, or nbclient failed: grade the rest
                results, run.note = {}, f" (the notebook could not be run: {type(exc).__name__}: {exc})"
        problem = run.note
    rows = []
    for label, entry in table.items():
        got = results.get(label) if nb is not None else None
        if isinstance(got, tuple):
            points, message = got
        elif got == _TIMED_OUT:
            points, message = (
                0,
                (f"the check did not finish within {check_timeout:g} s (an endless loop in {entry.function}?)."),
            )
        elif isinstance(got, str):
            points, message = 0, got
        else:
            points, message = 0, f"not graded: {problem.strip(' ()') or 'no verdict came back from the kernel.'}"
        if points < entry.points and problem and got is not None:
            message += problem
        rows.append(Row(name, label, points, entry.points, _one_line(message)))
    return rows


def _grade_star(args: tuple[str, float, float, int | None]) -> list[Row]:
    path, timeout, check_timeout, chapter = args
    return grade_notebook(path, timeout=timeout, check_timeout=check_timeout, chapter=chapter)


def grade(
    paths: list[str | Path],
    *,
    timeout: float = 300,
    check_timeout: float = 60,
    chapter: int | None = None,
    jobs: int = 1,
) -> list[Row]:
    """The rows of all submissions, in order; ``jobs`` > 1 runs that many submissions at once."""
    check_real("timeout", timeout, positive=True)
    check_real("check_timeout", check_timeout, positive=True)
    check_int("jobs", jobs, minimum=1)
    if chapter is not None:
        check_int("chapter", chapter, minimum=1)
    args = [(str(p), timeout, check_timeout, chapter) for p in paths]
    if jobs <= 1 or len(args) <= 1:
        return [row for a in args for row in _grade_star(a)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return [row for rows in pool.map(_grade_star, args) for row in rows]


def write_csv(rows: list[Row], path: str | Path) -> None:
    """Write the long-form grades CSV (columns notebook, exercise, score, max_score, message)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            values = list(astuple(row))
            values[2:4] = [int(v) if float(v).is_integer() else v for v in values[2:4]]
            writer.writerow(values)
