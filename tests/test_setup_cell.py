"""The setup cell: the book's repository in every notebook, and a clear error when `utils` is shadowed.

The install routes (from a git URL, with no repository known, with PyPI's `utils` installed) run in
fresh environments in tests/test_install.py."""

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
def test_every_setup_cell_is_written_for_the_books_repository(path: Path) -> None:
    cell = nbformat.read(path, as_version=4).cells[1]
    assert cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", [])
    assert cell.source == setup_cell.configured(), f"{path.name}: run `make setup-cells` after changing _config.yml"


def test_render_installs_from_the_url_pinned_or_not_and_keeps_lines_short() -> None:
    source = setup_cell.render("https://example.org/fork/course", ref="v1.0")
    assert '%pip install -q "git+https://example.org/fork/course@v1.0"' in source
    assert '%pip install -q "git+https://github.com/a/b"' in setup_cell.render("https://github.com/a/b/")
    without = setup_cell.render(None)
    assert not any(line.lstrip().startswith("%pip") for line in without.splitlines())  # no install line
    assert "not know the course's repository" in without
    for source in (setup_cell.render("https://github.com/owner-name/repository-name", ref="fall-2026"), without):
        # 79 columns, but for the line that holds the URL (the book hides the cell)
        assert max(len(line) for line in source.splitlines() if "%pip install -q" not in line) <= 79
    with pytest.raises(ValueError, match="ref 'v1' given without a repository url"):
        setup_cell.render(None, ref="v1")


def test_the_repository_comes_from_the_environment_else_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from ptdl_book.publish import URL_VARIABLE, repository_url

    monkeypatch.delenv(URL_VARIABLE, raising=False)
    assert repository_url("") is None and repository_url(None) is None
    assert repository_url("https://github.com/a/b.git") == "https://github.com/a/b"
    monkeypatch.setenv(URL_VARIABLE, "https://github.com/fork/course/")
    assert repository_url("https://github.com/a/b") == "https://github.com/fork/course"
    assert setup_cell.repository_url() == "https://github.com/fork/course"
    assert '"git+https://github.com/fork/course"' in setup_cell.configured()
    monkeypatch.setenv(URL_VARIABLE, "git@github.com:fork/course.git")
    with pytest.raises(ValueError, match=r"BOOK_REPOSITORY_URL must be https://github.com/OWNER/REPO"):
        repository_url("https://github.com/a/b")
    monkeypatch.delenv(URL_VARIABLE)
    with pytest.raises(ValueError, match=r"repository.url in _config.yml must be https://github.com/OWNER/REPO"):
        repository_url("https://gitlab.com/a")


def _run_setup_cell(folder: Path, source: str | None = None) -> None:
    path = folder / "nb.ipynb"
    cells = [new_code_cell(source or setup_cell.configured()), new_code_cell("import utils.runtime")]
    nbformat.write(new_notebook(cells=cells), path)
    run_notebook(path, limit_s=120)


@pytest.mark.parametrize("url", [None, "https://github.com/a/b"])
def test_setup_cell_passes_where_utils_is_installed(tmp_path: Path, url: str | None) -> None:
    _run_setup_cell(tmp_path, setup_cell.render(url))  # the package is installed (editable): no pip, no error


def test_setup_cell_names_a_shadowing_utils_py(tmp_path: Path) -> None:
    (tmp_path / "utils.py").write_text("def helper():\n    return 1\n")
    with pytest.raises(CellExecutionError, match=r"utils\.py hides the course package `utils`: rename it"):
        _run_setup_cell(tmp_path)


def test_setup_cell_names_a_shadowing_utils_folder(tmp_path: Path) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "__init__.py").write_text("")
    with pytest.raises(CellExecutionError, match=r"[/\\]utils hides the course package `utils`: rename it"):
        _run_setup_cell(tmp_path)
