"""Figures in the notebooks: numbered captions, alt text, references by number, live controls.

The convention (README, Contributing): a code cell that draws a figure carries
``{"mystnb": {"figure": {"caption": ..., "name": "fig-chNN-slug"}, "image": {"alt": ...}}}`` in its
metadata, and the book numbers its figures per chapter in order ("Figure 7.3"). Prose refers to a
figure as ``[Figure 7.3](#fig-ch07-slug)``, never as "the figure above". These checks read the
committed notebooks; ``make check-pages`` checks the same on the built pages (every image a cell
draws is in a numbered figure, every "Figure N.M" link lands on Figure N.M, every control moves).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^fig-ch(\d\d)-[a-z0-9]+(-[a-z0-9]+)*$")
FIGURE_LINK = re.compile(r"\[Figure\s+(\d+)\.(\d+)\]\(#([^)\s]+)\)")
NUMBERED_WORD = re.compile(r"\bFigure\s+\d+\.\d+\b")
# "the figure above", "the plot below", "the previous figure", "15 screens up", "above the figure" ...
POSITIONAL = re.compile(
    r"\b(figures?|plots?|graphs?|charts?|pictures?|diagrams?|heat ?maps?|panels?|images?)\s+(above|below)\b"
    r"|\b(above|below)\s+(the\s+)?(figures?|plots?|graphs?|charts?|pictures?)\b"
    r"|\b(previous|next|following|last|preceding)\s+(figures?|plots?|graphs?)\b"
    r"|\bscreens?\s+(up|down|above|below)\b",
    re.IGNORECASE,
)
#: A cell that draws: it shows a figure or builds a control.
DRAWS = re.compile(r"plt\.show\(\)|\bexplore\(")


def _toc_docs() -> list[str]:
    """Every document of the book in reading order (the table of contents, depth first)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs: list[str] = []

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return docs


def _chapter(doc: str) -> int | None:
    match = re.match(r"chapters/(\d+)_", doc)
    return int(match.group(1)) if match else None


def _notebooks() -> list[Path]:
    return [ROOT / f"{doc}.ipynb" for doc in _toc_docs() if (ROOT / f"{doc}.ipynb").exists()]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def figure_numbers() -> dict[str, tuple[int, int, Path]]:
    """Each figure's name -> (chapter, number in the chapter, notebook), counted as the book does."""
    numbers: dict[str, tuple[int, int, Path]] = {}
    count: dict[int, int] = {}
    for path in _notebooks():
        chapter = _chapter(path.relative_to(ROOT).as_posix())
        for cell in _cells(path):
            figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
            if cell["cell_type"] == "code" and figure and chapter is not None:
                count[chapter] = count.get(chapter, 0) + 1
                numbers[str(figure.get("name"))] = (chapter, count[chapter], path)
    return numbers


NOTEBOOKS = _notebooks()


def test_the_book_has_chapter_notebooks() -> None:
    assert len(NOTEBOOKS) >= 11


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_cell_has_a_caption_name_and_alt_text(path: Path) -> None:
    chapter = _chapter(path.relative_to(ROOT).as_posix())
    problems = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        figure, source = meta.get("figure"), _source(cell)
        if figure is None:
            if DRAWS.search(source):
                problems.append(f"cell {index} draws a figure but has no mystnb.figure caption")
            continue
        name, caption = str(figure.get("name", "")), str(figure.get("caption", "")).strip()
        match = NAME.match(name)
        if not match or int(match.group(1)) != chapter:
            problems.append(f"cell {index}: figure name {name!r} is not fig-ch{chapter:02d}-<slug>")
        if len(caption) < 20:
            problems.append(f"cell {index} ({name}): caption {caption!r} does not say what to see")
        if re.search(r"^\s*(Figure|Fig\.)\s*\d", caption):
            problems.append(f"cell {index} ({name}): the caption repeats the number the book adds")
        alt = str(meta.get("image", {}).get("alt", "")).strip()
        if "explore(" in source:  # a control writes its own alt text
            if not re.search(r"\balt\s*=", source):
                problems.append(f"cell {index} ({name}): explore(...) without alt=")
        elif len(alt) < 20 or re.search(r"\.(png|jpe?g|svg)\b", alt):
            problems.append(f"cell {index} ({name}): alt text {alt!r} does not describe the figure")
    assert not problems, "\n".join(problems)


def test_figure_names_are_unique() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for path in NOTEBOOKS:
        for cell in _cells(path):
            name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            if name in seen:
                duplicates.append(f"{name}: {seen[name]} and {path.name}")
            elif name:
                seen[name] = path.name
    assert not duplicates, duplicates


def _prose() -> list[tuple[str, str]]:
    """(where, text) of every markdown cell of the chapters and every page of front/back matter."""
    out = []
    for path in NOTEBOOKS:
        for index, cell in enumerate(_cells(path)):
            if cell["cell_type"] == "markdown":
                out.append((f"{path.name} cell {index}", _source(cell)))
    for doc in _toc_docs():
        page = ROOT / f"{doc}.md"
        if page.exists():
            out.append((page.name, page.read_text(encoding="utf-8")))
    return out


def test_figure_links_name_the_real_number() -> None:
    numbers = figure_numbers()
    problems = []
    for where, text in _prose():
        for chapter, number, name in FIGURE_LINK.findall(text):
            if name not in numbers:
                problems.append(f"{where}: [Figure {chapter}.{number}] links to #{name}, which no cell names")
            elif numbers[name][:2] != (int(chapter), int(number)):
                real = "{}.{}".format(*numbers[name][:2])
                problems.append(f"{where}: [Figure {chapter}.{number}](#{name}) is Figure {real}")
        # every "Figure N.M" in the text is a link, so that it cannot go stale unnoticed
        bare = len(NUMBERED_WORD.findall(text)) - len(FIGURE_LINK.findall(text))
        if bare > 0:
            problems.append(f"{where}: {bare} 'Figure N.M' written without a link to the figure")
    assert not problems, "\n".join(problems)


def test_no_figure_is_referred_to_by_position() -> None:
    problems = []
    for where, text in _prose():
        text = re.sub(r"```.*?```", "", text, flags=re.S)  # code is not prose
        for match in POSITIONAL.finditer(text):
            start = max(0, match.start() - 50)
            problems.append(f"{where}: ...{text[start : match.end() + 20]!r}")
    assert not problems, "refer to figures by number, [Figure N.M](#fig-chNN-slug):\n" + "\n".join(problems)


def test_no_ipywidgets_in_the_chapters() -> None:
    """The book has no kernel: a control is a utils.controls.explore figure, not an ipywidget."""
    users = [path.name for path in NOTEBOOKS if any("ipywidgets" in _source(c) for c in _cells(path))]
    assert not users, f"use utils.controls.explore instead of ipywidgets in {users}"
