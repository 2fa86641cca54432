"""The ``course-map`` directive: the chapters' dependency graph, reading paths and status.

The directive's body is YAML (see ``course_map.md``)::

    parts: {I: "Emergence from compounding", ...}
    chapters:
      - {number: 1, part: I, col: 0, title: "...", short: "...", needs: []}
    paths:
      - {name: "Physics track", about: "...", chapters: [1, 2, 3, 4, 5]}

It renders two inline SVGs, one for wide screens and one for phones (no JavaScript, no CDN, no
graphviz: it reads offline and follows the book's light and dark themes), one list per reading
path and a table of chapters. A box shows ``short`` (default: the title) in full: a title that
does not fit its box is an error, never cut. An arrow is drawn only where no path of other
arrows already leads from one chapter to the other (the table lists every dependency), and a
long arrow runs down a gutter between columns that no arrow within a row crosses.
A chapter "exists" when a document ``chapters/NN_*/...`` is part of the book; existing
chapters are drawn solid and linked, planned ones dashed (with a legend only while one is).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

from .numbering import chapter_number

BOX_W, BOX_H, COL_W, ROW_H, TOP, LEFT = 168, 62, 188, 104, 30, 44
WIDTH = LEFT + 4 * COL_W + 8
WIDE_CHARS, WIDE_LINES = 21, 3  # a box of the wide map holds 3 lines of about 21 characters
NARROW_CHARS, NARROW_LINES = 34, 2  # the phone map's, 2 lines of about 34


@dataclass(frozen=True)
class Chapter:
    number: int
    part: str
    col: int
    title: str
    needs: tuple[int, ...]
    docname: str | None  # None: not written yet
    short: str = ""  # the title in the map's boxes ("" for the title itself)

    @property
    def label(self) -> str:
        return f"{self.number}. {self.short or self.title}"


def parse(text: str, docnames: set[str]) -> tuple[dict[str, str], list[Chapter], list[dict[str, Any]]]:
    """Read the directive's YAML; match chapters to the book's documents by folder number."""
    data = yaml.safe_load(text)
    by_number = {chapter_number(d): d for d in docnames if chapter_number(d) is not None}
    chapters = [
        Chapter(
            int(c["number"]),
            str(c["part"]),
            int(c["col"]),
            str(c["title"]),
            tuple(int(n) for n in c.get("needs", [])),
            by_number.get(int(c["number"])),
            str(c.get("short", "")),
        )
        for c in data["chapters"]
    ]
    numbers = {c.number for c in chapters}
    for c in chapters:
        missing = set(c.needs) - numbers
        if missing or any(n >= c.number for n in c.needs):
            raise ValueError(f"chapter {c.number}: needs {sorted(c.needs)} must name earlier chapters of the map")
    for path in data.get("paths", []):
        if set(path["chapters"]) - numbers:
            raise ValueError(f"path {path['name']!r} names chapters not in the map")
    for c in chapters:  # every title fits its box in both drawings
        for width, most in ((WIDE_CHARS, WIDE_LINES), (NARROW_CHARS, NARROW_LINES)):
            if len(_wrap(c.label, width)) > most:
                raise ValueError(
                    f"chapter {c.number}: {c.label!r} needs more than {most} lines of {width} characters "
                    "in the course map: give it a shorter `short:`"
                )
    return {str(k): str(v) for k, v in data["parts"].items()}, chapters, data.get("paths", [])


def _wrap(text: str, width: int = 22) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + [line]


def drawn_needs(chapters: list[Chapter]) -> dict[int, tuple[int, ...]]:
    """The arrows to draw: each chapter's needs less those that a path of other needs implies."""
    needs = {c.number: set(c.needs) for c in chapters}

    def reaches(start: int, goal: int) -> bool:
        todo, seen = [start], set()
        while todo:
            n = todo.pop()
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(needs[n])
        return False

    return {c.number: tuple(n for n in c.needs if not any(reaches(m, n) for m in c.needs if m != n)) for c in chapters}


def _gutter(row_of: dict, col_of: dict, blocked: dict, a: int, b: int) -> int:
    """The gutter (g: between columns g-1 and g; 0 is the left margin) for a long arrow a -> b:
    the one nearest the boxes that no arrow within an intermediate row crosses."""
    rows = range(row_of[a] + 1, row_of[b])
    free = [g for g in range(0, 5) if not any(g in blocked.get(r, ()) for r in rows)]
    if col_of[a] == col_of[b] == 0 and 0 in free:
        return 0
    want = max(col_of[a], col_of[b])
    return min(free or [want], key=lambda g: (abs(g - want), -g))


def _edge(pos: dict, row_of: dict, col_of: dict, a: int, b: int, k: int, gutter: int = 0) -> str:
    """SVG path of the arrow a -> b: sideways within a row, a curve to the next row, else
    along the gaps between rows and down ``gutter`` (k spreads such edges)."""
    (xa, ya), (xb, yb) = pos[a], pos[b]
    ca, cb = xa + BOX_W / 2, xb + BOX_W / 2
    if row_of[a] == row_of[b]:
        left = xb < xa
        y = ya + BOX_H / 2
        return f"M{xa if left else xa + BOX_W},{y} L{xb + BOX_W + 2 if left else xb - 2},{y}"
    if row_of[b] - row_of[a] == 1:
        return f"M{ca},{ya + BOX_H} C{ca},{yb - 12} {cb},{ya + BOX_H + 12} {cb},{yb - 2}"
    x = LEFT + gutter * COL_W - (COL_W - BOX_W) / 2 + 4 * (k % 3 - 1)
    if gutter == 0:
        x = LEFT - 12 - 4 * (k % 3)
    y0 = ya + BOX_H + 10 + 5 * (k % 3)
    y1 = yb - 10 - 5 * (k % 3)
    return f"M{ca},{ya + BOX_H} L{ca},{y0} L{x},{y0} L{x},{y1} L{cb},{y1} L{cb},{yb - 2}"


def svg(parts: dict[str, str], chapters: list[Chapter], href: dict[int, str]) -> str:
    """The dependency graph: one row per part, arrows from a chapter to those that build on it."""
    rows = {p: i for i, p in enumerate(parts)}
    pos = {c.number: (LEFT + c.col * COL_W, TOP + rows[c.part] * ROW_H) for c in chapters}
    height = TOP + len(parts) * ROW_H
    out = [
        f'<svg class="ptdl-course-map wide" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="ptdl-map-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="ptdl-map-title">Chapters of the course and the chapters each builds on</title>',
        '<defs><marker id="ptdl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="edge-head"/>'
        "</marker></defs>",
    ]
    for part, i in rows.items():  # a band per part, its numeral in the margin
        y = TOP + i * ROW_H
        out.append(
            f'<rect class="band" x="0" y="{y - 17}" width="{WIDTH}" height="{BOX_H + 34}" rx="6">'
            f"<title>Part {html.escape(part)}: {html.escape(parts[part])}</title></rect>"
        )
        out.append(f'<text class="part" x="4" y="{y + BOX_H / 2 + 5}">{html.escape(part)}</text>')
    row_of = {c.number: rows[c.part] for c in chapters}
    col_of = {c.number: c.col for c in chapters}
    arrows = drawn_needs(chapters)
    blocked: dict[int, set[int]] = {}  # row -> gutters that an arrow within the row crosses
    for c in chapters:
        for n in arrows[c.number]:
            if row_of[n] == row_of[c.number]:
                lo, hi = sorted((col_of[n], c.col))
                blocked.setdefault(row_of[n], set()).update(range(lo + 1, hi + 1))
    skip = 0
    for c in chapters:  # edges first, so that boxes sit on top of them
        for n in arrows[c.number]:
            gutter = _gutter(row_of, col_of, blocked, n, c.number)
            out.append(
                f'<path class="edge" d="{_edge(pos, row_of, col_of, n, c.number, skip, gutter)}" '
                'marker-end="url(#ptdl-arrow)"/>'
            )
            skip += row_of[c.number] - row_of[n] > 1
    for c in chapters:
        x, y = pos[c.number]
        status = "exists" if c.docname else "planned"
        box = [f'<rect class="box {status}" x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>']
        lines = _wrap(c.label, WIDE_CHARS)
        y0 = y + BOX_H / 2 - 8 * (len(lines) - 1) + 5
        for k, text in enumerate(lines):
            box.append(f'<text class="title {status}" x="{x + BOX_W / 2}" y="{y0 + 16 * k}">{html.escape(text)}</text>')
        if not c.docname:
            box.append(f'<text class="note" x="{x + BOX_W - 8}" y="{y + 13}">planned</text>')
        group = f"<title>{html.escape(f'{c.number}. {c.title}')}</title>" + "".join(box)
        if c.number in href:
            group = f'<a href="{html.escape(href[c.number])}">{group}</a>'
        out.append(f'<g class="chapter">{group}</g>')
    out.append("</svg>")
    return "\n".join(out)


NARROW_W, NARROW_BOX, NARROW_ROW, NARROW_X = 400, 250, 54, 30


def svg_narrow(parts: dict[str, str], chapters: list[Chapter], href: dict[int, str]) -> str:
    """The same graph for phones: one chapter per row, arrows as arcs on the right."""
    order = sorted(chapters, key=lambda c: c.number)
    row = {c.number: i for i, c in enumerate(order)}
    height = 16 + len(order) * NARROW_ROW
    out = [
        f'<svg class="ptdl-course-map narrow" viewBox="0 0 {NARROW_W} {height}" role="img" '
        'aria-label="Chapters of the course and the chapters each builds on" xmlns="http://www.w3.org/2000/svg">',
        '<defs><marker id="ptdl-arrow-n" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="edge-head"/></marker></defs>',
    ]
    for part in parts:  # a band for each part's consecutive rows
        rows = [row[c.number] for c in order if c.part == part]
        if rows:
            y0, y1 = 8 + min(rows) * NARROW_ROW, 8 + (max(rows) + 1) * NARROW_ROW
            out.append(f'<rect class="band" x="0" y="{y0 + 2}" width="{NARROW_W}" height="{y1 - y0 - 4}" rx="6"/>')
            out.append(f'<text class="part" x="4" y="{(y0 + y1) / 2 + 5}">{html.escape(part)}</text>')
    right = NARROW_X + NARROW_BOX
    arrows = drawn_needs(chapters)
    for c in order:
        for n in arrows[c.number]:
            ya, yb = 8 + row[n] * NARROW_ROW + NARROW_ROW / 2, 8 + row[c.number] * NARROW_ROW + NARROW_ROW / 2
            reach = 12 + 10 * (row[c.number] - row[n])
            out.append(
                f'<path class="edge" d="M{right},{ya - 4} C{right + reach},{ya - 4} {right + reach},{yb + 4} '
                f'{right + 2},{yb + 4}" marker-end="url(#ptdl-arrow-n)"/>'
            )
    for c in order:
        y = 8 + row[c.number] * NARROW_ROW + 6
        status = "exists" if c.docname else "planned"
        lines = _wrap(c.label, NARROW_CHARS)
        box = [
            f'<rect class="box {status}" x="{NARROW_X}" y="{y}" width="{NARROW_BOX}" height="{NARROW_ROW - 12}" rx="8"/>'
        ]
        for k, line in enumerate(lines):
            ty = y + (NARROW_ROW - 12) / 2 + 5 - 8 * (len(lines) - 1) + 16 * k
            box.append(
                f'<text class="title {status}" x="{NARROW_X + NARROW_BOX / 2}" y="{ty}">{html.escape(line)}</text>'
            )
        if not c.docname:
            box.append(f'<text class="note" x="{NARROW_X + NARROW_BOX - 6}" y="{y + 11}">planned</text>')
        group = f"<title>{html.escape(f'{c.number}. {c.title}')}</title>" + "".join(box)
        if c.number in href:
            group = f'<a href="{html.escape(href[c.number])}">{group}</a>'
        out.append(f'<g class="chapter">{group}</g>')
    out.append("</svg>")
    return "\n".join(out)


def _link(chapter: Chapter, text: str) -> nodes.Node:
    if not chapter.docname:
        return nodes.inline("", text, classes=["ptdl-planned"])
    return addnodes.pending_xref(
        "",
        nodes.inline("", text),
        refdomain="std",
        reftype="doc",
        reftarget="/" + chapter.docname,
        refexplicit=True,
        refwarn=True,
    )


class CourseMap(SphinxDirective):
    """Render the course map from the YAML body (see the module docstring)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        parts, chapters, paths = parse("\n".join(self.content), set(self.env.found_docs))
        builder = self.env.app.builder
        href = {c.number: builder.get_relative_uri(self.env.docname, c.docname) for c in chapters if c.docname}
        figure = nodes.raw(
            "",
            f'<div class="ptdl-course-map-wrap">{svg(parts, chapters, href)}{svg_narrow(parts, chapters, href)}</div>',
            format="html",
        )
        by_number = {c.number: c for c in chapters}
        path_list = nodes.bullet_list()
        for path in paths:
            para = nodes.paragraph("", "", nodes.strong("", path["name"] + ". "), nodes.Text(path["about"] + " "))
            for k, n in enumerate(path["chapters"]):
                if k:
                    para += nodes.Text(" → ")
                para += _link(by_number[n], str(n))
            path_list += nodes.list_item("", para)
        table = self._table(parts, chapters)
        legend = []
        if any(not c.docname for c in chapters):
            legend = [nodes.paragraph("", "Dashed boxes are chapters not written yet.")]
        return [
            figure,
            *legend,
            nodes.rubric("", "Suggested paths"),
            path_list,
            nodes.rubric("", "All chapters"),
            table,
        ]

    def _table(self, parts: dict[str, str], chapters: list[Chapter]) -> nodes.table:
        planned = any(not c.docname for c in chapters)  # a status column only while some are planned
        header = ("Chapter", "Part", "Builds on", "Status")[: 4 if planned else 3]
        table, group = nodes.table(classes=["ptdl-course-table"]), nodes.tgroup(cols=len(header))
        table += group
        for width in (40, 35, 12, 13)[: len(header)]:
            group += nodes.colspec(colwidth=width)
        head, body = nodes.thead(), nodes.tbody()
        group += head
        group += body
        head += nodes.row("", *[nodes.entry("", nodes.paragraph("", h)) for h in header])
        by_number = {c.number: c for c in chapters}
        for c in chapters:
            needs = nodes.paragraph()
            for k, n in enumerate(c.needs):
                if k:
                    needs += nodes.Text(", ")
                needs += _link(by_number[n], str(n))
            if not c.needs:
                needs += nodes.Text("—")
            cells = [
                nodes.paragraph("", "", _link(c, f"{c.number}. {c.title}")),
                nodes.paragraph("", f"{c.part}. {parts[c.part]}"),
                needs,
                nodes.paragraph("", "available" if c.docname else "planned"),
            ][: len(header)]
            body += nodes.row("", *[nodes.entry("", cell) for cell in cells])
        return table


def setup(app: Any) -> None:
    app.add_directive("course-map", CourseMap)
