"""Every number the text states is one the notebook prints: a check on executed notebooks.

    python tests/prose_numbers.py EXECUTED.ipynb [...]      # exit 0: every number checks
    python tests/prose_numbers.py --numbers chapters/10_x/numbers.toml EXECUTED.ipynb

Exit status 1 and one line per offender (notebook, cell, the number in the text, the nearest
printed value) otherwise; 2 on a bad argument or a malformed ``numbers.toml``. The test suite
calls :func:`check_notebook` on each notebook it executes (``tests/test_notebooks.py``).

**Scope: the numbers that are checked.** In every markdown cell, in plain text, inline math
(``$...$``, the ``{math}`` role) and display math (``$$...$$``, ``{math}`` directives):

- every decimal number with three or more significant digits (``0.283``, ``2.269``, ``12.2``,
  ``1.20``; leading zeros do not count, written trailing zeros do), also in scientific form
  (``1.23e-4``, ``1.23 \\times 10^{-4}``, ``1.23 × 10⁻⁴``; the mantissa's digits count) and as a
  percentage (``96.5 %``, ``96.5\\%``);
- every integer of three or more digits (``380``, ``10,870``, ``10{,}870``, ``10\\,870``): a
  measured count ("medians of 10,870 sweeps", "B = 380") changed by one digit must be caught,
  so parameters written in the text (``n = 1000``, ``L = 128``) are listed in ``numbers.toml``
  or printed;
- every number in a ``±`` expression (``a ± b``, ``a \\pm b``, ``a +- b``, ``a +/- b``): both
  ``a`` and ``b`` whatever their digits; after a bare ``±`` (no number before it) the number is
  checked when it has a decimal point (``$\\pm 0.6$``), not when it is an integer (``s = \\pm 1``).

Signs are ignored (``−0.22``, with a unicode or ASCII minus, is checked as 0.22): a wrong digit is
caught, a wrong sign is not.

**Not checked, automatically:** code spans and code blocks (so also roles such as
``{cite:p}`key```, ``{ref}``, ``{term}``; but the ``{math}`` role's content is math and is
checked), link targets ``](...)``, URLs, HTML tags, label lines ``(name)=``, directive option
lines (``:label:``, ``:width: 80%``), ``\\label``/``\\tag``/``\\ref`` in math, subscripts
(``\\tau_{256}``, ``x_1``), digits inside words (``ch03``, ``L2``), version numbers with two dots
(``2.13.0``) or after "Python"/"version", numbers after Figure/Fig./Table/Exercise/Section/
Chapter/Part/Eq./Equation (cross-references), and years in citations (1900-2099 right after a
capitalised name or "et al.", as in "Gromov (2023)", "Raventós et al. 2023", or closing a
parenthesis after a comma, "(Melbourne, 2021)").

**Matching.** A number in the text is supported when some output of the same notebook (stream
text, ``text/plain``, ``text/markdown``, ``text/latex``, and ``text/html`` with its tags stripped,
e.g. a pandas table) shows it at the text's precision: the printed value, rounded to the text's
last written digit (half up or half to even), equals the text's number, and the printed value has
at least that many digits. Rounding is allowed, truncation is not: printed 0.2838 supports 0.284
but not 0.283, and printed 0.28 never supports 0.283. An integer's precision is its last nonzero
digit (printed 383 supports "380"; "381" needs 381 printed, or 380.6). A percentage matches a
printed fraction up to 1 and the other way round (printed 0.965 supports "96.5 %"). For
``a ± b``: when the notebook prints a pair ``A ± B`` (or ``A +- B``, ``A +/- B``) whose ``A``
supports ``a``, some printed pair must support both ``a`` and ``b``; otherwise ``a`` and ``b``
must be printed in one output, ``b`` at most :data:`PAIR_WINDOW` characters after ``a`` ("mean
9.19, standard error 0.19"); when either is listed in ``numbers.toml``, each is checked alone.

**Exceptions: ``numbers.toml``.** A number in the text that is not a measurement of this
notebook (an exact constant, a parameter, a value quoted from a paper) is listed, with its
source, in ``numbers.toml`` in the chapter's folder::

    [[number]]
    value = "0.966"                   # as written in the text (a string: precision matters)
    source = "0.5**(1/20), exact"
    notebook = "07a_plateau.ipynb"    # optional: only in this notebook of the chapter

A listed value exempts every number of that value (and precision) in the chapter's text (or in
that notebook). The check fails on a listed value that no longer appears in the chapter's checked
text (the markdown of every notebook in the folder), so the list cannot rot. The notebooks
themselves carry no roles or placeholders: they read as plain text in JupyterLab and Colab.

**Mutation robustness and its trade-off.** Changing one digit of a checked number in the text
makes the check fail unless the changed number is itself printed by the notebook (at the text's
precision) or listed. ``tests/test_prose_numbers.py`` mutates every checked number of a fixture
notebook and asserts each mutation is caught; ``python tests/prose_numbers.py --mutate EXECUTED
...`` measures the catch rate on real executed chapters (each checked number's last digit moved
by ±1). Matching is against all outputs of the notebook, not only those of the same section: a
summary quotes numbers printed sections earlier, and an author who must print a number again to
quote it prints it next to the claim anyway. The price: a mutation that lands on a value the
notebook prints elsewhere (a neighbouring table entry, a threshold such as 1.01) escapes. On the
eleven chapters as of main babf04a, 356 of 398 last-digit mutations (89.4 %) were caught; moving
any digit by one, 91 % of the mutations of decimals and 81 % of those of integers (mostly round
parameters such as 200 -> 300, where 300 is printed too). Two tightenings were measured and not
adopted: support only from outputs in the same or an earlier section (+0.5 points, 4 new
offenders, all previews in a chapter's opening) and printed precision at most one digit finer
than the text's (+0.7 points, 14 new offenders, all correct roundings).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
TOML_NAME = "numbers.toml"

# ---------------------------------------------------------------------------------------------
# Reading a number

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SEP = r"(?:,|\{,\}|\\,|[\u2009\u202f\u00a0])"  # thousands separators: 10,870 10{,}870 10\,870
_MINUS = "\\-\u2212"  # for character classes: a hyphen (escaped) and U+2212

NUMBER = re.compile(
    rf"""
    (?<![\w.\\])(?<!_\{{)                                # not inside a word, a number or a subscript
    (?P<int>[1-9]\d{{0,2}}(?:{_SEP}\d{{3}})+(?!\d)|\d+)
    (?P<frac>\.\d+)?
    (?P<exp>
        [eE][+{_MINUS}]?\d+(?![\w.])
      | \s*(?:\\times|×|\\cdot|·|x)\s*10\s*(?:\^\s*(?:\{{\s*[+{_MINUS}]?\s*\d+\s*\}}|[+{_MINUS}]?\d)|[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
    )?
    (?P<pct>\s*(?:\\,|~|[\u2009\u202f\u00a0])?\s*\\?%)?
    """,
    re.VERBOSE,
)
_PM = re.compile(r"\s*(?:±|\\pm(?![A-Za-z])|\+/-|\+-)\s*")
_PM_END = re.compile(r"(?:±|\\pm|\+/-|\+-)\s*$")


@dataclass(frozen=True)
class Number:
    """One number as written: its absolute value, the unit of its last digit, and where it is."""

    text: str
    value: Decimal
    quantum: Decimal
    digits: int  # significant digits as written
    decimal: bool  # written with a decimal point or as a power of ten
    percent: bool
    start: int
    end: int


def _exponent(exp: str | None) -> int:
    if not exp:
        return 0
    exp = exp.translate(_SUPERSCRIPT).replace("\u2212", "-")
    if exp[0] in "eE":
        return int(exp[1:])
    power = re.search(r"10\s*(.*)$", exp, re.S)
    assert power is not None
    tail = re.sub(r"[\s{}^]", "", power.group(1))
    return int(tail)


def parse_match(m: re.Match[str]) -> Number:
    """The :class:`Number` of a match of :data:`NUMBER`."""
    whole = re.sub(_SEP, "", m.group("int"))
    frac = (m.group("frac") or "")[1:]
    exp = _exponent(m.group("exp"))
    mantissa = Decimal(f"{whole}.{frac}" if frac else whole)
    digits_str = (whole + frac).lstrip("0")
    if frac:
        quantum_exp = -len(frac)
        digits = len(digits_str) or 1
    else:
        stripped = whole.rstrip("0")
        quantum_exp = len(whole) - len(stripped) if stripped else 0
        digits = len(digits_str.rstrip("0")) if not m.group("exp") else len(digits_str)
        if m.group("exp"):  # "2 \times 10^{-5}": its last digit is the mantissa's
            quantum_exp = 0
        digits = max(digits, 1)
    value = mantissa.scaleb(exp)
    return Number(
        text=m.group(0).strip(),
        value=abs(value),
        quantum=Decimal(1).scaleb(quantum_exp + exp),
        digits=len(whole) if (not frac and not m.group("exp")) else digits,
        decimal=bool(frac) or bool(m.group("exp")),
        percent=bool(m.group("pct")),
        start=m.start(),
        end=m.end(),
    )


def numbers_in(text: str) -> list[Number]:
    """Every number written in ``text`` (masked text: positions are those of the original)."""
    found = []
    for m in NUMBER.finditer(text):
        if text[m.end() : m.end() + 2].startswith(".") and text[m.end() + 1 : m.end() + 2].isdigit():
            continue  # a version number such as 2.13.0
        found.append(parse_match(m))
    return found


# ---------------------------------------------------------------------------------------------
# Masking what is not prose (length-preserving, so positions stay those of the source)


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _blank_all(text: str, pattern: re.Pattern[str] | str, group: int = 0) -> str:
    for m in list(re.finditer(pattern, text)):
        text = _blank(text, m.start(group), m.end(group))
    return text


_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{[\w:-]+\})?(.*)$")
_CODE_DIRECTIVES = {"{code-cell}", "{code-block}", "{code}", "{literalinclude}", "{raw}", "{glue}"}
_OPTION = re.compile(r"^\s*:[\w-]+:(\s.*)?$")


def mask(source: str) -> str:
    """``source`` with everything that is not prose or math blanked out (same length)."""
    text = _mask_fences(source)
    # roles and code spans: {math}`x` keeps x; other spans go
    for m in list(re.finditer(r"(\{[\w:-]+\})?(?<!`)(`+)(?!`)(.+?)(?<!`)\2(?!`)", text, re.S)):
        if m.group(1) == "{math}":
            text = _blank(text, m.start(1), m.start(3))
            text = _blank(text, m.end(3), m.end())
        else:
            text = _blank(text, m.start(), m.end())
    text = _blank_all(text, r"\]\([^)\s]*\)")  # link targets
    text = _blank_all(text, r"(?m)^\s*\[[^\]\n]+\]:\s*\S+.*$")  # link definitions
    text = _blank_all(text, r"<?https?://[^\s)>]+>?")
    text = _blank_all(text, r"(?m)^\s*\([\w:.-]+\)=\s*$")  # labels
    text = _blank_all(text, r"</?[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")  # HTML tags
    text = _blank_all(text, r"\\(?:label|tag|ref|eqref|cite\w*)\s*\{[^}]*\}")
    # macros: \pm, \times and \cdot become symbols the number pattern reads; others go
    for m in list(re.finditer(r"\\[A-Za-z]+", text)):
        name = m.group(0)
        if name in ("\\pm", "\\times", "\\cdot"):
            continue
        text = _blank(text, m.start(), m.end())
    return text


def _mask_fences(source: str) -> str:
    # a directive's name and options go, its title and body stay; code blocks go whole
    depth = 0
    lines = source.split("\n")
    out = []
    code_fence: str | None = None
    options = False
    for line in lines:
        blank = re.sub(r"[^\n]", " ", line)
        if code_fence is not None:
            out.append(blank)
            stripped = line.strip()
            if stripped and set(stripped) == {code_fence[0]} and len(stripped) >= len(code_fence):
                code_fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence, directive, rest = m.group(2), m.group(3), m.group(4)
            if directive is None:
                if rest.strip() == "" and depth > 0:
                    depth -= 1  # closes a directive
                    out.append(blank)
                elif fence[0] == ":" or rest.strip() != "" or depth == 0:
                    code_fence = fence if fence[0] != ":" else None
                    out.append(blank)
            elif directive in _CODE_DIRECTIVES:
                code_fence = fence
                out.append(blank)
            else:
                depth += 1
                keep = len(m.group(0)) - len(rest)
                out.append(" " * keep + rest)
                options = True
            continue
        if options and (_OPTION.match(line) or line.strip() == "---"):
            out.append(blank)
            continue
        options = False
        out.append(line)
    return "\n".join(out)


_REFERENCE = re.compile(
    r"(?:\b(?:Figures?|Figs?\.|Tables?|Exercises?|Sections?|Sec\.|Chapters?|Ch\.|Parts?|Eqs?\.|Equations?|"
    r"Python|version|v)|§)\s*\(?$",
    re.IGNORECASE,
)
_YEAR_BEFORE = re.compile(r"(?:\b[A-ZÀ-Þ][^\s\d()]*|\bet al\.)\s*,?\s*\(?$")


def _is_excluded(masked: str, n: Number) -> bool:
    before = masked[max(0, n.start - 40) : n.start]
    before_line = before.split("\n")[-1]
    if _REFERENCE.search(before_line):
        return True
    if before_line.endswith("_"):
        return True  # x_1
    if not n.decimal and 1900 <= n.value <= 2099 and n.quantum == 1:
        after = masked[n.end : n.end + 2]
        if _YEAR_BEFORE.search(before_line) or (re.search(r",\s*$", before_line) and after.startswith(")")):
            return True
    return False


@dataclass(frozen=True)
class Claim:
    """A checked number of the text (``error`` set for ``a ± b``; ``value`` None for a bare ``± b``)."""

    cell: int
    value: Number | None
    error: Number | None = None

    @property
    def text(self) -> str:
        if self.error is None:
            assert self.value is not None
            return self.value.text
        head = f"{self.value.text} ± " if self.value is not None else "± "
        return head + self.error.text

    @property
    def parts(self) -> list[Number]:
        return [n for n in (self.value, self.error) if n is not None]


def _in_scope(n: Number) -> bool:
    if n.decimal:
        return n.digits >= 3
    return n.value >= 100  # an integer of three or more digits (not 000)


def claims_in_cell(source: str, cell: int) -> list[Claim]:
    """The checked numbers of one markdown cell's source, in order."""
    masked = mask(source)
    nums = [n for n in numbers_in(masked) if not _is_excluded(masked, n)]
    claims: list[Claim] = []
    used: set[int] = set()
    for i, n in enumerate(nums):
        if i in used:
            continue
        nxt = nums[i + 1] if i + 1 < len(nums) else None
        if nxt is not None and _PM.fullmatch(masked[n.end : nxt.start]):
            claims.append(Claim(cell, n, nxt))
            used.add(i + 1)
            continue
        if _PM_END.search(masked[max(0, n.start - 8) : n.start]) and n.decimal:
            claims.append(Claim(cell, None, n))
            continue
        if _in_scope(n):
            claims.append(Claim(cell, n))
    return claims


def markdown_cells(nb: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            src = cell["source"]
            yield i, src if isinstance(src, str) else "".join(src)


def claims_in(nb: Mapping[str, Any]) -> list[Claim]:
    """Every checked number in the markdown cells of a notebook."""
    return [c for i, src in markdown_cells(nb) for c in claims_in_cell(src, i)]


# ---------------------------------------------------------------------------------------------
# What the notebook printed


@dataclass(frozen=True)
class Printed:
    """A number some output shows, with the unit of its last digit."""

    text: str
    value: Decimal
    quantum: Decimal
    percent: bool
    cell: int
    output: int  # which output text (counted over the notebook) shows it
    start: int  # where in that text


def _output_texts(nb: Mapping[str, Any]) -> Iterator[tuple[int, str]]:
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                yield i, _joined(out.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                data = out.get("data", {})
                for mime in ("text/plain", "text/markdown", "text/latex"):
                    if mime in data:
                        yield i, _joined(data[mime])
                if "text/html" in data:
                    # scripts and styles are not printed text (a utils.controls figure carries its
                    # frames as base64 in a script)
                    html = re.sub(r"<(script|style)\b.*?</\1>", " ", _joined(data["text/html"]), flags=re.S)
                    html = re.sub(r"<[^>]*>", " ", html)
                    yield i, html.replace("&nbsp;", " ").replace("&plusmn;", "±").replace("&minus;", "-")


def _joined(text: str | Sequence[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


_PRINTED_NUMBER = re.compile(
    rf"""
    (?<![\w.])
    (?P<int>[1-9]\d{{0,2}}(?:,\d{{3}})+(?![\d.])|\d+)
    (?P<frac>\.\d*)?
    (?P<exp>[eE][+{_MINUS}]?\d+)?
    (?P<pct>\s?%)?
    """,
    re.VERBOSE,
)


@dataclass
class PrintedNumbers:
    """Every number printed by a notebook, and the printed ``A ± B`` pairs."""

    numbers: list[Printed] = field(default_factory=list)
    pairs: list[tuple[Printed, Printed]] = field(default_factory=list)


def printed_numbers(nb: Mapping[str, Any]) -> PrintedNumbers:
    """Collect the numbers in every output of an executed notebook."""
    found = PrintedNumbers()
    for output, (cell, text) in enumerate(_output_texts(nb)):
        previous: tuple[Printed, int] | None = None
        for m in _PRINTED_NUMBER.finditer(text):
            whole = m.group("int").replace(",", "")
            frac = (m.group("frac") or ".")[1:]
            exp = int(m.group("exp")[1:].replace("\u2212", "-")) if m.group("exp") else 0
            mantissa = Decimal(f"{whole}.{frac}" if frac else whole)
            p = Printed(
                text=m.group(0).strip(),
                value=mantissa.scaleb(exp),
                quantum=Decimal(1).scaleb(-len(frac) + exp),
                percent=bool(m.group("pct")),
                cell=cell,
                output=output,
                start=m.start(),
            )
            found.numbers.append(p)
            if previous is not None and _PM.fullmatch(text[previous[1] : m.start()]):
                found.pairs.append((previous[0], p))
            previous = (p, m.end())
    return found


# ---------------------------------------------------------------------------------------------
# Matching


def _candidates(n: Number, p: Printed) -> Iterator[tuple[Decimal, Decimal]]:
    """The printed value (and its quantum) in the text's units: as printed, or as a percentage."""
    yield p.value, p.quantum
    if n.percent and not p.percent and p.value <= 1:  # a fraction
        yield p.value * 100, p.quantum * 100
    if p.percent and not n.percent and p.value <= 100:
        yield p.value / 100, p.quantum / 100


def supports(p: Printed, n: Number) -> bool:
    """Whether printed ``p``, rounded to the text's last digit, is the text's number ``n``."""
    for value, quantum in _candidates(n, p):
        if quantum > n.quantum:
            continue
        for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
            try:
                if value.quantize(n.quantum, rounding=rounding) == n.value:
                    return True
            except InvalidOperation:  # pragma: no cover  (absurd exponents)
                continue
    return False


def _distance(n: Number, p: Printed) -> Decimal:
    return min(abs(value - n.value) for value, _ in _candidates(n, p))


def nearest(n: Number, printed: Sequence[Printed]) -> Printed | None:
    """The printed number closest in value to ``n`` (None when nothing was printed)."""
    return min(printed, key=lambda p: _distance(n, p), default=None)


@dataclass(frozen=True)
class Exception_:
    """One entry of ``numbers.toml``."""

    value: Number
    source: str
    notebook: str | None
    raw: str


class NumbersTomlError(ValueError):
    """``numbers.toml`` is malformed."""


def read_numbers_toml(path: Path) -> list[Exception_]:
    """The entries of a ``numbers.toml`` (``[[number]]`` tables with ``value``, ``source``, ``notebook``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise NumbersTomlError(f"{path}: not valid TOML: {err}") from err
    unknown = set(data) - {"number"}
    if unknown:
        raise NumbersTomlError(f"{path}: unknown top-level keys {sorted(unknown)}; use [[number]] tables")
    entries = []
    for k, entry in enumerate(data.get("number", [])):
        where = f"{path}: [[number]] #{k + 1}"
        extra = set(entry) - {"value", "source", "notebook"}
        if extra:
            raise NumbersTomlError(f"{where}: unknown keys {sorted(extra)} (value, source, notebook)")
        value, source = entry.get("value"), entry.get("source")
        if not isinstance(value, str):
            raise NumbersTomlError(f'{where}: value must be a string as written in the text, e.g. value = "0.966"')
        if not isinstance(source, str) or not source.strip():
            raise NumbersTomlError(f"{where}: source must say where {value} comes from")
        notebook = entry.get("notebook")
        if notebook is not None and not isinstance(notebook, str):
            raise NumbersTomlError(f"{where}: notebook must be a file name")
        parsed = numbers_in(value.strip())
        if len(parsed) != 1 or parsed[0].text != value.strip():
            raise NumbersTomlError(f"{where}: value {value!r} is not one number")
        entries.append(Exception_(parsed[0], source, notebook, value.strip()))
    return entries


def _listed(n: Number, entries: Iterable[Exception_], notebook: str) -> bool:
    return any(
        e.value.value == n.value and e.value.quantum == n.quantum and e.notebook in (None, notebook) for e in entries
    )


@dataclass(frozen=True)
class Offender:
    """A number of the text that the notebook does not print, or a stale entry of ``numbers.toml``."""

    notebook: str
    cell: int | None
    text: str
    nearest: str

    def __str__(self) -> str:
        if self.cell is None:
            return f"{self.notebook}: {self.text}"
        return f"{self.notebook}: cell {self.cell}: {self.text!r} is not printed (nearest printed: {self.nearest})"


def _check_claim(claim: Claim, printed: PrintedNumbers, entries: Sequence[Exception_], name: str) -> Offender | None:
    def ok(n: Number) -> bool:
        return _listed(n, entries, name) or any(supports(p, n) for p in printed.numbers)

    if claim.value is not None and claim.error is not None:
        a, b = claim.value, claim.error
        if _listed(a, entries, name) and ok(b):
            return None
        pairs = [(pa, pb) for pa, pb in printed.pairs if supports(pa, a)]
        if pairs:
            if any(supports(pb, b) for _, pb in pairs):
                return None
            best = min(pairs, key=lambda pair: _distance(b, pair[1]))
            return Offender(name, claim.cell, claim.text, f"{best[0].text} ± {best[1].text}")
        if _listed(a, entries, name) or _listed(b, entries, name):
            if ok(a) and ok(b):
                return None
        elif _printed_together(a, b, printed.numbers):
            return None
        if ok(a) and ok(b):
            return Offender(name, claim.cell, claim.text, f"{a.text} and {b.text} printed apart, not as a pair")
        bad = a if not ok(a) else b
        near = nearest(bad, printed.numbers)
        return Offender(name, claim.cell, claim.text, f"{near.text}, for {bad.text}" if near else "nothing printed")
    (n,) = claim.parts
    if ok(n):
        return None
    near = nearest(n, printed.numbers)
    return Offender(name, claim.cell, claim.text, near.text if near else "nothing printed")


#: Printed "a" and "b" of a claim "a ± b" that the notebook does not print as a pair must come from
#: one output, "b" after "a" and at most this many characters later ("mean 9.19, std err 0.19").
PAIR_WINDOW = 120


def _printed_together(a: Number, b: Number, printed: Sequence[Printed]) -> bool:
    for pa in printed:
        if supports(pa, a):
            for pb in printed:
                if pb.output == pa.output and 0 < pb.start - pa.start <= PAIR_WINDOW and supports(pb, b):
                    return True
    return False


def numbers_toml_for(notebook: Path) -> Path | None:
    """The ``numbers.toml`` of an (executed) notebook's chapter: beside it, or in ``chapters/<its folder>``."""
    for folder in (notebook.parent, CHAPTERS / notebook.parent.name):
        if (folder / TOML_NAME).is_file():
            return folder / TOML_NAME
    return None


def chapter_texts(toml_path: Path, fallback: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The notebooks whose markdown a ``numbers.toml`` covers: every notebook in its folder."""
    found = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(toml_path.parent.glob("*.ipynb"))}
    return found or dict(fallback)


def stale_entries(
    toml_path: Path, entries: Sequence[Exception_], notebooks: Mapping[str, Mapping[str, Any]]
) -> list[Offender]:
    """Entries of ``numbers.toml`` whose value no longer appears in the checked text they cover."""
    written: dict[str, list[Number]] = {
        name: [n for claim in claims_in(nb) for n in claim.parts] for name, nb in notebooks.items()
    }
    stale = []
    for e in entries:
        names = [e.notebook] if e.notebook else list(written)
        if e.notebook and e.notebook not in written:
            stale.append(
                Offender(str(toml_path), None, f"lists {e.raw!r} for {e.notebook}, which is not in the chapter", "-")
            )
            continue
        if not any(n.value == e.value.value and n.quantum == e.value.quantum for name in names for n in written[name]):
            where = e.notebook or "the chapter's text"
            stale.append(
                Offender(
                    str(toml_path), None, f"lists {e.raw!r} ({e.source}), no longer a checked number of {where}", "-"
                )
            )
    return stale


def check_notebook(
    nb: Mapping[str, Any], *, name: str, numbers_toml: Path | None = None, check_toml: bool = True
) -> list[Offender]:
    """The offenders of one executed notebook (empty when every checked number is printed or listed).

    ``name`` is the notebook's file name (as ``numbers.toml`` entries name it); ``numbers_toml``
    is its chapter's list of exceptions (None: no exceptions); ``check_toml`` also reports the
    list's stale entries (across all notebooks of the list's folder).
    """
    entries = read_numbers_toml(numbers_toml) if numbers_toml is not None else []
    printed = printed_numbers(nb)
    offenders = [o for claim in claims_in(nb) if (o := _check_claim(claim, printed, entries, name)) is not None]
    if check_toml and numbers_toml is not None:
        offenders += stale_entries(numbers_toml, entries, chapter_texts(numbers_toml, {name: nb}))
    return offenders


def check_path(path: Path, numbers_toml: Path | None = None) -> list[Offender]:
    """:func:`check_notebook` on an executed notebook file (``numbers.toml`` found from its folder)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    toml = numbers_toml if numbers_toml is not None else numbers_toml_for(path)
    return check_notebook(nb, name=path.name, numbers_toml=toml)


# ---------------------------------------------------------------------------------------------
# Mutation: how many one-digit changes of the text the check catches


def _last_digit_index(text: str, n: Number) -> int:
    """Index (in the cell source) of the last digit of ``n``'s mantissa."""
    span = text[n.start : n.end]
    m = re.match(r"[\d,{}\\\u2009\u202f\u00a0.]*\d", span)
    assert m is not None
    return n.start + m.end() - 1


def mutations(nb: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], int, str]]:
    """Copies of ``nb`` with one checked number's last digit moved by ±1: (notebook, cell, what changed)."""
    for cell, src in markdown_cells(nb):
        for claim in claims_in_cell(src, cell):
            for n in claim.parts:
                at = _last_digit_index(src, n)
                digit = int(src[at])
                for new in (digit - 1, digit + 1):
                    if not 0 <= new <= 9:
                        continue
                    changed = src[:at] + str(new) + src[at + 1 :]
                    copy = json.loads(json.dumps(nb))
                    copy["cells"][cell]["source"] = changed
                    yield copy, cell, f"{src[n.start : n.end].strip()} -> {changed[n.start : n.end].strip()}"


def mutation_report(path: Path) -> tuple[int, int, list[str]]:
    """Mutate each checked number of a passing notebook; return (mutations, caught, escapes)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    toml = numbers_toml_for(path)
    baseline = {(o.cell, o.text) for o in check_notebook(nb, name=path.name, numbers_toml=toml, check_toml=False)}
    total = caught = 0
    escapes = []
    for copy, cell, change in mutations(nb):
        before_text = change.split(" -> ")[0]
        if any(c == cell and before_text in t for c, t in baseline):
            continue  # already an offender: a mutation of it says nothing
        total += 1
        found = {(o.cell, o.text) for o in check_notebook(copy, name=path.name, numbers_toml=toml)}
        if found - baseline:
            caught += 1
        else:
            escapes.append(f"{path.name}: cell {cell}: {change}")
    return total, caught, escapes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="executed notebooks (.ipynb with outputs)")
    parser.add_argument(
        "--numbers", type=Path, help="the numbers.toml to use (default: found from each notebook's folder)"
    )
    parser.add_argument(
        "--mutate", action="store_true", help="measure how many one-digit changes of the text are caught"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.numbers is not None and not args.numbers.is_file():
        parser.error(f"no such file: {args.numbers}")
    try:
        if args.mutate:
            total = caught = 0
            for path in args.notebooks:
                t, c, escapes = mutation_report(path)
                total, caught = total + t, caught + c
                print(f"{path}: {c}/{t} mutations caught")
                for line in escapes:
                    print(f"  escaped: {line}")
            print(f"caught {caught}/{total} ({100 * caught / max(total, 1):.1f} %)")
            return 0
        offenders = [o for path in args.notebooks for o in check_path(path, args.numbers)]
    except NumbersTomlError as err:
        print(err, file=sys.stderr)
        return 2
    for o in offenders:
        print(o)
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
