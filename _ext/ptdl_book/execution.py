"""Notebook execution in the book build: no stall on a lost wake-up, and each notebook's time.

myst-nb executes a notebook through jupyter-cache's ``single_nb_execution``, which calls
``nbclient.execute``. That client can miss the ZeroMQ wake-up for a reply that has already
arrived and then sit out the whole cell timeout (300 s) with an idle kernel (chapter 2 once
took 317 s in a fresh-clone ``make book``). Here the build executes with the tests' client,
``TimelyNotebookClient`` of ``tests/notebook_client.py``, whose waits are cut into polls of
half a second, and records each notebook's wall and kernel CPU time:

- each executed notebook prints one line, e.g.
  ``[ptdl] chapters/02_branching/02_branching: executed in 23.4 s (kernel CPU 21.9 s; budget 90 s)``,
  with ``OVER BUDGET`` when its kernel CPU time exceeds the budget;
- the end of the build prints a table of every notebook: executed now, or taken from the
  cache (``make test`` stores the notebooks it runs there) with the time it took then.

With the environment variable ``PTDL_BOOK_CACHED_ONLY=1`` (the workflow sets it after the
tests), a notebook that would have to be executed fails the build instead: the tests have
already run every notebook once.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.console import red

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from notebook_client import BUDGET_S, TimelyNotebookClient, track_kernel_cpu

logger = logging.getLogger(__name__)

#: Set to 1 to fail the build on any notebook that is not in the cache.
CACHED_ONLY = "PTDL_BOOK_CACHED_ONLY"

#: Notebooks executed in this build: docname -> (wall s, kernel CPU s).
_timings: dict[str, tuple[float, float]] = {}
_app: Sphinx | None = None


def timing_line(docname: str, wall: float, cpu: float | None, budget: float = BUDGET_S) -> str:
    """One notebook's line: its wall time, its kernel CPU time and, past ``budget``, a flag.

    ``cpu`` is None for a notebook not executed in this build (``wall`` is then the cached run's).
    """
    if cpu is None:
        return f"{docname}: not executed now (the cached run took {wall:.1f} s)"
    flag = f"  OVER BUDGET (kernel CPU {cpu:.0f} s > {budget:.0f} s)" if cpu > budget else ""
    return f"{docname}: executed in {wall:.1f} s (kernel CPU {cpu:.1f} s; budget {budget:.0f} s){flag}"


def execute(nb: Any, cwd: str | None = None, km: Any = None, **kwargs: Any) -> Any:
    """``nbclient.execute`` with the timely client; records the notebook's wall and kernel CPU time."""
    docname = _app.env.temp_data.get("docname", "notebook") if _app is not None else "notebook"
    if os.environ.get(CACHED_ONLY) == "1":
        raise ExtensionError(
            f"{docname} is not in the execution cache, and {CACHED_ONLY}=1 forbids running it here: "
            "`make test` stores every notebook it runs there; was it run with this notebook's code?"
        )
    resources = {"metadata": {"path": cwd}} if cwd is not None else {}
    client = TimelyNotebookClient(nb=nb, resources=resources, km=km, **kwargs)
    kernel_cpu = track_kernel_cpu(client)
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        wall, cpu = time.perf_counter() - start, kernel_cpu()
        _timings[docname] = (wall, cpu)
        line = timing_line(docname, wall, cpu)
        logger.info("[ptdl] " + (red(line) if cpu > BUDGET_S else line))
    return nb


def _summary(app: Sphinx, exception: Exception | None) -> None:
    from myst_nb.sphinx_ import NbMetadataCollector

    rows = []
    for docname in sorted(app.env.found_docs):
        if docname in _timings:
            rows.append(timing_line(docname, *_timings[docname]))
            continue
        data = NbMetadataCollector.get_doc_data(app.env).get(docname, {}).get("exec_data")
        if data and data.get("runtime") is not None:
            rows.append(timing_line(docname, data["runtime"], None))
    if not rows:
        return
    over = sum("OVER BUDGET" in row for row in rows)
    logger.info(f"\n[ptdl] notebook execution times (budget: {BUDGET_S:.0f} s of kernel CPU):")
    for row in rows:
        logger.info("  " + (red(row) if "OVER BUDGET" in row else row))
    if over:
        logger.info(red(f"[ptdl] {over} notebook(s) over budget: see `bench/notebook_times.py`"))


def setup(app: Sphinx) -> None:
    """Make jupyter-cache execute with :func:`execute`, and print the times at the end of the build."""
    global _app
    _app = app
    import jupyter_cache.executors.utils as jc_utils

    jc_utils.executenb = execute  # single_nb_execution looks the name up when it runs
    app.connect("build-finished", _summary)
