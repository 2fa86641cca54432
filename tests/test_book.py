"""The book's structure: every TOC entry exists, every notebook is listed, the build fails on errors,
every chapter follows the course conventions, and every citation resolves."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
BIB_KEYS = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", (ROOT / "references.bib").read_text()))


def toc_files() -> list[str]:
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        for ch in part.get("chapters", []):
            files.append(ch["file"])
            files += [s["file"] for s in ch.get("sections", [])]
    return files


def resolve(entry: str) -> Path | None:
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{entry}{suffix}").exists():
            return ROOT / f"{entry}{suffix}"
    return None


def test_every_toc_entry_exists() -> None:
    missing = [f for f in toc_files() if resolve(f) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_every_notebook_is_in_the_toc() -> None:
    listed = {resolve(f) for f in toc_files()}
    orphans = [str(p.relative_to(ROOT)) for p in NOTEBOOKS if p not in listed]
    assert not orphans, f"notebooks not in _toc.yml (they would not be built): {orphans}"


def test_a_failing_notebook_fails_the_build() -> None:
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert "-W --keep-going" in (ROOT / "Makefile").read_text()


def test_extensions_and_bibliography_configured() -> None:
    ext = CONFIG["sphinx"]["extra_extensions"]
    assert "sphinx_proof" in ext and "sphinx_exercise" in ext
    assert all((ROOT / b).exists() for b in CONFIG["bibtex_bibfiles"])
    assert CONFIG["repository"]["url"].startswith("https://")


def _text(nb: nbformat.NotebookNode, kind: str = "markdown") -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == kind)


def chapter_pages() -> dict[str, list[str]]:
    """Each chapter's pages in _toc.yml: its first file, then its sub-pages (``sections:``) for a split chapter."""
    return {
        ch["file"]: [ch["file"]] + [s["file"] for s in ch.get("sections", [])]
        for part in TOC.get("parts", [])
        for ch in part.get("chapters", [])
        if ch["file"].startswith("chapters/")
    }


CHAPTERS = chapter_pages()


def test_a_split_chapter_keeps_its_pages_in_its_folder() -> None:
    folders = [Path(first).parent for first in CHAPTERS]
    assert len(set(folders)) == len(folders), "two chapters in _toc.yml share a folder"
    for first, pages in CHAPTERS.items():
        strays = [p for p in pages if Path(p).parent != Path(first).parent]
        assert not strays, f"{first}: its sub-pages must sit in its folder (chapter numbers come from it): {strays}"


@pytest.mark.parametrize("first", list(CHAPTERS), ids=[Path(f).parent.name for f in CHAPTERS])
def test_chapter_conventions(first: str) -> None:
    # a chapter may be split into several notebooks (issue 24): these hold for the chapter as a whole
    nbs = [nbformat.read(resolve(page), as_version=4) for page in CHAPTERS[first]]
    opening = nbs[0].cells[0]
    assert opening.cell_type == "markdown" and opening.source.startswith("# "), "first cell: '# Title'"
    assert "learn" in opening.source.lower(), "first cell states what the reader will learn"
    for page, nb in zip(CHAPTERS[first][1:], nbs[1:], strict=True):
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), f"{page}: '# Title'"
    md = "\n".join(_text(nb) for nb in nbs)
    exercises = re.findall(r"\{exercise\}", md)
    solutions = re.findall(r"\{solution\}", md)
    assert len(exercises) >= 3, f"{len(exercises)} exercises; the course wants at least 3"
    assert len(solutions) >= len(exercises), "every exercise has a solution"
    assert re.search(r"^#+ .*Summary", md, re.M), "a Summary section"
    assert any("utils.exercises" in _text(nb, "code") for nb in nbs), (
        "at least one code exercise checked by utils.exercises"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_citations_resolve(path: Path) -> None:
    md = _text(nbformat.read(path, as_version=4))
    keys = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", md) for k in group.split(",")}
    assert keys <= BIB_KEYS, f"cited but not in references.bib: {sorted(keys - BIB_KEYS)}"


def test_bibliography_parses_without_duplicates() -> None:
    from pybtex.database import parse_file

    db = parse_file(str(ROOT / "references.bib"))  # raises on a syntax error, e.g. a lost brace
    assert len(db.entries) == len(re.findall(r"^@\w+\s*\{", (ROOT / "references.bib").read_text(), re.M))


# -- links to the API page (api.md) ----------------------------------------------------------------

_FENCED = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
#: `utils.x.y` in plain backticks (not the target of a role, whose backticks follow a `}`)
_PLAIN_UTILS = re.compile(r"(?<![}\w])`(utils(?:\.\w+)+)(?:\(\))?`")
#: a role link to a `utils` name: {func}`utils.x.f`, {func}`~utils.x.f` or {func}`shown text <utils.x.f>`
_ROLE_UTILS = re.compile(r"\{(?:py:)?(?:func|mod|class|data|meth)\}`(?:[^`<]*<)?~?(utils(?:\.\w+)+)>?`")
API_MODULES = set(re.findall(r"^\.\. automodule:: (\S+)", (ROOT / "api.md").read_text(), re.M))


def unlinked_utils_names(markdown: str) -> list[str]:
    """The `utils` names that ``markdown`` writes in plain backticks (outside code blocks) and links nowhere."""
    plain = set(_PLAIN_UTILS.findall(_FENCED.sub("", markdown)))
    return sorted(plain - set(_ROLE_UTILS.findall(markdown)))


def test_unlinked_utils_names_finds_plain_mentions() -> None:
    assert unlinked_utils_names("the tested `utils.rg.fixed_point` finds it") == ["utils.rg.fixed_point"]
    assert unlinked_utils_names("see `utils.rg` and `utils.ising.sample()`") == ["utils.ising.sample", "utils.rg"]
    # linked once anywhere in the chapter (with or without ~) is enough; code blocks and roles do not count
    assert unlinked_utils_names("{func}`~utils.rg.fixed_point` ... `utils.rg.fixed_point`") == []
    assert unlinked_utils_names("{mod}`utils.rg`, later `utils.rg`") == []
    assert unlinked_utils_names("```python\nfrom utils import rg  # `utils.rg`\n```") == []
    assert unlinked_utils_names("{func}`utils.rg.linearize` but `utils.rg.fixed_point`") == ["utils.rg.fixed_point"]
    assert unlinked_utils_names("{func}`rg.fixed_point <utils.rg.fixed_point>`, `utils.rg.fixed_point`") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_utils_names_link_to_the_api_page(path: Path) -> None:
    missing = unlinked_utils_names(_text(nbformat.read(path, as_version=4)))
    assert not missing, (
        f"{path.parent.name}: {', '.join(missing)} named in plain backticks but never linked: write the first "
        "mention as {func}`utils.x.f` ({mod}, {class} or {data} as fits), so that it links to the API page"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_api_links_resolve(path: Path) -> None:
    """Every linked `utils` name exists and its module is on the API page (else the link renders dead)."""
    import importlib

    for name in sorted(set(_ROLE_UTILS.findall(_text(nbformat.read(path, as_version=4))))):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable prefix is the module
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        module = ".".join(parts[:cut])
        for attr in parts[cut:]:
            assert hasattr(obj, attr), f"{path.parent.name}: {name} is linked but {module} has no {attr}"
            obj = getattr(obj, attr)
        assert module in API_MODULES, f"{path.parent.name}: {name} is linked but api.md documents no {module}"
