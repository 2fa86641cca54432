"""Execute a notebook in a fresh kernel, with a hard time limit and without the 300 s stall.

Used by ``tests/test_notebooks.py`` and ``bench/notebook_times.py``.

**The stall.** nbclient's asyncio kernel client (pyzmq's ``zmq.asyncio``) sometimes misses the
wake-up for a message that has already arrived: ZeroMQ signals new messages on an
edge-triggered file descriptor, and an edge can be lost. nbclient then waits in one long poll
for the cell's execute reply, and only when that poll times out (the cell timeout, 300 s here
before) does pyzmq look at the socket again, find the reply, and carry on: the notebook
*passes*, 300 s late, while its kernel sits idle. That is how chapter 1's test once took 327 s.
:class:`TimelyNotebookClient` cuts every wait on the shell and IOPub channels into polls of
at most :data:`POLL_S` seconds, so a lost wake-up costs at most that long.

**The limit.** :func:`run_notebook` gives the whole notebook :data:`LIMIT_S` seconds of wall
time and fails with a message that says where it stopped, and whether the kernel was busy
or idle, instead of running into CI's time limit.

The book build executes notebooks through myst-nb, with the same client and the same CPU
clock (``_ext/ptdl_book/execution.py``), and :func:`cache_for_the_book` hands each notebook the
tests executed to the book's cache, so that ``make test`` then ``make book`` runs it once.
"""

from __future__ import annotations

import asyncio
import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ROOT = Path(__file__).resolve().parents[1]

#: Where ``jupyter-book build`` keeps executed notebooks (myst-nb's default: beside the HTML).
BOOK_CACHE = ROOT / "_build" / ".jupyter_cache"

#: Longest single wait on a kernel channel; a missed ZeroMQ wake-up costs at most this.
POLL_S = 0.5

#: Hard wall-time limit for one notebook (the budget is 90 s on an idle 2-core machine;
#: this leaves room for a loaded CI machine running two notebooks at once).
LIMIT_S = 360

#: A notebook's budget: kernel CPU seconds (insensitive to other load on the machine).
BUDGET_S = 90.0


def sliced(get_msg: Any) -> Any:
    """Wrap a channel's ``get_msg(timeout)`` so that it polls at most ``POLL_S`` at a time."""

    async def get_msg_sliced(timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=wait)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_sliced


class TimelyNotebookClient(NotebookClient):
    """``nbclient.NotebookClient`` whose waits for kernel messages never exceed :data:`POLL_S` at a time."""

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = sliced(channel.get_msg)
        return kc


def track_kernel_cpu(client: NotebookClient) -> Callable[[], float]:
    """Hook ``client`` so that the returned function gives its kernel's CPU seconds so far.

    User + system time of the kernel process and its children, read when asked and after each
    cell; once the kernel has exited, the last reading.
    """
    state: dict[str, Any] = {"cpu": 0.0, "proc": None}

    def kernel_cpu() -> float:
        if state["proc"] is not None:
            try:
                t = state["proc"].cpu_times()
                state["cpu"] = t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return state["cpu"]

    def on_notebook_start(notebook: Any) -> None:
        state["proc"] = psutil.Process(client.km.provisioner.process.pid)

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        kernel_cpu()

    client.on_notebook_start = on_notebook_start
    client.on_cell_executed = on_cell_executed
    return kernel_cpu


class NotebookTimeout(AssertionError):
    """A notebook did not finish within its time limit."""


def run_notebook(
    path: Path, *, limit_s: float = LIMIT_S, on_done: Callable[[Any], None] | None = None
) -> tuple[float, float]:
    """Execute ``path`` top to bottom in a fresh kernel; return (wall seconds, kernel CPU seconds).

    ``on_done``, if given, receives the executed notebook (with its outputs).

    Raises ``nbclient``'s ``CellExecutionError`` for a failing cell and :class:`NotebookTimeout`
    when the notebook runs past ``limit_s`` seconds of wall time.
    """
    nb = nbformat.read(path, as_version=4)
    client = TimelyNotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    kernel_cpu = track_kernel_cpu(client)
    state: dict[str, Any] = {"cell": None}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        state["cell"] = cell_index

    client.on_cell_start = on_cell_start

    async def execute() -> None:
        async def sample() -> None:  # keeps the CPU reading fresh while a cell runs
            while True:
                kernel_cpu()
                await asyncio.sleep(1.0)

        sampler = asyncio.ensure_future(sample())
        try:
            await client.async_execute()
        finally:
            sampler.cancel()

    start = time.perf_counter()
    deadline = time.monotonic() + limit_s
    # each cell may use what is left of the notebook's limit (nbclient calls this as a cell starts)
    client.timeout_func = lambda cell: max(1, math.ceil(deadline - time.monotonic()))
    try:
        asyncio.run(execute())
    except CellTimeoutError:
        wall = time.perf_counter() - start
        cpu = kernel_cpu()
        activity = "idle (waiting on a message, the network or a lock)" if cpu < 0.5 * wall else "busy"
        raise NotebookTimeout(
            f"{path.name} did not finish within {limit_s:.0f} s: it stopped in cell {state['cell']} "
            f"(0-based), and its kernel was mostly {activity}: {cpu:.0f} s of CPU in {wall:.0f} s. "
            "Run it alone with `.venv/bin/python bench/notebook_times.py "
            f"{path}` to see whether it is slow or stuck."
        ) from None
    wall = time.perf_counter() - start
    if on_done is not None:
        on_done(nb)
    return wall, kernel_cpu()


def cache_for_the_book(path: Path, executed: Any, wall: float, cache: Path = BOOK_CACHE) -> None:
    """Store ``executed``, the notebook ``path`` after a run, in the book's cache, where ``make book`` finds it.

    jupyter-cache matches a notebook by its code cells (source and metadata) and its kernelspec,
    so the stored copy keeps the committed notebook's metadata (nbclient adds timings to each
    cell) with the outputs of the run. pytest-xdist workers write one at a time (a file lock).
    """
    from filelock import FileLock  # torch's dependency
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    source = nbformat.read(path, as_version=4)
    bundle = copy.deepcopy(executed)
    if len(bundle.cells) != len(source.cells):
        raise ValueError(f"executed: {len(bundle.cells)} cells, but {path.name} has {len(source.cells)}")
    for cell, committed in zip(bundle.cells, source.cells, strict=True):
        cell.metadata = copy.deepcopy(committed.metadata)
    bundle.metadata.pop("kernelspec", None)
    if "kernelspec" in source.metadata:
        bundle.metadata["kernelspec"] = copy.deepcopy(source.metadata["kernelspec"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache) + ".lock"):
        get_cache(str(cache)).cache_notebook_bundle(
            CacheBundleIn(bundle, str(path.resolve()), data={"execution_seconds": wall}),
            check_validity=False,
            overwrite=True,
        )
