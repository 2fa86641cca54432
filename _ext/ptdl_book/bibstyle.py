"""The bibliography style of the book: author-year labels, links, no raw TeX.

The text cites author-year ("Onsager (1944)", via ``bibtex_reference_style:
author_year``), so the bibliography is labelled the same way, "[Onsager, 1944]",
"[Kramers and Wannier, 1941]", "[Wei et al., 2022]", and sorted by author and year.
Every entry with a ``doi`` or ``url`` links to it. TeX math in titles (``{$T_c$}``) is
rendered as text with sub- and superscripts, never as raw ``$T_c$``.

Registered as the pybtex style ``ptdl`` (``bibtex_default_style: ptdl`` in ``_config.yml``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from pybtex.database import Entry, Person
from pybtex.plugin import register_plugin
from pybtex.richtext import BaseMultipartText, BaseText, String, Tag, Text
from pybtex.style import FormattedEntry
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import field, href, join, optional, sentence

#: TeX macros that may appear in titles, and the text they stand for.
TEX_SYMBOLS = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "chi": "χ",
    "omega": "ω",
    "infty": "∞",
    "times": "×",
    "le": "≤",
    "ge": "≥",
}
#: Accents over one letter, as the letter and a Unicode combining mark (``\\widehat{R}`` -> R̂).
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "tilde": "\u0303", "widetilde": "\u0303", "bar": "\u0304"}
_ACCENT = re.compile(r"\\(" + "|".join(ACCENTS) + r")\s*(?:\{([^{}]*)\}|([A-Za-z]))")
_MATH = re.compile(r"\$([^$]*)\$")
_TOKEN = re.compile(r"\\([A-Za-z]+)|([_^])(?:\{([^{}]*)\}|(.))|(.)", re.S)


def _plain(text: str) -> str:
    return "".join(
        TEX_SYMBOLS.get(m.group(1), "\\" + m.group(1)) if m.group(1) else m.group(0)
        for m in re.finditer(r"\\([A-Za-z]+)|.", text, re.S)
    )


def math_to_text(tex: str) -> Text:
    """Inline TeX math as rich text: ``T_c`` -> T<sub>c</sub>, ``\\nu`` -> ν, ``x^{2}`` -> x<sup>2</sup>."""
    tex = _ACCENT.sub(lambda m: (m.group(2) or m.group(3) or "") + ACCENTS[m.group(1)], tex)
    parts: list[BaseText | str] = []
    for m in _TOKEN.finditer(tex):
        macro, script, group, single, char = m.groups()
        if macro:
            parts.append(TEX_SYMBOLS.get(macro, "\\" + macro))
        elif script:
            parts.append(Tag("sub" if script == "_" else "sup", _plain(group if group is not None else single)))
        elif char not in "{}":
            parts.append(char)
    return Text(*parts)


def detex(text: BaseText) -> BaseText:
    """Replace every ``$...$`` inside a rich text by :func:`math_to_text`."""
    if isinstance(text, String):
        pieces = _MATH.split(text.value)
        if len(pieces) == 1:
            return text
        out = [math_to_text(p) if i % 2 else p for i, p in enumerate(pieces) if p]
        return Text(*out)
    if isinstance(text, BaseMultipartText):
        return text._create_similar([detex(p) for p in text.parts])
    return text


def _last_name(person: Person) -> str:
    von_last = " ".join(person.prelast_names + person.last_names)
    return str(Text.from_latex(von_last))


def author_year(entry: Entry) -> str:
    """The author-year label of an entry: "Onsager, 1944", "Kramers and Wannier, 1941", "Wei et al., 2022"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_name(p) for p in people]
    if not names:
        who = str(Text.from_latex(entry.fields.get("organization", entry.fields.get("title", entry.key))))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Author, year"; equal labels get "a", "b", ... after the year."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        labels = [author_year(e) for e in sorted_entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class BookStyle(UnsrtStyle):
    """unsrt's entry layout, with author-year labels and sorting, links and TeX-free titles."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"

    def format_entry(self, label: str, entry: Entry, bib_data=None) -> FormattedEntry:
        formatted = super().format_entry(label, entry, bib_data=bib_data)
        return FormattedEntry(formatted.key, detex(formatted.text), formatted.label)

    def format_web_refs(self, e: Entry):
        # A doi links to doi.org; a url (e.g. a free copy or the arXiv page) links as itself.
        return sentence[optional[self.format_doi(e)], optional[self.format_url(e)], optional[self.format_eprint(e)]]

    def format_url(self, e: Entry):
        url = field("url", raw=True)
        return href(url)[join[field("url", raw=True, apply_func=_short_url)]]


def _short_url(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url)


def setup() -> None:
    """Register the style with pybtex (called from the Sphinx extension's setup)."""
    register_plugin("pybtex.style.formatting", "ptdl", BookStyle, force=True)
    register_plugin("pybtex.style.labels", "ptdl_author_year", AuthorYearLabelStyle, force=True)
