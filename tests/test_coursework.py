"""Coursework tooling: student copies hide every solution, answer keys hold the reference answers,
every chapter follows the coursework format, and the grader scores real submissions end to end."""

from __future__ import annotations

import ast
import csv
import importlib
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import setup_cell
from utils.coursework import (
    ANSWER_KEY,
    COLUMNS,
    STUDENT,
    FormatError,
    exercises,
    grade,
    graded_table,
    make_copy,
    pin_setup,
    score,
    wire,
    written_table,
)
from utils.coursework.gradebook import CANVAS_COLUMNS, POINTS_POSSIBLE
from utils.coursework.parse import blocks, chapter_number, first_python_block, is_answer_cell
from utils.coursework.sandbox import bubblewrap_problem
from utils.exercises import Check

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ids = [p.name for p in NOTEBOOKS]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _chapter(path: Path) -> int:
    return int(re.match(r"(\d+)_", path.parent.name)[1])


CHAPTERS = sorted({_chapter(p) for p in NOTEBOOKS})


def _chapter_exercises(chapter: int) -> dict:
    """label -> (notebook, exercise) over every notebook of a chapter (a chapter may be split into several)."""
    return {ex.label: (p, ex) for p in NOTEBOOKS if _chapter(p) == chapter for ex in exercises(_read(p), p.name)}


def _imports(nb: nbformat.NotebookNode) -> dict:
    """A namespace holding what the notebook imports (and nothing it computes)."""
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or is_answer_cell(cell):
            continue
        try:
            with warnings.catch_warnings():  # a cell's invalid escape is the chapter's business, not this test's
                warnings.simplefilter("ignore")
                tree = ast.parse(TransformerManager().transform_cell(cell.source))
        except SyntaxError:
            continue
        nodes = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(body=nodes, type_ignores=[]), "<imports>", "exec"), namespace)
    return namespace


def _solution_cells(nb: nbformat.NotebookNode) -> set[int]:
    return {i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "{solution}" in c.source}


# ---------------------------------------------------------------------------------------------
# Student copies and answer keys


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_student_copy_has_no_solution_text(path: Path) -> None:
    nb = _read(path)
    student = make_copy(nb, STUDENT, name=path.name)
    solutions = [blocks(nb.cells[i].source) for i in _solution_cells(nb)]
    public = "\n".join(c.source for i, c in enumerate(nb.cells) if i not in _solution_cells(nb))
    secret = {
        line.strip()
        for found in solutions
        for b in found
        if b.name == "solution"
        for line in b.body.split("\n")
        if len(line.strip()) >= 8 and line.strip() not in public
    }
    assert secret, "no solution text found to hide: is the test reading the solutions?"
    text = json.dumps(student)  # every cell and all metadata
    shown = "\n".join(c.source for c in student.cells)
    leaked = sorted(line for line in secret if line in shown or json.dumps(line)[1:-1] in text)
    assert not leaked, f"solution lines left in the student copy: {leaked[:3]}"
    assert "{solution}" not in text
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_student_copy_keeps_everything_else(path: Path) -> None:
    nb = _read(path)
    student = make_copy(nb, STUDENT, name=path.name)
    assert [c.source for c in student.cells if c.cell_type == "code"] == [
        c.source for c in nb.cells if c.cell_type == "code"
    ], "code cells, stubs included, equal the source"
    kept = [c.source for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and i not in _solution_cells(nb)]
    shown = [c.source for c in student.cells if c.cell_type == "markdown"]
    assert all(s in shown for s in kept)
    answers = {
        re.search(r"`(ch\d+-ex-[\w-]+)`", c.source)[1]: i
        for i, c in enumerate(student.cells)
        if c.source.startswith("**Your answer**")
    }
    found = exercises(nb)
    assert set(answers) == {ex.label for ex in found}, "one 'Your answer' cell per exercise"
    for ex in found:
        if ex.answer_cell is None:  # a written exercise: its answer cell comes right after it
            before = student.cells[answers[ex.label] - 1].source
            assert f":label: {ex.label}" in before and before.rstrip().endswith((":::", "```"))
        else:
            assert f"`{ex.label}`" in student.cells[answers[ex.label]].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_answer_key_has_the_student_copy_cells_in_order(path: Path) -> None:
    nb = _read(path)
    student, key = make_copy(nb, STUDENT), make_copy(nb, ANSWER_KEY)
    assert [(c.cell_type, c.id) for c in key.cells] == [(c.cell_type, c.id) for c in student.cells]
    references = {ex.reference.rstrip() for ex in exercises(nb) if ex.answer_cell is not None}
    for s, k in zip(student.cells, key.cells, strict=True):
        if is_answer_cell(s):
            assert k.source in references and "NotImplementedError" not in k.source
        elif s.source.startswith("**Your answer**"):
            assert k.source.startswith("**Model answer**") and len(k.source) > 40
        else:
            assert k.source == s.source


def test_pin_setup_rewrites_only_the_install_url() -> None:
    cell = '    %pip install -q "git+https://github.com/owner/course-dl"'
    assert pin_setup(cell, "fall-2026") == cell.replace('dl"', 'dl@fall-2026"')
    assert pin_setup(cell.replace('dl"', 'dl@v1"'), "v2") == cell.replace('dl"', 'dl@v2"')
    with pytest.raises(ValueError, match=r"^tag must"):
        pin_setup(cell, "no spaces")
    nb = _read(ROOT / "chapters/02_branching/02_branching.ipynb")
    nb.cells[1].source = setup_cell.render("https://github.com/owner/course-dl")  # as `make setup-cells` writes it
    pinned, plain = make_copy(nb, STUDENT, tag="fall-2026"), make_copy(nb, STUDENT)
    changed = [i for i, (a, b) in enumerate(zip(pinned.cells, plain.cells, strict=True)) if a.source != b.source]
    assert len(changed) == 1 and "remove-cell" in plain.cells[changed[0]].metadata["tags"]
    assert '%pip install -q "git+https://github.com/owner/course-dl@fall-2026"' in pinned.cells[changed[0]].source


def test_bad_arguments_are_named() -> None:
    nb = _nb(("md", EX))
    with pytest.raises(ValueError, match=r"^kind must"):
        make_copy(nb, "teacher")
    with pytest.raises(ValueError, match=r"^timeout must"):
        grade([], timeout=0)
    with pytest.raises(ValueError, match=r"^check_timeout must"):
        grade([], check_timeout=-1)
    with pytest.raises(ValueError, match=r"^jobs must"):
        grade([], jobs=0)
    with pytest.raises(TypeError, match=r"^chapter must"):
        grade([], chapter="2")
    with pytest.raises(ValueError, match=r"^cell_timeout must"):
        grade([], cell_timeout=0)


def test_build_excludes_the_copies() -> None:
    import yaml

    assert "_build/" in (ROOT / ".gitignore").read_text().split()
    assert "_build" in yaml.safe_load((ROOT / "_config.yml").read_text())["exclude_patterns"]


# ---------------------------------------------------------------------------------------------
# Every chapter follows the format, and every reference answer passes its check


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapter_follows_the_coursework_format(path: Path) -> None:
    nb, nn = _read(path), _chapter(path)
    found = exercises(nb, path.name)  # raises FormatError on a malformed notebook
    assert found and chapter_number(nb) == nn
    for ex in found:
        assert re.fullmatch(rf"ch{nn:02d}-ex-[a-z0-9]+(-[a-z0-9]+)*", ex.label), ex.label
        cell = nb.cells[ex.cell].source.strip()
        assert [b.name for b in blocks(cell)] == ["exercise"] and cell.startswith((":::", "```")), (
            f"{ex.label}: the exercise is alone in its markdown cell"
        )
        assert re.search(r"\(about \d+(-\d+)? (minutes|hours?)\b", cell, re.I), f"{ex.label}: a time estimate"
        assert ex.solution is not None, f"{ex.label} has a solution"
        sol = nb.cells[ex.solution_cell].source.strip()
        assert ex.solution.start == 0 and ex.solution.end == len(sol.split("\n")) - 1, (
            f"{ex.label}: the solution is alone in its markdown cell"
        )
        assert "dropdown" in ex.solution.options.get("class", ""), f"{ex.label}: the solution is a dropdown"
        following = nb.cells[ex.solution_cell + 1 :]
        next_ex = next((i for i, c in enumerate(following) if ":label:" in c.source), len(following))
        assert not any(c.cell_type == "code" for c in following[:next_ex]), (
            f"{ex.label}: the solution comes after the exercise's code cells"
        )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_and_written_tables_match_the_chapter(chapter: int) -> None:
    """GRADED lists the exercises with an answer cell, WRITTEN the others, over all of the chapter's notebooks."""
    table, found = graded_table(chapter), _chapter_exercises(chapter)
    with_answer = {label for label, (_, ex) in found.items() if ex.answer_cell is not None}
    assert set(table) == with_answer, "GRADED lists exactly the exercises with a cell tagged 'answer'"
    written = {k for k in written_table(chapter) if not k.endswith(" (written)")}
    assert written == set(found) - with_answer, "WRITTEN lists exactly the exercises without an answer cell"
    assert all(v > 0 for v in written_table(chapter).values())
    for label, entry in table.items():
        path, ex = found[label]
        nb = _read(path)
        code = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        stub = ast.parse(nb.cells[ex.answer_cell].source)
        assert [type(n) for n in stub.body] == [ast.FunctionDef] and stub.body[0].name == entry.function, (
            f"{label}: the answer cell holds only the stub of {entry.function}"
        )
        call = re.compile(rf"\b{entry.check.__name__}\s*\(\s*{entry.function}\s*[,)]")
        calls = [i for i, src in code if call.search(src)]
        assert calls and all(ex.answer_cell < i < ex.solution_cell for i in calls), (
            f"{label}: a separate cell after the stub calls {entry.check.__name__}({entry.function})"
        )
        assert isinstance(entry.check, Check), f"{label}: its check has hidden test cases (utils.exercises.check)"


GRADED = [
    (p, label)
    for p in NOTEBOOKS
    for label in graded_table(_chapter(p))
    if label in {ex.label for ex in exercises(_read(p))}
]


class _OverTheWire:
    """The reference answer behind the same plain-data crossing as in grading (arguments and result)."""

    def __init__(self, fn) -> None:
        self.fn, self.__name__ = fn, fn.__name__

    def __call__(self, *args, **kwargs):
        args, kwargs = wire.loads(wire.dumps((list(args), kwargs)))
        return wire.loads(wire.dumps(self.fn(*args, **kwargs), result=True))


@pytest.mark.parametrize("path, label", GRADED, ids=[label for _, label in GRADED])
def test_reference_answer_passes_and_stub_fails(path: Path, label: str) -> None:
    """On the public cases (the notebook's check) and on hidden cases drawn with three seeds, sent over the wire."""
    nb = _read(path)
    entry = graded_table(_chapter(path))[label]
    key, student = make_copy(nb, ANSWER_KEY), make_copy(nb, STUDENT)
    index = exercises(nb)[[ex.label for ex in exercises(nb)].index(label)].answer_cell
    cell = [i for i, c in enumerate(student.cells) if c.id == nb.cells[index].id][0]
    for copy, passes in ((key, True), (student, False)):
        namespace = _imports(nb)
        exec(copy.cells[cell].source, namespace)
        points, message = score(entry, namespace)
        assert (points == entry.points) == passes, message
        assert passes or "NotImplementedError" in message
        fn = _OverTheWire(namespace[entry.function])
        for seed in range(3):
            cases = entry.check.hidden_cases(np.random.default_rng(seed))
            verdicts = [entry.check.judge(fn, case) for case in cases]
            failed = [v.message for v in verdicts if v is not None]
            if passes:
                assert not failed, f"the reference fails hidden cases: {failed[:2]}"
            else:
                assert len(failed) == len(cases) and all("NotImplementedError" in m for m in failed)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_hidden_cases_are_fresh(chapter: int) -> None:
    """Hidden cases differ from the public ones and from one seed to the next (a typed-in table cannot pass)."""
    for label, entry in graded_table(chapter).items():
        public = wire.dumps(entry.check.public_cases())
        one, two = (wire.dumps(entry.check.hidden_cases(np.random.default_rng(s))) for s in (1, 2))
        assert one != two and one != public, label
        for case in entry.check.hidden_cases(np.random.default_rng(3)):
            wire.dumps(case)  # every case can be sent to a grading kernel


# ---------------------------------------------------------------------------------------------
# The format reader on hand-made cells


def test_blocks_follow_the_fence_rule() -> None:
    md = "intro\n````{solution} ch00-ex-a\n:class: dropdown\n\n```python\nx = 1\n```\n\ntext\n````\nafter"
    (sol,) = blocks(md)
    assert (sol.name, sol.arg, sol.options) == ("solution", "ch00-ex-a", {"class": "dropdown"})
    assert (sol.start, sol.end) == (1, 9)
    assert first_python_block(sol.body) == "x = 1\n"
    nested = "::::{exercise}\n:label: ch00-ex-b\n:::{note}\ninner\n:::\n::::"
    assert [(b.name, b.end) for b in blocks(nested)] == [("exercise", 5)]


def _nb(*cells: tuple[str, str] | tuple[str, str, list[str]]) -> nbformat.NotebookNode:
    made = []
    for kind, source, *tags in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags[0]
        made.append(cell)
    return nbformat.v4.new_notebook(cells=made)


EX = ":::{exercise}\n:label: ch00-ex-a\nDo it.\n:::"
SOL = ":::{solution} ch00-ex-a\n:class: dropdown\n```python\ndef my_a():\n    return 42\n```\nBecause.\n:::"


def test_a_solution_inside_a_longer_cell_is_cut_out() -> None:
    nb = _nb(("md", f"## Exercises\n\n{EX}\n\n{SOL}\n\n## Summary"))
    student, key = make_copy(nb, STUDENT), make_copy(nb, ANSWER_KEY)
    assert [c.source.split("\n")[0] for c in student.cells] == [
        "## Exercises",
        "**Your answer** (exercise `ch00-ex-a`). Write your answer here.",
        "## Summary",
    ]
    assert "Because." in key.cells[1].source and "return 42" in key.cells[1].source
    assert "Because." not in json.dumps(student) and len({c.id for c in student.cells}) == 3


def test_copies_keep_no_metadata_but_tags() -> None:
    nb = _nb(("md", EX), ("code", "def my_a():\n    raise NotImplementedError", ["answer"]), ("md", SOL))
    # a marker no random cell id can contain (ids are hex-like: "42" alone matched one by chance)
    nb.cells[1].metadata["nbgrader"] = {"solution": "return SECRET_ANSWER"}
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="SECRET_ANSWER")]
    nb.metadata.update(kernelspec={"name": "python3", "display_name": "Python 3"}, widgets={"state": "SECRET_ANSWER"})
    for kind in (STUDENT, ANSWER_KEY):
        copy = make_copy(nb, kind)
        assert copy.cells[1].metadata == {"tags": ["answer"]} and copy.cells[1].outputs == []
        assert set(copy.metadata) == {"kernelspec"}
    assert "SECRET_ANSWER" not in json.dumps(make_copy(nb, STUDENT))


@pytest.mark.parametrize(
    "cells, problem",
    [
        ([("md", ":::{exercise}\nno label\n:::")], "without ':label:"),
        ([("md", SOL)], "no exercise above it"),
        ([("md", EX), ("md", SOL), ("md", SOL)], "a second solution"),
        ([("md", EX), ("md", EX)], "used twice"),
        ([("code", "def my_a(): ...", ["answer"]), ("md", EX)], "before any exercise"),
        ([("md", EX), ("code", "def my_a(): ...", ["answer"]), ("code", "def my_b(): ...", ["answer"])], "second cell"),
        ([("md", EX), ("code", "def my_a(): ...", ["answer"]), ("md", SOL.replace("python", "text"))], "no ```python"),
        ([("md", EX), ("md", "```{solution-start} ch00-ex-a\n```")], "gated"),
    ],
)
def test_malformed_notebooks_are_rejected(cells: list, problem: str) -> None:
    with pytest.raises(FormatError, match=re.escape(problem)):
        exercises(_nb(*cells), "x.ipynb")


# ---------------------------------------------------------------------------------------------
# The grader


@pytest.mark.notebooks
def test_make_targets_grade_chapter_2_end_to_end(tmp_path: Path) -> None:
    """`make student`, `make answer-key`, `make grade`: a stub copy scores 0, the key full marks,
    and the key with one answer put back to its stub loses exactly that exercise; the Canvas
    gradebook, rubric sheet and feedback files come with the long CSV. Where bubblewrap cannot
    make a sandbox, `make grade` must refuse, and these honest submissions are graded with UNSAFE=1."""
    make = ["make", "-C", str(ROOT), "-o", f"{sys.prefix}/.installed", f"VENV={sys.prefix}"]
    for target in ("student", "answer-key"):
        subprocess.run([*make, target], check=True, capture_output=True)
    rel = Path("chapters/02_branching/02_branching.ipynb")
    student, key = ROOT / "_build/student" / rel, ROOT / "_build/answer-key" / rel
    for path in NOTEBOOKS:
        assert (ROOT / "_build/student" / path.relative_to(ROOT)).exists()
        assert (ROOT / "_build/answer-key" / path.relative_to(ROOT)).exists()
    variant = _read(key)
    stub = next(c for c in _read(student).cells if is_answer_cell(c) and "my_runaway_threshold" in c.source)
    next(c for c in variant.cells if c.id == stub.id).source = stub.source
    nbformat.write(variant, tmp_path / "key_one_stub.ipynb")
    submissions = f"{student} {key} {tmp_path / 'key_one_stub.ipynb'}"
    grades = tmp_path / "grades.csv"
    grade = [*make, "grade", f"SUBMISSIONS={submissions}", f"GRADES={grades}", "TIMEOUT=240", "JOBS=2"]
    problem = bubblewrap_problem()
    if problem is not None:
        refused = subprocess.run(grade, capture_output=True, text=True)
        assert refused.returncode != 0 and "no sandbox" in refused.stderr and "UNSAFE=1" in refused.stderr
        assert not grades.exists()
        grade.append("UNSAFE=1")
    done = subprocess.run(grade, check=True, capture_output=True, text=True)
    assert ("WARNING: grading WITHOUT a sandbox" in done.stderr) == (problem is not None)
    print(done.stdout, grades.read_text(), sep="\n")
    with open(grades) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3 * len(graded_table(2))
    scores = {
        (Path(r["notebook"]).name if "stub" in r["notebook"] else Path(r["notebook"]).parts[-4], r["exercise"]): float(
            r["score"]
        )
        for r in rows
    }
    assert scores == {
        ("student", "ch02-ex-fixed-point"): 0,
        ("student", "ch02-ex-threshold"): 0,
        ("answer-key", "ch02-ex-fixed-point"): 1,
        ("answer-key", "ch02-ex-threshold"): 1,
        ("key_one_stub.ipynb", "ch02-ex-fixed-point"): 1,
        ("key_one_stub.ipynb", "ch02-ex-threshold"): 0,
    }
    assert all("NotImplementedError" in r["message"] for r in rows if float(r["score"]) == 0)
    with open(tmp_path / "grades-gradebook.csv", newline="") as f:
        wide = list(csv.reader(f))
    assert tuple(wide[0][:5]) == CANVAS_COLUMNS and wide[1][0] == POINTS_POSSIBLE
    assert {r[0] for r in wide[2:]} == {"student", "answer-key", "key_one_stub"}
    assert (tmp_path / "grades-rubric.csv").exists()
    assert {p.name for p in (tmp_path / "grades-feedback").iterdir()} == {
        "student.md",
        "answer-key.md",
        "key_one_stub.md",
    }
    # Marking: a score entered in the rubric sheet reaches the gradebook and the feedback after `make gradebook`.
    with open(tmp_path / "grades-rubric.csv", newline="") as f:
        rubric = list(csv.DictReader(f))
    assert {r["student"] for r in rubric} == {"student", "answer-key", "key_one_stub"} and all(
        not r["score"] for r in rubric
    )
    marked = next(r for r in rubric if r["student"] == "answer-key")
    marked["score"], marked["comment"] = marked["max_score"], "clear argument, marked by hand"
    with open(tmp_path / "grades-rubric.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rubric[0]))
        writer.writeheader()
        writer.writerows(rubric)
    subprocess.run([*make, "gradebook", f"GRADES={grades}"], check=True, capture_output=True)
    with open(tmp_path / "grades-gradebook.csv", newline="") as f:
        after = list(csv.reader(f))
    column = after[0].index(marked["exercise"])
    row, before = (next(r for r in table[2:] if r[0] == "answer-key") for table in (after, wide))
    assert float(row[column]) == float(marked["max_score"]) and before[column] in ("", "0")
    assert float(row[-1]) == pytest.approx(float(before[-1]) + float(marked["max_score"]))
    assert "clear argument, marked by hand" in (tmp_path / "grades-feedback" / "answer-key.md").read_text()


def test_a_verdict_prints_within_the_code_column_and_grades_on_one_line() -> None:
    from utils.exercises._core import UNFINISHED, CheckResult

    result = CheckResult(False, UNFINISHED + " " + "x" * 30)
    assert max(len(line) for line in str(result).splitlines()) <= 79 and "\n" in str(result)
    assert "\n" not in result.line and result.line.startswith("Not yet: ") and result.line.endswith("x" * 30)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_instructors_syllabus_lists_every_exercise(path: Path) -> None:
    """instructors.md's syllabus names each exercise of the chapter, the graded ones in bold."""
    syllabus = (ROOT / "instructors.md").read_text()
    nb = _read(path)
    graded = importlib.import_module(f"utils.exercises.ch{chapter_number(nb):02d}").GRADED
    for ex in exercises(nb, path.name):
        name = f"**`{ex.label}`**" if ex.label in graded else f"`{ex.label}`"
        assert name in syllabus and (ex.label in graded or f"**`{ex.label}`**" not in syllabus), ex.label
