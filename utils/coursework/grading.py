"""Grade submitted notebooks: run each in its own sandboxed kernel, then judge its answers from outside.

For each submission the grader (this process, which the submission cannot reach)

1. reads the file itself; an unreadable file gets one row per graded exercise, scored 0;
2. starts a kernel in a sandbox (:mod:`~utils.coursework.sandbox`) whose only writable place
   is a fresh folder holding a private copy of the notebook, with the course package replaced
   by its grading copy (:mod:`~utils.coursework.withheld`);
3. runs the code cells in order, each with its own time limit (``cell_timeout``) inside a limit
   for the whole notebook (``timeout``): a cell at its limit is interrupted and the next one
   runs; a kernel that dies or stops answering is replaced, and the cells that had finished are
   run again in the new one;
4. for each graded exercise, calls the student's function in the kernel on test cases drawn
   afresh for this grading run (``Check.hidden``), receives the return values as plain data
   (:mod:`~utils.coursework.wire`), and judges them here with the chapter's check: the score is
   the exercise's points times the fraction of cases passed. Each exercise has its own time
   limit (``check_timeout``); a hang or a crash costs only that exercise;
5. ends the kernel and everything it started, and deletes the folder.

Nothing a notebook does to its own interpreter can change a score: the verdict is computed
here, from values the kernel sent, on inputs it could not know in advance.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import functools
import multiprocessing
import os
import re
import secrets
import shutil
import tempfile
import time
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from .._validate import check_int, check_real
from ..exercises import Check, CheckResult, Graded
from . import wire
from .checks import graded_table
from .harness import MIME
from .kernel import INTERRUPT_GRACE, Kernel, Outcome
from .parse import chapter_number, exercises
from .sandbox import Limits, make_sandbox
from .withheld import MARK, grading_copy

COLUMNS = ("notebook", "exercise", "score", "max_score", "message")
#: Largest submission file read, in bytes.
MAX_FILE = 64 * 2**20
#: How many times one submission's kernel may be replaced.
MAX_RESTARTS = 4
#: Failed test cases quoted in the one-line message and in the feedback.
QUOTED_IN_LINE, QUOTED_IN_FEEDBACK = 2, 8


@dataclass(frozen=True)
class Row:
    """One line of the grades CSV: one graded exercise of one submission."""

    notebook: str
    exercise: str
    score: float
    max_score: float
    message: str


@dataclass
class Cell:
    """What happened to one code cell: ``status`` is ok, error, timeout (interrupted at its limit), died (the
    kernel ended or stopped answering in it; not run again), withheld (used a withheld function) or not run."""

    index: int  # position in the notebook, 0-based (the feedback shows index + 1)
    status: str = "not run"
    message: str = ""
    seconds: float = 0.0
    changed: bool = True  # the student wrote or changed it (its code is in no cell of the chapter)


@dataclass
class Result:
    """The grade of one exercise of one submission, with what the feedback shows."""

    label: str
    function: str
    score: float
    max_score: float
    message: str
    details: list[str] = field(default_factory=list)
    cell: int | None = None  # the cell that defines the function (0-based)
    passed: int = 0
    total: int = 0


@dataclass
class Submission:
    """Everything the grader learned about one file."""

    path: str
    chapter: int | None = None
    source: str | None = None  # the chapter notebook it answers (its file name)
    readable: bool = True
    problem: str = ""  # why the file could not be graded, or what went wrong with the run as a whole
    cells: list[Cell] = field(default_factory=list)
    code: dict[int, str] = field(default_factory=dict)  # source of the cells the feedback quotes
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> list[Row]:
        return [Row(self.path, r.label, r.score, r.max_score, r.message) for r in self.results] or [
            Row(self.path, "", 0, 0, one_line(self.problem))
        ]


@dataclass(frozen=True)
class Settings:
    """How submissions are graded (see :func:`grade`)."""

    timeout: float = 900
    cell_timeout: float = 300
    check_timeout: float = 60
    chapter: int | None = None
    default_chapter: int | None = None  # for a file that does not tell: the one chapter of all the others
    seed: int = 0
    limits: Limits = Limits()
    unsafe: bool = False


def one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _chapter_from_name(path: Path) -> int | None:
    found = re.search(r"(?:^|[^0-9])(?:ch)?(\d{2})[a-z]?_", path.name)
    return int(found[1]) if found else None


# ---------------------------------------------------------------------------------------------
# Which exercises a file answers


@functools.cache
def _chapter_files(chapter: int) -> tuple[tuple[str, tuple[str, ...], frozenset[str]], ...]:
    root = Path(__file__).resolve().parents[2] / "chapters"
    found = []
    for path in sorted(root.glob(f"{chapter:02d}_*/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            nb = nbformat.read(path, as_version=4)
            labels = tuple(ex.label for ex in exercises(nb, path.name))
            code = frozenset(c.source for c in nb.cells if c.cell_type == "code")
        except Exception:  # a malformed chapter is the format test's business
            labels, code = (), frozenset()
        found.append((path.name, labels, code))
    return tuple(found)


def chapter_notebooks(chapter: int) -> dict[str, list[str]]:
    """The chapter's notebooks in the repository (file name -> its exercise labels in order); empty if not found."""
    return {name: list(labels) for name, labels, _ in _chapter_files(chapter)}


def chapter_code(chapter: int) -> frozenset[str]:
    """The source of every code cell of the chapter's notebooks (to tell the student's cells from the chapter's)."""
    return frozenset().union(*(code for _, _, code in _chapter_files(chapter)))


def _labels(nb: nbformat.NotebookNode) -> set[str]:
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return set(re.findall(r":label:\s*(ch\d+-ex-[\w-]+)", text))


def graded_for(chapter: int, name: str, nb: nbformat.NotebookNode | None) -> tuple[str | None, dict[str, Graded]]:
    """The chapter notebook a submission answers and the graded exercises of that notebook.

    A chapter split into several notebooks grades each file on its own notebook's exercises:
    the one with the same file name, else the one sharing most exercise labels with it.
    """
    table = graded_table(chapter)
    notebooks = chapter_notebooks(chapter)
    if len(notebooks) <= 1:
        return (next(iter(notebooks), None), table)
    source = name if name in notebooks else None
    if source is None and nb is not None:
        mine = _labels(nb)
        best = max(notebooks, key=lambda k: len(set(notebooks[k]) & mine))
        source = best if set(notebooks[best]) & mine else None
    if source is None:
        return None, table
    return source, {label: entry for label, entry in table.items() if label in notebooks[source]}


# ---------------------------------------------------------------------------------------------
# Reading the student's code (in this process, from the file)


def _python(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def _bound_names(node: ast.stmt) -> set[str]:
    """The top-level names a statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    return names


def _free_names(node: ast.stmt) -> set[str]:
    """The global names a top-level statement reads (its functions' locals and arguments excluded)."""
    import symtable

    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    todo = list(table.get_children())
    while todo:
        child = todo.pop()
        todo += child.get_children()
        for symbol in child.get_symbols():
            if symbol.is_global() or (symbol.is_referenced() and not symbol.is_local() and not symbol.is_free()):
                found.add(symbol.get_name())
    return found


def _attributes(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def definition_cell(cells: list[tuple[int, ast.Module]], function: str) -> int | None:
    """The cell that last defines ``function`` at top level (0-based notebook index), or None."""
    found = None
    for index, tree in cells:
        if any(function in _bound_names(n) for n in tree.body):
            found = index
    return found


def forbidden_use(cells: list[tuple[int, ast.Module]], function: str, forbid: tuple[str, ...]) -> str | None:
    """The withheld function that the code defining ``function`` names, directly or through the
    notebook's own global names it reads; None if it names none."""
    statements = [n for _, tree in cells for n in tree.body]
    short = {name.rsplit(".", 1)[-1]: name for name in forbid}
    seen: set[str] = set()
    todo = [function]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in statements:
            if name not in _bound_names(node):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if (alias.asname or alias.name).split(".")[0] == name:
                        hit = sorted(set(alias.name.split(".")) & set(short))
                        if hit:
                            return short[hit[0]]
                continue
            used = _free_names(node) | _attributes(node)
            hit = sorted(used & set(short))
            if hit:
                return short[hit[0]]
            todo += sorted(_free_names(node) - seen)
    return None


# ---------------------------------------------------------------------------------------------
# Running one submission


class _CallTimeout(BaseException):
    """A call at its time limit (not an Exception: a check's ``attempt`` must not catch it)."""


class _KernelLost(BaseException):
    """The kernel died or stopped answering during a call."""


class _Missing(BaseException):
    """The function is not defined (any more) in the kernel, or is no function: ``args[0]`` is its type."""


_EXCEPTIONS: dict[str, type[Exception]] = {}


def _student_exception(name: str) -> type[Exception]:
    """An exception class named like the student's (so ``type(exc).__name__`` reads right)."""
    name = name if name.isidentifier() else "Exception"
    if name not in _EXCEPTIONS:
        _EXCEPTIONS[name] = type(name, (Exception,), {})
    return _EXCEPTIONS[name]


class _Run:
    """One submission's kernel and cells: run the notebook, replace a broken kernel, call functions."""

    def __init__(self, sandbox: Any, root: Path, slot: int, code: list[tuple[int, str]], settings: Settings) -> None:
        self.sandbox, self.root, self.slot, self.code, self.settings = sandbox, root, slot, code, settings
        self.cells = {index: Cell(index) for index, _ in code}
        self.kernel: Kernel | None = None
        self.restarts = 0
        self.note = ""  # what went wrong with the run as a whole

    def _start(self) -> bool:
        if self.kernel is not None:
            self.kernel.close()
            home = self.root / "home"  # a fresh folder: the cells run again make what they need
            for path in home.iterdir():
                if path.name not in ("submission.ipynb", ".kernel"):
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        if self.restarts > MAX_RESTARTS:
            self.note = f"the kernel had to be replaced more than {MAX_RESTARTS} times"
            return False
        self.restarts += 1
        self.kernel = Kernel(
            self.sandbox.command(self.root, self.slot),
            self.root / "home",
            mime=MIME,
            owner=self.sandbox.owner(self.slot),
            grace=min(INTERRUPT_GRACE, max(2.0, self.settings.cell_timeout)),
        )
        for attempt in range(2):  # a busy machine can make a start fail once
            try:
                self.kernel.start()
                return True
            except RuntimeError as exc:
                self.note = one_line(str(exc)[-600:], 600)
                if attempt == 0:
                    time.sleep(1.0)
        return False

    def _disk_used(self) -> int:
        total = 0
        for folder, _, files in os.walk(self.root / "home"):
            for name in files:
                try:
                    total += os.lstat(Path(folder) / name).st_size
                except OSError:
                    pass
        return total

    def _execute(self, index: int, source: str, limit: float) -> None:
        assert self.kernel is not None
        outcome = self.kernel.run(source, limit)
        cell = self.cells[index]
        cell.seconds = outcome.seconds
        if outcome.status == "ok":
            cell.status, cell.message = "ok", ""
        elif outcome.status == "error":
            withheld = MARK in outcome.evalue
            cell.status = "withheld" if withheld else "error"
            cell.message = one_line(f"{outcome.ename}: {outcome.evalue}", 300)
        elif outcome.status == "timeout":
            cell.status = "timeout"
            cell.message = f"interrupted at its time limit ({limit:.0f} s): an endless loop, or too slow?"
        else:
            cell.status = "died"
            cell.message = "the kernel died here (out of memory, or the code ended its own process?)"
        if self._disk_used() > self.settings.limits.disk:
            cell.status = "died"
            cell.message = f"the notebook wrote more than {self.settings.limits.disk} bytes to its folder"
            self.kernel.broken = True
        if cell.status in ("error", "timeout") and not self.kernel.alive():
            cell.status = "died"  # a cell that ends its kernel is not run again in the next one

    def ensure_kernel(self, deadline: float) -> bool:
        """A working kernel in which every cell that finished before has run again (within ``deadline``)."""
        if self.kernel is not None and self.kernel.alive():
            return True
        replay = [(i, s) for i, s in self.code if self.cells[i].status in ("ok", "error", "withheld")]
        if not self._start():
            return False
        for index, source in replay:
            left = deadline - time.monotonic()
            if left <= 0:
                self.note = "the time limit ran out while the cells were run again in a new kernel"
                return True
            self._execute(index, source, min(self.settings.cell_timeout, left))
            if not self.kernel.alive() and not self._start():
                return False
        return True

    def run_cells(self) -> None:
        """Run every code cell in order, each within its limit, all within the notebook's."""
        deadline = time.monotonic() + self.settings.timeout
        for index, source in self.code:
            left = deadline - time.monotonic()
            if left <= 0:
                self.note = (
                    f"the notebook reached its {self.settings.timeout:g} s time limit in cell {index + 1}; "
                    "the cells after it did not run (raise TIMEOUT on a slow machine)"
                )
                break
            if not self.ensure_kernel(deadline):
                break
            self._execute(index, source, min(self.settings.cell_timeout, left))

    def call(self, code: str, deadline: float) -> list[Any]:
        """Run a harness call; its replies, or raise _CallTimeout / _KernelLost."""
        assert self.kernel is not None
        outcome: Outcome = self.kernel.run(code, deadline - time.monotonic())
        if outcome.status == "timeout":
            raise _CallTimeout
        if outcome.status == "dead" or not self.kernel.alive():
            raise _KernelLost
        return outcome.replies

    def close(self) -> None:
        if self.kernel is not None:
            self.kernel.close()


class _Proxy:
    """Stands for the student's function in a check: each call runs in the kernel, on plain data."""

    def __init__(self, run: _Run, name: str, deadline: float) -> None:
        self.run, self.__name__, self.deadline = run, name, deadline
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        payload = base64.b64encode(wire.dumps((list(args), kwargs)).encode()).decode()
        code = f"__import__('utils.coursework.harness', fromlist=['call']).call({self.__name__!r}, {payload!r})"
        replies = self.run.call(code, self.deadline)
        reply = replies[-1] if replies else None
        if not isinstance(reply, dict):
            raise _student_exception("NoResult")(
                "no result came back from the kernel (did the notebook replace the grader's helpers?)"
            )
        status = reply.get("status")
        if status == "ok":
            try:
                return wire.loads(reply.get("value"))
            except wire.WireError as exc:
                raise _student_exception("MalformedResult")(
                    f"the returned value did not arrive intact: {exc}"
                ) from None
        if status == "raised":
            kind, message = str(reply.get("type", "Exception")), str(reply.get("message", ""))[:2000]
            if kind == "NotImplementedError":
                raise NotImplementedError(message)
            raise _student_exception(kind)(message)
        if status == "unsendable":
            return wire._opaque(str(reply.get("type", "object")), f"<{reply.get('type')}: {reply.get('message')}>")
        if status == "missing":
            raise _Missing(str(reply.get("type", "NoneType"))[:80])
        raise _student_exception("NoResult")("the kernel sent an unreadable reply")


def _rng(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def _judge(run: _Run, label: str, entry: Graded, settings: Settings) -> tuple[int, int, list[str], str]:
    """(cases passed, cases run, failure messages, a note on how it ended) for one exercise."""
    deadline = time.monotonic() + settings.check_timeout
    proxy = _Proxy(run, entry.function, deadline)
    check = entry.check
    cases = check.hidden_cases(_rng(settings.seed, label)) if isinstance(check, Check) else [None]
    passed, failures, note = 0, [], ""
    for k, case in enumerate(cases):
        try:
            verdict: CheckResult | None
            if isinstance(check, Check):
                verdict = check.judge(proxy, case)
            else:
                result = check(proxy)
                verdict = None if bool(result) else result
        except _CallTimeout:
            note = (
                f"the call on test case {k + 1} did not finish within the exercise's "
                f"{settings.check_timeout:g} s (an endless loop in {entry.function}?)"
            )
            break
        except _KernelLost:
            note = f"the kernel died while running {entry.function} (out of memory, or the code ended its own process?)"
            break
        except _Missing:
            raise
        except Exception as exc:  # a check that raises on some answer: still a verdict
            verdict = CheckResult(False, f"the check raised {type(exc).__name__}: {exc}")
        if verdict is None:
            passed += 1
        else:
            text = verdict.message if isinstance(verdict, CheckResult) else str(verdict)
            failures.append(text)
    return passed, len(cases), failures, note


def _message(passed: int, total: int, failures: list[str], note: str) -> tuple[str, list[str]]:
    """The one-line message of an exercise and the feedback's list of distinct failures."""
    distinct = list(dict.fromkeys(failures))
    if passed == total and not note:
        return (f"Correct! All {total} test cases pass." if total > 1 else "Correct!"), []
    head = f"Not yet: {passed} of {total} test cases pass" if total > 1 else "Not yet"
    parts = distinct[:QUOTED_IN_LINE]
    text = head + (": " + " | ".join(parts) if parts else "")
    if note:
        text += f" ({note})."
    return text, distinct[:QUOTED_IN_FEEDBACK] + ([note] if note else [])


def _grade_exercises(run: _Run, sub: Submission, table: dict[str, Graded], trees: list, settings: Settings) -> None:
    deadline = time.monotonic() + settings.timeout  # for running the cells again in a new kernel
    for label, entry in table.items():
        cell = definition_cell(trees, entry.function)
        if cell is None:  # a cell that does not parse may still be where the student wrote it
            pattern = re.compile(rf"^\s*def\s+{re.escape(entry.function)}\b", re.M)
            cell = next((i for i, src in reversed(run.code) if pattern.search(src)), None)
        result = Result(label, entry.function, 0.0, float(entry.points), "", cell=cell)
        sub.results.append(result)
        if cell is not None:
            sub.code[cell] = dict(run.code).get(cell, "")
        hit = forbidden_use(trees, entry.function, entry.forbid)
        if hit is not None:
            result.message = (
                f"Not yet: {entry.function} uses {hit}, the course's own implementation of what this exercise "
                "asks for: an answer must compute it itself."
            )
            continue
        if not run.ensure_kernel(max(deadline, time.monotonic() + 60)):
            result.message = f"not graded: {run.note or 'no kernel could be started'}."
            continue
        try:
            passed, total, failures, note = _judge(run, label, entry, settings)
        except _Missing as missing:
            kind = missing.args[0] if missing.args else "NoneType"
            if kind != "NoneType":
                result.message = f"Not yet: {entry.function} is a {kind}, not a function."
                continue
            where = ""
            if cell is not None and run.cells.get(cell) and run.cells[cell].status != "ok":
                where = f" Cell {cell + 1}, which defines it, {_cell_said(run.cells[cell])}."
            elif cell is None:
                where = " No cell defines it."
            result.message = one_line(
                f"Not yet: {entry.function} is not defined: the cell tagged 'answer' did not run or defines "
                f"another name (run the notebook top to bottom).{where}" + (f" ({run.note}.)" if run.note else "")
            )
            continue
        result.passed, result.total = passed, total
        result.score = round(entry.points * passed / total, 4) if total else 0.0
        text, result.details = _message(passed, total, failures, note)
        result.message = one_line(text)


def _cell_said(cell: Cell) -> str:
    if cell.status == "timeout":
        return "was interrupted at its time limit"
    if cell.status == "not run":
        return "did not run"
    if cell.status == "died":
        return f"ended its kernel ({cell.message})"
    return f"raised {cell.message}"


def _chapter_of(path: str | Path) -> int | None:
    """The chapter of a file, from its exercise labels or its name (None if neither tells)."""
    try:
        if Path(path).stat().st_size <= MAX_FILE:
            found = chapter_number(nbformat.read(path, as_version=4))
            if found is not None:
                return found
    except Exception:  # unreadable: the name may still tell
        pass
    return _chapter_from_name(Path(path))


def grade_submission(path: str | Path, settings: Settings, *, package: Path, slot: int = 0) -> Submission:
    """Grade one file (see the module's docstring); never raises for a bad submission."""
    start = time.monotonic()
    name = str(path)
    sub = Submission(name)
    nb = None
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE:
            raise ValueError(f"the file has {size} bytes, more than {MAX_FILE}")
        nb = nbformat.read(path, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except FileNotFoundError:
        sub.readable, sub.problem = False, "the submission file was not found."
    except Exception as exc:  # not JSON, not a notebook: still one row per exercise
        sub.readable = False
        sub.problem = f"the file is not a readable notebook ({type(exc).__name__}: {one_line(str(exc), 120)})."
        nb = None
    chapter = settings.chapter
    if chapter is None:
        chapter = (chapter_number(nb) if nb is not None else None) or _chapter_from_name(Path(path))
    chapter = chapter or settings.default_chapter
    sub.chapter = chapter
    if chapter is None:
        sub.problem = one_line(f"Could not tell which chapter this is (pass --chapter). {sub.problem}")
        return sub
    sub.source, table = graded_for(chapter, Path(path).name, nb)
    if not table:
        where = (
            f"{sub.source} (chapter {chapter})"
            if sub.source and table != graded_table(chapter)
            else f"Chapter {chapter}"
        )
        sub.problem = one_line(f"{where} has no graded exercises; written ones are in the rubric sheet. {sub.problem}")
        return sub
    if nb is None:
        for label, entry in table.items():
            msg = f"not graded: {sub.problem}"
            sub.results.append(Result(label, entry.function, 0, float(entry.points), msg))
        return sub
    code = [(i, c.source) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code" and isinstance(c.source, str)]
    trees = [(i, t) for i, s in code if (t := _python(s)) is not None]
    sandbox = make_sandbox(package, settings.limits, unsafe=settings.unsafe)
    root = Path(tempfile.mkdtemp(prefix="ptdl-"))
    try:
        (root / "home").mkdir(mode=0o755)
        copy = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for _, s in code])
        nbformat.write(copy, root / "home" / "submission.ipynb")
        owner = sandbox.owner(slot)
        if owner is not None:
            for p in (root / "home", root / "home" / "submission.ipynb"):
                os.chown(p, *owner)
        run = _Run(sandbox, root, slot, code, settings)
        try:
            run.run_cells()
            _grade_exercises(run, sub, table, trees, settings)
        except Exception as exc:  # the grader's own failure on this file: the others are still graded
            run.note = f"the grader could not finish this submission ({type(exc).__name__}: {one_line(str(exc), 200)})"
            graded = {r.label for r in sub.results if r.message}
            sub.results = [r for r in sub.results if r.label in graded]
            for label, entry in table.items():
                if label not in graded:
                    sub.results.append(
                        Result(label, entry.function, 0.0, float(entry.points), f"not graded: {run.note}.")
                    )
        finally:
            run.close()
        order = list(table)
        sub.results.sort(key=lambda r: order.index(r.label))
        sub.cells = [run.cells[i] for i, _ in code]
        original = chapter_code(chapter)
        for cell in sub.cells:
            cell.changed = not original or dict(code)[cell.index] not in original
            if cell.status in ("timeout", "died") or (cell.status == "error" and cell.changed):
                sub.code[cell.index] = dict(code)[cell.index]
        sub.problem = run.note
        for result in sub.results:
            if result.score < result.max_score and run.note and run.note not in result.message:
                result.message = one_line(f"{result.message} ({run.note}.)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        sub.seconds = time.monotonic() - start
    return sub


def grade_all(
    paths: list[str | Path],
    *,
    timeout: float = 900,
    cell_timeout: float | None = None,
    check_timeout: float = 60,
    chapter: int | None = None,
    jobs: int = 1,
    seed: int | None = None,
    limits: Limits | None = None,
    unsafe: bool = False,
) -> list[Submission]:
    """Grade every file (see the module's docstring); ``jobs`` > 1 runs that many at once."""
    check_real("timeout", timeout, positive=True)
    check_real("check_timeout", check_timeout, positive=True)
    if cell_timeout is not None:
        check_real("cell_timeout", cell_timeout, positive=True)
    check_int("jobs", jobs, minimum=1)
    if chapter is not None:
        check_int("chapter", chapter, minimum=1)
    if seed is None:
        seed = secrets.randbits(63)
    settings = Settings(
        timeout=timeout,
        cell_timeout=min(timeout, cell_timeout if cell_timeout is not None else 300),
        check_timeout=check_timeout,
        chapter=chapter,
        seed=check_int("seed", seed, minimum=0),
        limits=limits or Limits(),
        unsafe=unsafe,
    )
    if not paths:
        return []
    chapters = {chapter} if chapter is not None else {c for p in paths if (c := _chapter_of(p)) is not None}
    if len(chapters) == 1:  # a file that does not tell its chapter (say, unreadable) is of the same one
        settings = dataclasses.replace(settings, default_chapter=next(iter(chapters)))
    forbid = {name for ch in chapters for entry in graded_table(ch).values() for name in entry.forbid}
    make_sandbox(Path("."), settings.limits, unsafe=unsafe)  # refuse early, before any work
    with tempfile.TemporaryDirectory(prefix="ptdl-package-") as folder:
        os.chmod(folder, 0o755)
        package = grading_copy(Path(folder), sorted(forbid))
        if jobs <= 1 or len(paths) <= 1:
            return [grade_submission(p, settings, package=package, slot=0) for p in paths]
        context = multiprocessing.get_context()
        slots = context.Queue()
        for slot in range(jobs):
            slots.put(slot)
        with ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_take_slot, initargs=(slots,)
        ) as pool:
            futures = [pool.submit(_grade_in_worker, p, settings, package) for p in paths]
            return [f.result() for f in futures]


_SLOT = 0


def _take_slot(slots: Any) -> None:
    """Give this worker process its own slot (its own user id when grading as root, hence its own process limit)."""
    global _SLOT
    _SLOT = slots.get()


def _grade_in_worker(path: str | Path, settings: Settings, package: Path) -> Submission:
    return grade_submission(path, settings, package=package, slot=_SLOT)


def grade(paths: list[str | Path], **kwargs: Any) -> list[Row]:
    """The long-form rows of all submissions, in order (see :func:`grade_all` for the arguments)."""
    return [row for sub in grade_all(paths, **kwargs) for row in sub.rows()]


def grade_notebook(path: str | Path, **kwargs: Any) -> list[Row]:
    """The rows of one submission: one per graded exercise of its chapter."""
    return grade([path], **kwargs)


def format_score(value: float) -> int | float:
    """A score as the CSV writes it: whole numbers without a decimal point, others to 4 digits."""
    return int(value) if float(value).is_integer() else round(float(value), 4)


def write_csv(rows: list[Row], path: str | Path) -> None:
    """Write the long-form grades CSV (columns notebook, exercise, score, max_score, message)."""
    import csv

    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                [row.notebook, row.exercise, format_score(row.score), format_score(row.max_score), row.message]
            )
