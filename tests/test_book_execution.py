"""The book build's executor (_ext/ptdl_book/execution.py): the timely client, each notebook's time,
and the notebooks `make test` ran taken from the cache instead of run again."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from test_publish import build

from notebook_client import cache_for_the_book, run_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from ptdl_book.execution import CACHED_ONLY, timing_line  # noqa: E402

CODE = "import time\ntotal = sum(i * i for i in range(2_000_000))\nprint(total)"


def test_a_timing_line_flags_a_notebook_over_its_cpu_budget() -> None:
    assert timing_line("ch/a", 30.0, 20.5) == "ch/a: executed in 30.0 s (kernel CPU 20.5 s; budget 90 s)"
    # wall time on a loaded machine does not count, kernel CPU time does
    assert "OVER BUDGET" not in timing_line("ch/a", 300.0, 60.0)
    assert timing_line("ch/a", 95.0, 91.0).endswith("OVER BUDGET (kernel CPU 91 s > 90 s)")
    assert timing_line("ch/a", 12.34, None) == "ch/a: not executed now (the cached run took 12.3 s)"


def test_the_build_executes_with_the_timely_client_and_prints_each_notebooks_time(tmp_path: Path) -> None:
    result = build(tmp_path / "book", execute="cache", code=CODE)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    # the line comes from execution.execute, i.e. jupyter-cache ran the notebook through it
    assert "[ptdl] chapters/01_one/01_one: executed in " in log and "budget 90 s)" in log
    assert "notebook execution times (budget: 90 s of kernel CPU)" in log
    html = (tmp_path / "book" / "_build" / "html" / "chapters" / "01_one" / "01_one.html").read_text()
    assert str(sum(i * i for i in range(2_000_000))) in html


def test_a_notebook_the_tests_ran_is_not_run_again(tmp_path: Path) -> None:
    book = tmp_path / "book"
    # with nothing cached, the build that may only use the cache stops and says why
    refused = build(book, execute="cache", code=CODE, **{CACHED_ONLY: "1"})
    assert refused.returncode != 0
    assert "chapters/01_one/01_one is not in the execution cache" in refused.stdout + refused.stderr
    # the tests' run of the notebook, handed to the cache, is what the book shows
    path = book / "chapters" / "01_one" / "01_one.ipynb"
    executed = []
    wall, _ = run_notebook(path, limit_s=120, on_done=executed.append)
    cache_for_the_book(path, executed[0], wall, cache=book / "_build" / ".jupyter_cache")
    result = build(book, execute="cache", code=CODE, **{CACHED_ONLY: "1"})
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert (
        "executed in" not in log
        and f"chapters/01_one/01_one: not executed now (the cached run took {wall:.1f} s)" in log
    )
    assert nbformat.read(path, as_version=4).cells[1].outputs == []  # the source stays clean
    html = (book / "_build" / "html" / "chapters" / "01_one" / "01_one.html").read_text()
    assert str(sum(i * i for i in range(2_000_000))) in html
