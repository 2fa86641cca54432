"""The grader end to end, against honest, broken and hostile submissions (issue 28).

One grading run of chapter 2 over many small submissions, each made to test one thing: honest
answers, wrong ones, crashes, endless loops, an unreadable file, the four forgery routes of the
issue, copying (the answer key, a classmate's file, the instructor's environment), tampering
with files and the package, memory and process exhaustion, and a few more of our own. Each gets
the score it deserves, the others are unaffected, the course package is byte-identical
afterwards, nothing is written outside the submissions' own folders and no process is left.

A submission that could cheat is written to *succeed* if it gets what it is after (it then
returns the right answers): a score of 0 shows that the sandbox stopped it, not that it failed
for another reason.

The test needs bubblewrap (``.ci/run`` installs it). Where bubblewrap cannot make a sandbox (a
container without user namespaces, say), the submissions whose scores do not rest on isolation
and that harm nothing outside their folder are graded without one (``UNSAFE=1``), with the same
expected scores: judging from outside, time and memory limits, partial credit and the gradebook
are still tested for real. The submissions of :data:`NEED_ISOLATION` are then not run; grading
them without ``unsafe`` must be refused, and the test that says so is reported as skipped with
the reason. ``PTDL_REQUIRE_SANDBOX=1`` turns a missing sandbox into a failure instead.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import uuid
import zlib
from pathlib import Path

import nbformat
import numpy as np
import pytest

from utils.branching import extinction_probability
from utils.coursework import grade_all
from utils.coursework.gradebook import CANVAS_COLUMNS, POINTS_POSSIBLE, build, write_feedback, write_wide
from utils.coursework.sandbox import Limits, SandboxUnavailable, bubblewrap_problem
from utils.exercises.ch02 import CHECK_KL, CHECK_M, GRADED

ROOT = Path(__file__).resolve().parents[1]
SEED = 20260
MARK = f"ptdl-escape-{uuid.uuid4().hex[:12]}"  # in every file name and command line a submission tries to leave
SECRET = f"instructor-secret-{uuid.uuid4().hex[:12]}"
#: Submissions whose score rests on the sandbox's isolation, or that would do harm outside it.
NEED_ISOLATION = (
    "reads_answer_key",
    "reads_classmate",
    "reads_instructor_env",
    "tampers_with_files",
    "leaves_processes",
    "spawns_many_processes",
)

RIGHT_EXTINCTION = """
import math

def my_extinction(m, tol=1e-12):
    q = 0.0
    while True:
        q_new = math.exp(m * (q - 1.0))
        rate = m * q_new
        if abs(q_new - q) * rate / (1.0 - rate) < tol:
            return q_new
        q = q_new
"""
RIGHT_THRESHOLD = """
def my_runaway_threshold(K, L):
    p_c = K ** (-1 / L)
    return p_c, 2 * L / p_c
"""
RIGHT = RIGHT_EXTINCTION + RIGHT_THRESHOLD
STUBS = """
def my_extinction(m):
    raise NotImplementedError

def my_runaway_threshold(K, L):
    raise NotImplementedError
"""


def _fraction(passes: object) -> float:
    """The score of an answer that passes exactly the drawn test cases for which ``passes(m)`` holds."""
    cases = GRADED["ch02-ex-fixed-point"].check.hidden_cases(
        np.random.default_rng([SEED, zlib.crc32(b"ch02-ex-fixed-point")])
    )
    return round(sum(bool(passes(m)) for m in cases) / len(cases), 4)


def _gated(condition: str) -> str:
    """Code that defines the right answers only if ``condition`` held (a cheat that worked), else stubs."""
    indented = "\n".join("    " + line for line in RIGHT.strip().split("\n"))
    stubs = "\n".join("    " + line for line in STUBS.strip().split("\n"))
    return f"if {condition}:\n{indented}\nelse:\n{stubs}\n"


def _submissions(tmp: Path) -> dict[str, tuple[list[str] | None, tuple[float, float]]]:
    """name -> (code cells, or None for an unreadable file; expected (fixed-point, threshold) scores)."""
    classmate = tmp / "subs" / "correct.ipynb"
    chapter = ROOT / "chapters" / "02_branching" / "02_branching.ipynb"
    public = {m: float(extinction_probability(m)) for m in CHECK_M}
    thresholds = {(K, L): (K ** (-1 / L), 2 * L / K ** (-1 / L)) for K, L in CHECK_KL}
    copy_solution = f"""
import json, re
from pathlib import Path
import utils
got = False
for path in [Path(utils.__file__).resolve().parents[1] / "chapters/02_branching/02_branching.ipynb",
             Path(utils.__file__).resolve().parents[1] / "_build/answer-key/chapters/02_branching/02_branching.ipynb",
             Path({str(chapter)!r})]:
    try:
        cells = json.loads(path.read_text())["cells"]
    except OSError:
        continue
    text = "\\n".join("".join(c["source"]) for c in cells)
    blocks = re.findall(r"```python\\n(.*?)```", text, re.S)
    try:
        for block in blocks:
            if "def my_extinction" in block or "def my_runaway_threshold" in block:
                exec(block, globals())
        got = "my_extinction" in globals() and "my_runaway_threshold" in globals()
    except Exception:
        pass
    if got:
        break
"""
    read_classmate = f"""
import glob, json
from pathlib import Path
paths = [{str(classmate)!r}]
for cmdline in glob.glob("/proc/*/cmdline"):
    try:
        paths += [a for a in Path(cmdline).read_bytes().decode(errors="ignore").split("\\0") if a.endswith(".ipynb")]
    except OSError:
        pass
stolen = ""
for path in paths:
    try:
        cells = json.loads(Path(path).read_text())["cells"]
        stolen = "\\n".join("".join(c["source"]) for c in cells)
        break
    except (OSError, ValueError, KeyError):
        pass
"""
    tamper = f"""
import utils, pathlib
pkg = pathlib.Path(utils.__file__).resolve().parent
attempts = {{
    "classmate": (pathlib.Path({str(classmate)!r}), "{{not a notebook any more"),
    "package": (pkg / "branching.py", "\\nextinction_probability = lambda m, offspring='poisson': 0.5\\n"),
    "checks": (pkg / "exercises" / "ch02.py", "\\nGRADED = {{}}\\n"),
    "new file": (pkg / "{MARK}.py", "x = 1\\n"),
    "host tmp": (pathlib.Path("/tmp/{MARK}"), "escaped\\n"),
    "repository": (pkg.parent / "{MARK}.txt", "escaped\\n"),
}}
written = []
for name, (path, text) in attempts.items():
    try:
        with open(path, "a") as f:
            f.write(text)
        written.append(name)
    except OSError:
        pass
print("written:", written)
"""
    env_leak = """
import os, pathlib
seen = os.environ.get("PTDL_TEST_SECRET", "")
for p in ["/proc/1/environ", "/proc/self/environ", "/proc/2/environ"]:
    try:
        seen += pathlib.Path(p).read_bytes().decode(errors="ignore")
    except OSError:
        pass
"""
    leftover = f"""
import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARK}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "{MARK}-daemon"])
    os._exit(0)
"""
    return {
        "correct": ([RIGHT_EXTINCTION, RIGHT_THRESHOLD], (1, 1)),
        "wrong": (  # 1/m is the geometric law's answer: right only below m = 1, where q = 1
            [
                "import math\ndef my_extinction(m):\n    return min(1.0, 1.0 / m)",
                "import math\ndef my_runaway_threshold(K, L):\n    return 1 - math.log(K) / L, 2 * L",
            ],
            (_fraction(lambda m: m < 1), 0),
        ),
        "raises": (["def my_extinction(m):\n    return 1 / 0", RIGHT_THRESHOLD], (0, 1)),
        "partly_right": (
            [RIGHT, "_right = my_extinction\ndef my_extinction(m):\n    return _right(m) if m > 1.05 else 0.5"],
            (_fraction(lambda m: m > 1.05), 1),
        ),
        "endless_cell_then_correct": (["while True:\n    pass", RIGHT], (1, 1)),
        "endless_function": (["def my_extinction(m):\n    while True:\n        pass", RIGHT_THRESHOLD], (0, 1)),
        "ignores_interrupts_then_correct": (
            ["import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", RIGHT],
            (1, 1),
        ),
        "unreadable": (None, (0, 0)),
        "defines_a_number": (["my_extinction = 3", RIGHT_THRESHOLD], (0, 1)),
        # The four forgeries of the issue, each on unfinished answers.
        "forge_reporting_function": (
            [
                STUBS,
                "import utils.coursework.harness as h\nimport utils.coursework.checks as c\n"
                "h.call = lambda name, payload: h._publish({'status': 'ok', 'value': '0.5'})\n"
                "c.score = lambda *a, **k: (1, 'Correct!')",
            ],
            (0, 0),
        ),
        "forge_truth_value": (
            [STUBS, "from utils.exercises import CheckResult\nCheckResult.__bool__ = lambda self: True"],
            (0, 0),
        ),
        "forge_run_cell_hooks": (
            [
                STUBS,
                "ip = get_ipython()\n"
                "fake = {'application/x-ptdl-call+json': {'status': 'ok', 'value': '0.5'},\n"
                "        'application/x-ptdl-grade+json': {'score': 1, 'max_score': 1, 'message': 'Correct!'}}\n"
                "ip.events.register('pre_run_cell', lambda info: ip.display_pub.publish(fake))\n"
                "ip.events.register('post_run_cell', lambda result: ip.display_pub.publish(fake))",
            ],
            (0, 0),
        ),
        "forge_reload_and_graded": (
            [
                STUBS,
                "import importlib\nimportlib.reload = lambda module: module\n"
                "import utils.exercises.ch02 as c\nfrom utils.exercises import CheckResult, Graded\n"
                "c.GRADED = {k: Graded(v.function, lambda fn: CheckResult(True, 'ok')) for k, v in c.GRADED.items()}",
            ],
            (0, 0),
        ),
        # The course's own implementation, named and hidden, and the public cases' values typed in.
        "alias_library": (
            ["import utils.branching\nmy_extinction = utils.branching.extinction_probability", RIGHT_THRESHOLD],
            (0, 1),
        ),
        "hidden_library_call": (
            [
                "my_extinction = getattr(__import__('utils.branching', fromlist=['x']), 'extinction_' + 'probability')",
                RIGHT_THRESHOLD,
            ],
            (0, 1),
        ),
        "hard_coded_public_values": (
            [
                f"TABLE = {public!r}\ndef my_extinction(m):\n    return TABLE[m]",
                f"TABLE2 = {thresholds!r}\ndef my_runaway_threshold(K, L):\n    return TABLE2[(K, L)]",
            ],
            (0, 0),
        ),
        # Copying: each defines the right answers only if its copying worked.
        "reads_answer_key": (
            [copy_solution, "if not got:\n" + "\n".join("    " + x for x in STUBS.split("\n"))],
            (0, 0),
        ),
        "reads_classmate": ([read_classmate, _gated("'def my_extinction' in stolen")], (0, 0)),
        "reads_instructor_env": ([env_leak, _gated(f"{SECRET!r} in seen")], (0, 0)),
        # Harm to others and to the machine.
        "tampers_with_files": ([tamper, STUBS], (0, 0)),
        "exhausts_memory": (
            [
                "import numpy as np\ntry:\n    big = np.ones(2**36)\nexcept MemoryError:\n    pass",
                "def my_extinction(m):\n    return len(bytearray(2**36))",
                RIGHT_THRESHOLD,
            ],
            (0, 1),
        ),
        "leaves_processes": ([leftover, RIGHT], (1, 1)),
        "spawns_many_processes": (
            [
                "import subprocess\nprocs = []\ntry:\n    for _ in range(2000):\n"
                "        procs.append(subprocess.Popen(['sleep', '600']))\nexcept OSError:\n    pass",
                RIGHT,
            ],
            (1, 1),
        ),
        "fills_disk": (
            ["for k in range(6):\n    with open(f'big{k}', 'wb') as f:\n        f.write(bytes(6 * 2**20))", RIGHT],
            (1, 1),
        ),
        "floods_output": (["print('x' * 50_000_000)", RIGHT], (1, 1)),
        "ends_its_kernel_in_a_check": (["import os\ndef my_extinction(m):\n    os._exit(0)", RIGHT_THRESHOLD], (0, 1)),
        "returns_unsendable_objects": (
            [
                "import numpy as np\ndef my_extinction(m):\n    return np.array([object()])",
                "def my_runaway_threshold(K, L):\n    return (lambda: 1, 2)",
            ],
            (0, 0),
        ),
    }


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _marked_processes() -> list[str]:
    """The command lines of the processes that carry MARK (read from /proc: a fresh machine may lack ps)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").replace("\0", " ")
        except OSError:  # the process ended meanwhile
            continue
        if MARK in args:
            found.append(f"{cmdline.parent.name} {args}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    problem = bubblewrap_problem()
    if problem is not None and os.environ.get("PTDL_REQUIRE_SANDBOX") == "1":
        pytest.fail(f"PTDL_REQUIRE_SANDBOX=1 but no sandbox can be made here: {problem}")
    tmp = tmp_path_factory.mktemp("grading")
    (tmp / "subs").mkdir()
    cases = all_cases = _submissions(tmp)
    if problem is not None:  # grade what does not need isolation, unsandboxed (see the module's docstring)
        cases = {name: case for name, case in cases.items() if name not in NEED_ISOLATION}
    first = [k for k in ("tampers_with_files", "reads_classmate") if k in cases]  # before their victims
    order = first + [k for k in cases if k not in first]
    paths = []
    for name in order:
        cells, _ = cases[name]
        path = tmp / "subs" / f"{name}.ipynb"
        if cells is None:
            path.write_text("{this is not json")
        else:
            nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
        paths.append(path)
    before = {
        "package": _tree_hash(ROOT / "utils"),
        "subs": {p.name: p.read_bytes() for p in (tmp / "subs").iterdir()},
    }
    old_secret, old_tempdir = os.environ.get("PTDL_TEST_SECRET"), tempfile.tempdir
    os.environ["PTDL_TEST_SECRET"] = SECRET
    (tmp / "scratch").mkdir()
    tempfile.tempdir = str(tmp / "scratch")  # the grader's folders go here, and must be gone at the end
    try:
        subs = grade_all(
            paths,
            timeout=60,
            cell_timeout=4,
            check_timeout=10,
            chapter=2,
            jobs=2,
            seed=SEED,
            limits=Limits(memory=3 * 2**30, processes=128, file_size=8 * 2**20, disk=24 * 2**20),
            unsafe=problem is not None,
        )
    finally:
        tempfile.tempdir = old_tempdir
        if old_secret is None:
            del os.environ["PTDL_TEST_SECRET"]
        else:
            os.environ["PTDL_TEST_SECRET"] = old_secret
    subs_by_name = {Path(s.path).stem: s for s in subs}
    return {
        "cases": cases,
        "subs": subs_by_name,
        "before": before,
        "tmp": tmp,
        "problem": problem,
        "paths": paths,
        "all": all_cases,
    }


def test_every_submission_gets_the_score_it_deserves(graded: dict) -> None:
    wrong = []
    for name, (_, expected) in graded["cases"].items():
        sub = graded["subs"][name]
        got = {r.label: r.score for r in sub.results}
        want = dict(zip(GRADED, expected, strict=True))
        if got != want:
            wrong.append(f"{name}: got {got}, want {want}; {[r.message for r in sub.results]} {sub.problem}")
    assert not wrong, "\n".join(wrong)


def test_messages_say_what_went_wrong(graded: dict) -> None:
    subs = graded["subs"]

    def message(name: str, label: str) -> str:
        return next(r.message for r in subs[name].results if r.label == label)

    fixed, threshold = GRADED
    assert message("correct", fixed).startswith("Correct! All 12 test cases pass")
    below_one = round(12 * _fraction(lambda m: m < 1))
    assert f"{below_one} of 12 test cases pass" in message("wrong", fixed) and "expected" in message("wrong", fixed)
    assert "large-L approximation" in message("wrong", threshold)
    assert "raised ZeroDivisionError" in message("raises", fixed)
    assert "did not finish within the exercise's 10 s" in message("endless_function", fixed)
    assert "not a readable notebook" in message("unreadable", fixed)
    assert "my_extinction is a int, not a function" in message("defines_a_number", fixed)
    assert all(r.max_score == 1 for r in subs["unreadable"].results) and len(subs["unreadable"].results) == 2
    assert "uses utils.branching.extinction_probability" in message("alias_library", fixed)
    assert "withheld while grading" in message("hidden_library_call", fixed)
    assert "NotImplementedError" in message("forge_truth_value", fixed)
    assert "KeyError" in message("hard_coded_public_values", fixed)
    assert "MemoryError" in message("exhausts_memory", fixed)
    assert "kernel died" in message("ends_its_kernel_in_a_check", fixed)
    assert "expected one number" in message("returns_unsendable_objects", fixed)
    endless = subs["endless_cell_then_correct"].cells[0]
    assert endless.status == "timeout" and "time limit (4 s)" in endless.message
    assert subs["ignores_interrupts_then_correct"].cells[0].status == "died"
    assert subs["fills_disk"].cells[0].status == "died" and "wrote more than" in subs["fills_disk"].cells[0].message


def test_hostile_submissions_are_graded_only_in_a_sandbox(graded: dict) -> None:
    """With a sandbox, every isolation case was graded above; without one, grading them is refused."""
    if graded["problem"] is None:
        assert set(NEED_ISOLATION) <= set(graded["subs"])
        return
    assert not set(NEED_ISOLATION) & set(graded["subs"])
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        grade_all(graded["paths"][:1], chapter=2, cell_timeout=4)
    pytest.skip(
        f"no sandbox here ({graded['problem']}): the isolation cases {', '.join(NEED_ISOLATION)} were not run; "
        "the other submissions were graded without a sandbox (PTDL_REQUIRE_SANDBOX=1 makes this a failure)"
    )


def test_partial_credit_is_the_fraction_of_cases_passed(graded: dict) -> None:
    """The answer right only for m > 1.05 earns the fraction of the drawn cases with m > 1.05, strictly between 0 and 1."""
    result = graded["subs"]["partly_right"].results[0]
    assert 0 < result.score < 1 and result.score == _fraction(lambda m: m > 1.05)
    assert f"{result.passed} of 12 test cases pass" in result.message and "expected" in result.message


def test_the_cheats_work_without_a_sandbox(graded: dict) -> None:
    """Outside the sandbox the copying submissions get what they are after: their 0 above is the sandbox's doing."""
    cells, _ = graded["all"]["reads_answer_key"]
    namespace: dict = {}
    exec(cells[0], namespace)
    assert namespace["got"] and namespace["my_extinction"](2.0) == pytest.approx(extinction_probability(2.0))
    cells, _ = graded["all"]["reads_classmate"]
    namespace = {}
    exec(cells[0], namespace)
    assert "def my_extinction" in namespace["stolen"]


def test_the_package_and_other_files_are_untouched(graded: dict) -> None:
    before = graded["before"]
    assert _tree_hash(ROOT / "utils") == before["package"], "the course package changed"
    now = {p.name: p.read_bytes() for p in (graded["tmp"] / "subs").iterdir()}
    assert now == before["subs"], "a submission file changed, or a file appeared among them"
    assert not (ROOT / "utils" / f"{MARK}.py").exists() and not (ROOT / f"{MARK}.txt").exists()
    assert not Path(f"/tmp/{MARK}").exists()
    left = os.listdir(graded["tmp"] / "scratch")
    assert not left, f"the grader left folders behind: {left}"


def test_no_process_is_left_behind(graded: dict) -> None:
    assert not _marked_processes()


def test_the_gradebook_keeps_unreadable_files_at_full_weight(graded: dict, tmp_path: Path) -> None:
    subs = list(graded["subs"].values())
    book = build(subs, rubric=tmp_path / "rubric.csv")
    write_wide(book, tmp_path / "wide.csv")
    with open(tmp_path / "wide.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, points = rows[0], rows[1]
    assert tuple(header[:5]) == CANVAS_COLUMNS and header[-1] == "Coursework total"
    assert points[0] == POINTS_POSSIBLE
    column = {name: i for i, name in enumerate(header)}
    by_student = {r[0]: r for r in rows[2:]}
    assert len(by_student) == len(graded["cases"])
    unreadable = by_student["unreadable"]
    assert unreadable[column["ch02-ex-fixed-point"]] == "0" and unreadable[column["ch02-ex-geometric"]] == "0"
    assert by_student["correct"][column["Coursework total"]] == "2"
    written = write_feedback(book, tmp_path / "feedback")
    text = (tmp_path / "feedback" / "endless_cell_then_correct.md").read_text()
    assert "Cell 1: interrupted at its time limit" in text and len(written) == len(graded["cases"])
