"""The parts of the grader one at a time: the plain-data wire, the withheld package copy, the static
check for the course's own functions, the gradebook (Canvas CSV, roster, rubric sheet) and the
imports utils.coursework declares."""

from __future__ import annotations

import ast
import base64
import csv
import io
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from utils.coursework import REQUIRES, graded_table, wire
from utils.coursework.gradebook import (
    CANVAS_COLUMNS,
    POINTS_POSSIBLE,
    assign_students,
    build,
    rubric_scores,
    update_rubric,
    write_wide,
)
from utils.coursework.grading import Result, Submission, _python, definition_cell, forbidden_use
from utils.coursework.withheld import MARK, grading_copy, resolve
from utils.exercises import MatVec

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(int(p.stem[2:]) for p in (ROOT / "utils" / "exercises").glob("ch[0-9][0-9].py"))

# ---------------------------------------------------------------------------------------------
# The wire: plain data only


def test_wire_round_trips_the_values_checks_send_and_receive() -> None:
    value = (
        [1, 2.5, -0.0, float("nan"), float("inf"), True, None, "s", 3 + 4j],
        {"a": (1, 2), 3: {4, 5}},
        np.arange(6, dtype=np.int8).reshape(2, 3),
        np.array([True, False]),
        torch.arange(4, dtype=torch.float64),
        SimpleNamespace(r_hat=1.01, per_chain=np.zeros(4)),
        MatVec(np.eye(3)),
        np.float64(2.5),
        np.int64(7),
    )
    back = wire.loads(wire.dumps(value))
    assert back[0][:3] == [1, 2.5, -0.0] and np.isnan(back[0][3]) and back[0][4] == float("inf")
    assert back[0][5:] == [True, None, "s", 3 + 4j] and back[1] == {"a": (1, 2), 3: {4, 5}}
    assert back[2].dtype == np.int8 and back[2].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert isinstance(back[4], torch.Tensor) and back[4].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert back[5].r_hat == 1.01 and back[5].per_chain.shape == (4,)
    assert back[6](np.array([1.0, 2.0, 3.0])).tolist() == [1.0, 2.0, 3.0]
    assert type(back[7]) is float and type(back[8]) is int


def test_wire_sends_no_other_object_and_returns_it_as_an_opaque_value() -> None:
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.dumps(lambda: 1)
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.dumps(np.array([object()]))
    back = wire.loads(wire.dumps((lambda: 1, 2), result=True))
    assert type(back[0]).__name__ == "function" and back[1] == 2
    with pytest.raises(TypeError):
        float(back[0])


def _npy(array_bytes: bytes) -> str:
    return '{"t": "ndarray", "npy": "' + base64.b64encode(array_bytes).decode() + '"}'


def test_wire_refuses_pickles_and_oversized_or_malformed_messages() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)  # an object array is a pickle inside
    with pytest.raises(wire.WireError, match="malformed array"):
        wire.loads(_npy(buffer.getvalue()))
    with pytest.raises(wire.WireError):
        wire.loads('{"t": "pickle", "v": "gASVAAAAAAAAAAA="}')
    with pytest.raises(wire.WireError):
        wire.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(wire.WireError, match="nested deeper"):
        wire.loads('{"t": "list", "v": [' * 40 + "1" + "]}" * 40)
    with pytest.raises(wire.WireError, match="oversized"):
        wire.loads(" " * (wire.MAX_BYTES + 1))
    with pytest.raises(wire.WireError, match="malformed namespace"):
        wire.loads('{"t": "namespace", "v": {"__class__": 1}}')


# ---------------------------------------------------------------------------------------------
# The withheld copy of the package


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_forbidden_name_is_a_course_function(chapter: int) -> None:
    for label, entry in graded_table(chapter).items():
        for name in entry.forbid:
            module, qualname = resolve(name)
            assert module.startswith("utils.") and qualname, (label, name)


def test_the_grading_copy_withholds_answers_and_still_imports(tmp_path: Path) -> None:
    """The withheld functions raise; every other function, and every exercise module the notebooks import, loads."""
    forbid = sorted({n for ch in CHAPTERS for e in graded_table(ch).values() for n in e.forbid})
    copy = grading_copy(tmp_path, forbid)
    code = f"""
import importlib, sys
sys.path.insert(0, {str(copy.parent)!r})
import utils
assert utils.__file__.startswith({str(copy)!r}), utils.__file__
from utils import branching, signal
for ch in {CHAPTERS!r}:
    importlib.import_module(f"utils.exercises.ch{{ch:02d}}")
from utils.exercises.ch02 import check_extinction_probability
assert abs(branching.pgf(0.5, 2.0) - 0.36787944117144233) < 1e-12  # not withheld: still works
for call in (lambda: branching.extinction_probability(2.0), lambda: signal.chi(1.0, 0.1),
             lambda: check_extinction_probability(lambda m: 0.2)):
    try:
        call()
    except RuntimeError as exc:
        assert {MARK!r} in str(exc), exc
    else:
        raise AssertionError("a withheld function ran")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.strip() == "ok", done.stderr
    source = (copy / "branching.py").read_text()
    assert "offspring" in source and "math.exp" not in source.split("def extinction_probability")[1].split("def ")[0]


# ---------------------------------------------------------------------------------------------
# The static check for the course's own implementation


def _cells(*sources: str) -> list:
    return [(i, t) for i, s in enumerate(sources) if (t := _python(s)) is not None]


FORBID = ("utils.branching.extinction_probability",)


@pytest.mark.parametrize(
    "cells",
    [
        ("import utils.branching\nmy_extinction = utils.branching.extinction_probability",),
        ("from utils.branching import extinction_probability as ep", "def my_extinction(m):\n    return ep(m)"),
        ("from utils import branching as br", "def my_extinction(m):\n    return float(br.extinction_probability(m))"),
        (
            "from utils import branching as br\nq = br.extinction_probability",
            "def helper(m):\n    return q(m)",
            "def my_extinction(m):\n    return helper(m)",
        ),
        ("def my_extinction(m, f=__import__('utils.branching').branching.extinction_probability):\n    return f(m)",),
    ],
)
def test_answers_naming_the_course_function_are_found(cells: tuple[str, ...]) -> None:
    assert forbidden_use(_cells(*cells), "my_extinction", FORBID) == FORBID[0]


def test_honest_answers_are_not_flagged() -> None:
    chapter = (
        "from utils import branching as br\nfrom utils.branching import extinction_probability, simulate\n"
        "q = br.extinction_probability(2.0)\nq_new = extinction_probability(1.5)"
    )
    honest = (
        "import math\n\ndef my_extinction(m, tol=1e-12):\n    q = 0.0\n    while True:\n"
        "        q_new = math.exp(m * (q - 1.0))\n        if abs(q_new - q) < tol:\n            return q_new\n"
        "        q = q_new\n"
    )
    cells = _cells(chapter, "# a comment naming extinction_probability\n%matplotlib inline", honest)
    assert forbidden_use(cells, "my_extinction", FORBID) is None  # its q, q_new are locals, not the chapter's
    assert definition_cell(cells, "my_extinction") == 2


# ---------------------------------------------------------------------------------------------
# The gradebook


def _sub(path: str, scores: dict[str, float], readable: bool = True) -> Submission:
    results = [Result(label, "f", score, 1.0, "m") for label, score in scores.items()]
    return Submission(path, chapter=2, source="02_branching.ipynb", readable=readable, results=results)


def test_students_come_from_file_names_canvas_downloads_or_a_roster(tmp_path: Path) -> None:
    names = {"02_branching.ipynb"}
    paths = [
        "subs/alice.ipynb",
        "subs/bob/02_branching.ipynb",
        "subs/carol_02_branching.ipynb",
        "dl/smithjohn_LATE_4242_991_02_branching.ipynb",
    ]
    students, owner, warnings = assign_students(paths, None, names)
    assert [owner[p].key for p in paths] == ["alice", "bob", "carol", "smithjohn"]
    assert owner[paths[3]].canvas_id == "4242" and not warnings
    roster = [
        {"Student": "Smith, John", "ID": "4242", "SIS User ID": "u1", "SIS Login ID": "jsmith", "Section": "A"},
        {"Student": "Doe, Ann", "ID": "777", "SIS User ID": "u2", "SIS Login ID": "adoe", "Section": "B"},
        {"Student": "Alice A", "ID": "555", "SIS User ID": "u3", "SIS Login ID": "alice", "Section": "A"},
    ]
    students, owner, warnings = assign_students(paths, roster, names)
    assert owner[paths[3]].name == "Smith, John" and owner[paths[0]].sis_login == "alice"
    assert [s.key for s in students][:3] == ["jsmith", "adoe", "alice"]  # roster order, Ann without a file
    assert len(warnings) == 2 and all("not in the roster" in w for w in warnings)  # bob and carol


def test_wide_csv_is_canvas_shaped_with_zero_for_missing_and_unreadable(tmp_path: Path) -> None:
    subs = [
        _sub("subs/alice.ipynb", {"ch02-ex-fixed-point": 1.0, "ch02-ex-threshold": 0.5}),
        _sub("subs/bob.ipynb", {"ch02-ex-fixed-point": 0.0, "ch02-ex-threshold": 0.0}, readable=False),
    ]
    roster = [{"Student": "Ann", "ID": "9", "SIS User ID": "", "SIS Login ID": "ann", "Section": ""}]
    rubric = tmp_path / "rubric.csv"
    book = build(subs, roster=roster, rubric=rubric)
    rows = list(csv.DictReader(open(rubric)))
    assert {(r["student"], r["exercise"]) for r in rows} >= {("alice", "ch02-ex-geometric"), ("ann", "ch02-ex-heavy")}
    assert all(r["score"] == "0" for r in rows if r["student"] in ("bob", "ann"))  # nothing readable to mark
    for row in rows:  # a teaching assistant marks alice's written parts
        if row["student"] == "alice":
            row["score"], row["comment"] = "1", "good"
    with open(rubric, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    book = build(subs, roster=roster, rubric=rubric)
    write_wide(book, tmp_path / "wide.csv", total_name="Chapter 2")
    table = list(csv.reader(open(tmp_path / "wide.csv")))
    header = table[0]
    assert tuple(header[:5]) == CANVAS_COLUMNS and header[-1] == "Chapter 2"
    assert header[5:-1] == [
        "ch02-ex-fixed-point",
        "ch02-ex-fixed-point (written)",
        "ch02-ex-geometric",
        "ch02-ex-heavy",
        "ch02-ex-threshold",
        "ch02-ex-threshold (written)",
    ]
    assert table[1][0] == POINTS_POSSIBLE and table[1][5:] == ["1", "1", "1", "1", "1", "1", "6"]
    by_name = {r[0]: r for r in table[2:]}
    assert by_name["Ann"][1] == "9" and by_name["Ann"][-1] == "0"  # on the roster, no file: 0
    assert by_name["alice"][5:] == ["1", "1", "1", "1", "0.5", "1", "5.5"]
    assert by_name["bob"][5:] == ["0"] * 7


def test_rubric_scores_are_checked() -> None:
    rows = [{"student": "a", "exercise": "x", "max_score": "1", "score": "2", "comment": ""}]
    with pytest.raises(ValueError, match=r"rubric line 2: score 2 is outside \[0, 1\]"):
        rubric_scores(rows)
    with pytest.raises(ValueError, match="must be a number"):
        rubric_scores([dict(rows[0], score="good")])
    assert rubric_scores([dict(rows[0], score="")]) == {("a", "x"): (None, "")}


def test_update_rubric_keeps_marks(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    update_rubric(path, [("a", "x", 2.0, "")])
    text = path.read_text().replace("a,x,2,,", "a,x,2,1.5,fine")
    path.write_text(text)
    rows = update_rubric(path, [("a", "x", 2.0, ""), ("b", "x", 2.0, "0")])
    assert rows[0]["score"] == "1.5" and rows[1]["score"] == "0" and rows[1]["comment"] == "no readable submission"


# ---------------------------------------------------------------------------------------------
# What utils.coursework imports


def _imported_top_names(folder: Path) -> set[str]:
    names = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_coursework_imports_only_what_it_declares() -> None:
    third_party = _imported_top_names(ROOT / "utils" / "coursework") - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= set(REQUIRES), f"undeclared imports: {sorted(third_party - set(REQUIRES))}"
    pinned = {
        re.split(r"[=<>]", line)[0].strip().lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert set(REQUIRES.values()) <= pinned, "every declared import comes with a package of requirements.txt"


def test_nothing_students_import_pulls_in_the_coursework_tooling() -> None:
    for path in (ROOT / "utils").rglob("*.py"):
        if "coursework" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any("coursework" in n for n in names), f"{path} imports utils.coursework"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, utils.exercises.ch02; print(sorted(m for m in sys.modules if 'coursework' in m))",
        ],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "[]", done.stderr


# ---------------------------------------------------------------------------------------------
# Without a sandbox


def test_make_grade_refuses_without_a_sandbox_unless_asked(tmp_path: Path) -> None:
    """No bwrap on the PATH: exit status 2, what to install, and the UNSAFE=1 way out."""
    nb = tmp_path / "a.ipynb"
    nb.write_text("{}")
    done = subprocess.run(
        [sys.executable, "-m", "utils.coursework", "grade", str(nb), "--csv", str(tmp_path / "g.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert done.returncode == 2 and "bubblewrap is not installed" in done.stderr and "UNSAFE=1" in done.stderr
    assert not (tmp_path / "g.csv").exists()


def test_unsafe_grading_still_judges_from_outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """UNSAFE=1 without bubblewrap: the kernel runs unsandboxed, and the verdict is still the grader's."""
    import nbformat

    from utils.coursework import grading, sandbox

    monkeypatch.setattr(sandbox, "bubblewrap_problem", lambda: "bubblewrap is not installed (pretend)")
    right = "import math\ndef my_runaway_threshold(K, L):\n    p = K ** (-1 / L)\n    return p, 2 * L / p"
    forged = "from utils.exercises import CheckResult\nCheckResult.__bool__ = lambda self: True"
    path = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (right, forged)]), path)
    with pytest.raises(sandbox.SandboxUnavailable, match="pretend"):
        grading.grade_all([path], chapter=2)
    (sub,) = grading.grade_all([path], chapter=2, unsafe=True, cell_timeout=30, seed=1)
    assert {r.label: r.score for r in sub.results} == {"ch02-ex-fixed-point": 0, "ch02-ex-threshold": 1}


def test_a_chapter_split_into_notebooks_is_graded_file_by_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Chapter 7 in two notebooks: each file is graded on the exercises of the notebook it comes from."""
    import nbformat

    from utils.coursework import grading

    table = graded_table(7)
    first, second = list(table)[:2], list(table)[2:]
    split = (("07a_attention.ipynb", tuple(first), frozenset()), ("07b_regression.ipynb", tuple(second), frozenset()))
    monkeypatch.setattr(grading, "_chapter_files", lambda chapter: split)
    assert grading.graded_for(7, "07b_regression.ipynb", None) == (
        "07b_regression.ipynb",
        {k: table[k] for k in second},
    )
    renamed = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f":::{{exercise}}\n:label: {first[1]}\n:::")]
    )
    assert grading.graded_for(7, "alice.ipynb", renamed) == ("07a_attention.ipynb", {k: table[k] for k in first})
    assert grading.graded_for(7, "alice.ipynb", nbformat.v4.new_notebook()) == (None, table)
    written_only = (*split, ("07c_essay.ipynb", (), frozenset()))
    monkeypatch.setattr(grading, "_chapter_files", lambda chapter: written_only)
    essay = tmp_path / "07c_essay.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), essay)
    (page,) = grading.grade_all([essay], chapter=7, unsafe=True)  # no kernel starts for a page with nothing graded
    assert not page.results and page.problem.startswith("07c_essay.ipynb (chapter 7) has no graded exercises")
    subs = [
        Submission("alice/07a_attention.ipynb", chapter=7, results=[Result(k, "f", 1.0, 1.0, "m") for k in first]),
        Submission("alice/07b_regression.ipynb", chapter=7, results=[Result(second[0], "f", 0.5, 1.0, "m")]),
        Submission("bob/07b_regression.ipynb", chapter=7, results=[Result(k, "f", 1.0, 1.0, "m") for k in second]),
    ]
    book = build(subs)
    assert [s.key for s in book.students] == ["alice", "bob"]
    # every graded exercise of the chapter has a column (however many the table holds); missing ones score 0
    assert book.code["alice"] == {first[0]: 1.0, first[1]: 1.0, **dict.fromkeys(second, 0.0), second[0]: 0.5}
    assert book.code["bob"] == {**dict.fromkeys(first, 0.0), **dict.fromkeys(second, 1.0)}


def test_an_unreadable_file_that_names_no_chapter_gets_the_batch_s_chapter(tmp_path: Path) -> None:
    """Full-weight rows scored 0, even when neither the file nor its name tells the chapter."""
    import nbformat

    from utils.coursework import grading, sandbox

    readable = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(":::{exercise}\n:label: ch02-ex-heavy\n:::"),
            nbformat.v4.new_code_cell("x = 1"),
        ]
    )
    nbformat.write(readable, tmp_path / "alice.ipynb")
    (tmp_path / "bob.ipynb").write_text("{broken")
    unsafe = sandbox.bubblewrap_problem() is not None  # alice's one cell is harmless
    paths = [tmp_path / "alice.ipynb", tmp_path / "bob.ipynb"]
    alice, bob = grading.grade_all(paths, cell_timeout=30, seed=1, unsafe=unsafe)
    assert alice.chapter == bob.chapter == 2
    rows = bob.rows()
    assert [(r.exercise, r.score, r.max_score) for r in rows] == [(label, 0, 1.0) for label in graded_table(2)]
    assert all("not a readable notebook" in r.message for r in rows)
