"""tests/notebook_client.py: sliced waits recover a missed wake-up; the time limit fails fast and says where;
an executed notebook lands in the book's cache under the key the book looks it up by."""

from __future__ import annotations

import asyncio
import time
from queue import Empty

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from notebook_client import POLL_S, NotebookTimeout, cache_for_the_book, run_notebook, sliced


class Channel:
    """A fake channel whose message is already there, but whose long polls never see it (a lost wake-up)."""

    def __init__(self, arrives_after: float) -> None:
        self.arrival = time.monotonic() + arrives_after
        self.polls: list[float | None] = []

    async def get_msg(self, timeout: float | None = None) -> dict:
        self.polls.append(timeout)
        if timeout is None or timeout > POLL_S:  # a long wait: the wake-up is lost, wait it out
            raise AssertionError("a wait longer than POLL_S reached the socket")
        await asyncio.sleep(timeout)
        if time.monotonic() >= self.arrival:
            return {"msg": "reply"}
        raise Empty


def test_sliced_waits_find_a_message_within_one_poll() -> None:
    channel = Channel(arrives_after=0.3)
    get_msg = sliced(channel.get_msg)
    start = time.monotonic()
    assert asyncio.run(get_msg(timeout=300)) == {"msg": "reply"}
    assert time.monotonic() - start < 0.3 + 2 * POLL_S
    assert all(t is not None and t <= POLL_S for t in channel.polls)
    assert asyncio.run(sliced(Channel(0.2).get_msg)(timeout=None)) == {"msg": "reply"}  # no timeout: poll on


def test_sliced_waits_still_time_out() -> None:
    get_msg = sliced(Channel(arrives_after=60).get_msg)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(get_msg(timeout=0.6))
    assert 0.6 <= time.monotonic() - start < 0.6 + POLL_S


def _notebook(tmp_path, *sources: str):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_a_notebook_runs_and_reports_kernel_cpu(tmp_path) -> None:
    path = _notebook(tmp_path, "x = sum(i * i for i in range(3_000_000))", "print(x)")
    wall, cpu = run_notebook(path, limit_s=60)
    assert 0 < cpu < wall < 60


def test_a_hanging_notebook_fails_fast_with_a_clear_message(tmp_path) -> None:
    path = _notebook(tmp_path, "import time", "x = 1", "time.sleep(120)", "print('never')")
    start = time.monotonic()
    with pytest.raises(NotebookTimeout, match=r"^nb.ipynb did not finish within 8 s: it stopped in cell 2 .*idle"):
        run_notebook(path, limit_s=8)
    assert time.monotonic() - start < 30  # the limit, plus shutting the kernel down


def test_an_executed_notebook_is_found_by_the_books_cache(tmp_path) -> None:
    from jupyter_cache import get_cache

    path = _notebook(tmp_path, "print(6 * 7)", "x = 1")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata["tags"] = ["hide-input"]  # cell metadata is part of the key
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    executed = []
    wall, _ = run_notebook(path, limit_s=60, on_done=executed.append)
    assert "execution" in executed[0].cells[0].metadata  # nbclient's timings, not in the committed notebook

    cache = tmp_path / "cache"
    cache_for_the_book(path, executed[0], wall, cache=cache)
    cache_for_the_book(path, executed[0], wall, cache=cache)  # a second run replaces the first
    book_cache = get_cache(str(cache))
    committed = nbformat.read(path, as_version=4)  # what myst-nb reads and looks up
    record = book_cache.match_cache_notebook(committed)
    assert record.uri == str(path.resolve()) and record.data["execution_seconds"] == wall
    assert len(book_cache.list_cache_records()) == 1
    _, merged = book_cache.merge_match_into_notebook(committed)
    assert merged.cells[0].outputs[0]["text"] == "42\n"
    committed.cells[0].source = "print(6 * 8)"  # a changed notebook is not matched
    with pytest.raises(KeyError):
        book_cache.match_cache_notebook(committed)
