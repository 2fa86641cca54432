"""The Colab/Binder setup cell: one URL (_config.yml) in every notebook, and a clear error when `utils` is shadowed."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from notebook_client import run_notebook

ROOT = Path(__file__).resolve().parents[1]
import setup_cell  # noqa: E402

NOTEBOOKS = setup_cell.notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_setup_cell_installs_from_the_configured_url(path: Path) -> None:
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", [])
    assert cell.source == setup_cell.render(), f"{path.name}: run `make setup-cells` after changing _config.yml"
    assert f'%pip install -q "git+{setup_cell.repository_url()}"' in cell.source


def test_render_pins_a_tag_and_keeps_lines_short() -> None:
    source = setup_cell.render("https://example.org/fork/course", ref="v1.0")
    assert '%pip install -q "git+https://example.org/fork/course@v1.0"' in source
    assert max(len(line) for line in setup_cell.render().splitlines()) <= 79


def _run_setup_cell(folder: Path) -> None:
    path = folder / "nb.ipynb"
    nbformat.write(
        new_notebook(cells=[new_code_cell(setup_cell.render()), new_code_cell("import utils.runtime")]), path
    )
    run_notebook(path, limit_s=120)


def test_setup_cell_passes_where_utils_is_installed(tmp_path: Path) -> None:
    _run_setup_cell(tmp_path)  # the package is installed (editable): no pip, no error


def test_setup_cell_names_a_shadowing_utils_py(tmp_path: Path) -> None:
    (tmp_path / "utils.py").write_text("def helper():\n    return 1\n")
    with pytest.raises(CellExecutionError, match=r"utils\.py hides the course package `utils`: rename it"):
        _run_setup_cell(tmp_path)
