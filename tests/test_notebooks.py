"""Every chapter notebook runs top to bottom in a fresh kernel, and is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from line_length import long_code_lines, long_output_lines

from notebook_client import LIMIT_S, cache_for_the_book, run_notebook
from prose_numbers import check_notebook, numbers_toml_for, read_numbers_toml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
ids = [str(p.relative_to(ROOT / "chapters")) for p in NOTEBOOKS]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found under chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts; strip them before committing"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_executes(path: Path) -> None:
    # raises CellExecutionError on the first failing cell (unless tagged raises-exception), and
    # NotebookTimeout, saying where it stopped, after LIMIT_S seconds
    executed = []
    wall, cpu = run_notebook(path, limit_s=LIMIT_S, on_done=executed.append)
    print(f"{path.name}: {wall:.1f} s wall, {cpu:.1f} s kernel CPU")
    cache_for_the_book(path, executed[0], wall)  # so that `make book` after `make test` does not run it again
    # the book's code column shows about 80 characters: printed lines longer than 79 are cut off
    too_long = long_output_lines(executed[0])
    assert not too_long, "printed lines over 79 characters:\n" + "\n".join(map(str, too_long))
    # every number in the text is one the notebook prints (or its chapter's numbers.toml lists)
    offenders = check_notebook(executed[0], name=path.name, numbers_toml=numbers_toml_for(path))
    assert not offenders, "numbers in the text that the notebook does not print:\n" + "\n".join(map(str, offenders))


def test_numbers_toml_files_are_well_formed() -> None:
    # each raises NumbersTomlError naming the file and the bad entry (tests/test_prose_numbers.py checks that)
    for toml in sorted((ROOT / "chapters").glob("*/numbers.toml")):
        read_numbers_toml(toml)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_code_lines_fit_the_column(path: Path) -> None:
    too_long = long_code_lines(path)
    assert not too_long, "code lines over 79 characters:\n" + "\n".join(map(str, too_long))
