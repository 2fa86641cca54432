"""The book's own Sphinx extension (_ext/ptdl_book) and the pages it serves: chapter numbers
from folders, the bibliography style, the course map, the API page and the glossary."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml
from docutils import nodes
from pybtex.database import parse_file
from pybtex.plugin import find_plugin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from ptdl_book import bibstyle, coursemap, numbering  # noqa: E402

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
BIB = parse_file(str(ROOT / "references.bib"))
#: Entries with neither doi nor url, and why (a link is added when a free or verified one is found).
NO_LINK = {
    "nelson1975soluble": "publisher copy only; doi not verified",
    "migdal1975phase": "Soviet Physics JETP; no verified link",
    "newman1999monte": "book; no free version",
    "watanabe2018mathematical": "book; doi not verified",
}


# ---- chapter numbers ------------------------------------------------------------------


def test_chapter_number_comes_from_the_folder() -> None:
    assert numbering.chapter_number("chapters/09_llc_estimation/09_estimating_llc") == 9
    assert numbering.chapter_number("chapters/10_stages/x") == 10
    assert numbering.chapter_number("intro") is None
    assert numbering.chapter_number("chapters/readme") is None


def _env(first: int) -> SimpleNamespace:
    """A build environment after Sphinx numbered chapter 9's page as chapter ``first``."""
    doc = "chapters/09_llc_estimation/09_estimating_llc"
    toc = nodes.bullet_list("", nodes.list_item("", nodes.reference("", "t", anchorname="", secnumber=[first])))
    title = nodes.title("", "Estimating", secnumber=[first])
    return SimpleNamespace(
        toc_secnumbers={doc: {"": (first,), "#pitfalls": None, "#sub": (first, 2)}, "intro": {"": (1,)}},
        tocs={doc: toc, "intro": nodes.bullet_list()},
        titles={doc: title, "intro": nodes.title("", "Intro")},
    ), doc


def test_renumbering_sets_the_folder_number_everywhere_it_is_stored() -> None:
    env, doc = _env(first=6)  # chapters 6-8 do not exist yet: Sphinx counted 6
    numbering.renumber_chapters(env)
    assert env.toc_secnumbers[doc] == {"": (9,), "#pitfalls": None, "#sub": (9, 2)}
    assert next(iter(env.tocs[doc].findall(nodes.reference)))["secnumber"] == [9]
    assert env.titles[doc]["secnumber"] == [9]
    assert env.toc_secnumbers["intro"] == {"": (1,)}  # not a chapter: untouched


def test_every_chapter_part_of_the_toc_is_numbered_and_in_folder_order() -> None:
    numbers = []
    for part in TOC["parts"]:
        files = [c["file"] for c in part["chapters"]]
        chapters = [f for f in files if f.startswith("chapters/")]
        if chapters:
            assert part.get("numbered"), f"part {part['caption']!r} holds chapters but is not numbered"
            assert len(chapters) == len(files), f"part {part['caption']!r} mixes chapters and other pages"
        numbers += [numbering.chapter_number(f + "/") or numbering.chapter_number(f) for f in chapters]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


# ---- bibliography -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def formatted() -> dict:
    bibstyle.setup()
    style = find_plugin("pybtex.style.formatting", "ptdl")()
    return {e.key: e for e in style.format_entries(BIB.entries.values())}


def test_labels_are_author_year_like_the_citations_in_the_text(formatted) -> None:
    assert formatted["onsager1944crystal"].label == "Onsager, 1944"
    assert formatted["kamieniarz1993universal"].label == "Kamieniarz and Blöte, 1993"
    assert formatted["wei2022emergent"].label == "Wei et al., 2022"
    labels = [e.label for e in formatted.values()]
    assert len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"[^\d{}\\$]+, \d{4}[a-z]?", label) for label in labels), labels


def test_equal_labels_get_letters() -> None:
    style = bibstyle.AuthorYearLabelStyle()
    a, b = BIB.entries["kadanoff1966scaling"], BIB.entries["kadanoff1976notes"]
    twin = type(b)(b.type, fields={**b.fields, "year": "1966"}, persons=b.persons)
    assert list(style.format_labels([a, twin])) == ["Kadanoff, 1966a", "Kadanoff, 1966b"]


def test_no_raw_tex_reaches_the_reader(formatted) -> None:
    for key, entry in formatted.items():
        text = entry.text.render_as("text")
        assert not re.search(r"[$\\{}]", text), f"{key}: {text}"
    html = formatted["kadanoff1966scaling"].text.render_as("html")
    assert "T<sub>c</sub>" in html


def test_math_in_titles_becomes_sub_and_superscripts() -> None:
    assert bibstyle.math_to_text(r"T_c").render_as("html") == "T<sub>c</sub>"
    assert bibstyle.math_to_text(r"x^{2} \nu").render_as("html") == "x<sup>2</sup> ν"
    assert bibstyle.math_to_text(r"\widehat{R} \hat x").render_as("html") == "R\u0302 x\u0302"


def test_every_doi_and_url_is_a_link(formatted) -> None:
    for key, entry in BIB.entries.items():
        html = formatted[key].text.render_as("html")
        if "doi" in entry.fields:
            assert f'href="https://doi.org/{entry.fields["doi"]}"' in html, key
        if "url" in entry.fields:
            assert f'href="{entry.fields["url"]}"' in html, key


def test_every_entry_links_somewhere_or_says_why_not() -> None:
    unlinked = {k for k, e in BIB.entries.items() if not {"doi", "url"} & set(e.fields)}
    assert unlinked <= set(NO_LINK), f"add a doi or url to: {sorted(unlinked - set(NO_LINK))}"
    assert not set(NO_LINK) - set(BIB.entries), "NO_LINK names entries that no longer exist"


# ---- course map -------------------------------------------------------------------------


def _map_source() -> str:
    text = (ROOT / "course_map.md").read_text()
    return re.search(r"```\{course-map\}\n(.*?)\n```", text, re.S).group(1)


def _toc_chapter_docs() -> set[str]:
    return {c["file"] for part in TOC["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")}


def test_course_map_knows_every_chapter_and_which_exist() -> None:
    docs = _toc_chapter_docs()
    parts, chapters, paths = coursemap.parse(_map_source(), docs)
    assert [c.number for c in chapters] == list(range(1, 12))
    assert {c.docname for c in chapters if c.docname} == docs
    assert {c.part for c in chapters} <= set(parts) and len(paths) >= 3
    for c in chapters:
        if c.docname:  # the map's title is the notebook's title
            nb = nbformat.read(ROOT / f"{c.docname}.ipynb", as_version=4)
            assert nb.cells[0].source.splitlines()[0] == f"# {c.title}", c.number


def test_course_map_rejects_a_dependency_on_a_later_chapter() -> None:
    bad = _map_source().replace(
        '{number: 2, part: I, col: 1, title: "Repeated outputs that feed back", needs: [1]}',
        '{number: 2, part: I, col: 1, title: "Repeated outputs that feed back", needs: [3]}',
    )
    assert bad != _map_source()
    with pytest.raises(ValueError, match=r"^chapter 2: needs"):
        coursemap.parse(bad, set())


def test_course_map_svgs_link_existing_chapters_only() -> None:
    parts, chapters, _ = coursemap.parse(_map_source(), {"chapters/03_ising/03_ising_model"})
    arrows = coursemap.drawn_needs(chapters)
    for draw in (coursemap.svg, coursemap.svg_narrow):
        svg = draw(parts, chapters, {3: "chapters/03_ising/03_ising_model.html"})
        assert svg.count("<a href=") == 1 and 'href="chapters/03_ising/03_ising_model.html"' in svg
        assert svg.count('class="box planned"') == 10
        assert svg.count('<path class="edge"') == sum(len(a) for a in arrows.values())


def test_course_map_draws_no_arrow_that_a_path_of_arrows_implies() -> None:
    _, chapters, _ = coursemap.parse(_map_source(), _toc_chapter_docs())
    arrows = coursemap.drawn_needs(chapters)
    assert 3 in dict((c.number, c.needs) for c in chapters)[9] and 3 not in arrows[9]  # 3 -> 8 -> 9 shows it
    assert arrows[9] == (8,) and set(arrows[11]) == {2, 5, 10}  # 2 and 5 lead to 11 by no other path


def _segments(svg: str) -> list[tuple[float, float, float, float]]:
    """Straight pieces (x0, y0, x1, y1) of the map's arrows (curves are left out)."""
    out = []
    for d in re.findall(r'<path class="edge" d="([^"]+)"', svg):
        if "C" in d:
            continue
        pts = [tuple(map(float, p.split(","))) for p in re.findall(r"[-\d.]+,[-\d.]+", d)]
        out += [(*a, *b) for a, b in zip(pts, pts[1:], strict=False)]
    return out


def test_course_map_arrows_within_a_row_are_crossed_by_no_other_arrow() -> None:
    parts, chapters, _ = coursemap.parse(_map_source(), _toc_chapter_docs())
    svg = coursemap.svg(parts, chapters, {})
    segments = _segments(svg)
    sideways = [s for s in segments if s[1] == s[3]]
    upright = [s for s in segments if s[0] == s[2]]
    for x0, y, x1, _ in sideways:
        lo, hi = sorted((x0, x1))
        for x, ya, _, yb in upright:
            assert not (lo < x < hi and min(ya, yb) < y < max(ya, yb)), f"an arrow crosses the one at y = {y}"
    assert len(sideways) >= 5  # 1 -> 2, 3 -> 4, 6 -> 7, 8 -> 9, 9 -> 10, 10 -> 11 and the long arrows' legs


def test_course_map_titles_fit_their_boxes_or_the_build_fails() -> None:
    _, chapters, _ = coursemap.parse(_map_source(), _toc_chapter_docs())
    svg = coursemap.svg(*coursemap.parse(_map_source(), _toc_chapter_docs())[:2], {})
    for c in chapters:  # every word of the box's text is drawn
        shown = " ".join(re.findall(r'<text class="title[^"]*"[^>]*>([^<]*)</text>', svg))
        assert c.label in shown or all(w in shown for w in c.label.split()), c.label
    long_title = _map_source().replace('short: "Synthesis", ', "")
    with pytest.raises(ValueError, match="chapter 11: .* shorter `short:`"):
        coursemap.parse(long_title, set())


# ---- API page and glossary --------------------------------------------------------------


def _public_modules() -> set[str]:
    mods = set()
    for path in (ROOT / "utils").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if any(p.startswith("_") for p in parts[1:]) and parts[-1] != "__init__":
            continue
        mods.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return mods - {"utils"}


def test_api_page_documents_every_public_module_through_eval_rst() -> None:
    text = (ROOT / "api.md").read_text()
    assert "```{automodule}" not in text, "automodule needs {eval-rst} in MyST, or the page shows raw RST"
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", text, re.M))
    blocks = re.findall(r"```\{eval-rst\}\n(.*?)```", text, re.S)
    assert documented == {m for b in blocks for m in re.findall(r"\.\. automodule:: (\S+)", b)}
    missing = _public_modules() - documented
    assert not missing, f"api.md does not document: {sorted(missing)}"


def test_glossary_defines_the_terms_the_chapters_use() -> None:
    text = (ROOT / "glossary.md").read_text()
    terms = {line.strip().lower() for line in text.splitlines() if line and not line.startswith((" ", "`", ":", "#"))}
    for term in (
        "order parameter",
        "critical exponent",
        "universality",
        "rg fixed point",
        "relevant direction",
        "irrelevant direction",
        "crossover",
        "learning coefficient",
        "rlct",
        "free energy",
        "llc",
        "sgld",
        "grokking",
        "in-context learning",
        "phase transition",
        "renormalization group",
    ):
        assert term in terms, term
