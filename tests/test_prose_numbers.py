"""tests/prose_numbers.py: what it reads in the text, what counts as printed, numbers.toml, mutations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import prose_numbers as pn

HERE = Path(__file__).resolve().parent


def notebook(markdown: list[str], outputs: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """An executed notebook: markdown cells, then one code cell per entry of ``outputs``."""
    cells: list[dict[str, Any]] = [{"cell_type": "markdown", "metadata": {}, "source": md} for md in markdown]
    for outs in outputs:
        cells.append({"cell_type": "code", "metadata": {}, "source": "", "execution_count": 1, "outputs": outs})
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def result(mime: str, text: str) -> dict[str, Any]:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {mime: text}}


def offenders(md: str, printed: str, **kw: Any) -> list[str]:
    nb = notebook([md], [[stream(printed)]])
    return [o.text for o in pn.check_notebook(nb, name="x.ipynb", **kw)]


def texts(md: str) -> list[str]:
    return [c.text for c in pn.claims_in_cell(md, 0)]


# --- what is read ------------------------------------------------------------------------------


def test_scope_decimals_integers_and_pm() -> None:
    md = "p = 0.283, q = 0.28, $r = 12.2$, 1.0, B = 380, 99 runs, 10,870 sweeps, $z = 2.3 \\pm 0.1$"
    assert texts(md) == ["0.283", "12.2", "380", "10,870", "2.3 ± 0.1"]


def test_scientific_notation_percent_and_separators() -> None:
    md = "1.23e-4, $4.56 \\times 10^{-3}$, 7.89 × 10⁻², 96.5 %, $96.5\\%$, $10{,}870$, $10\\,870$, 10\u2009870"
    claims = pn.claims_in_cell(md, 0)
    assert [str(c.value.value) for c in claims if c.value] == [
        "0.000123",
        "0.00456",
        "0.0789",
        "96.5",
        "96.5",
        "10870",
        "10870",
        "10870",
    ]
    assert [c.value.percent for c in claims if c.value][3:5] == [True, True]


def test_signs_and_unicode_minus_are_read_as_absolute_values() -> None:
    assert texts("from −232.1 to $-0.284$ and -1.25") == ["232.1", "0.284", "1.25"]


def test_plus_minus_forms() -> None:
    assert texts("9.19 ± 0.19; 4.1 +- 0.2; 4.1 +/- 0.25; $a = 0.5 \\pm 0.05$") == [
        "9.19 ± 0.19",
        "4.1 ± 0.2",
        "4.1 ± 0.25",
        "0.5 ± 0.05",
    ]
    # a bare ± checks a decimal (a spread), not an exact integer
    assert texts("spins $s = \\pm 1$, spread $\\pm 0.6$") == ["± 0.6"]


def test_what_is_not_prose_is_not_read() -> None:
    md = (
        "Code `x = 0.123` and {cite:p}`foo2009`, {math}`a = 0.555`, $\\tau_{256}$, $x_{128}$, ch003,\n"
        "https://a.org/1.234, [link](https://x.org/0.999), <img src='a.png' width='300'>\n"
        "See [Figure 7.13](#fig-ch07-x), Exercise 10.12, Python 3.11, torch 2.13.0,\n"
        "Gromov (2023), Raventós et al. 2023, (University of Melbourne, 2021), after 1800 steps.\n"
        "$$ F = 0.5417 \\label{eq:1.234} \\tag{3.141} $$\n"
        "(label-1.2345)=\n"
    )
    assert texts(md) == ["0.555", "1800", "0.5417"]


def test_code_blocks_and_directive_options_are_not_read() -> None:
    md = (
        "```python\nx = 1.234\n```\n"
        ":::{exercise} Title with 3.333\n:label: ex-4.444\n:width: 80.5%\n\nBody with 5.555\n:::\n"
        "```{code-cell} python\ny = 6.666\n```\n"
        "````{solution} ex-1\n:class: dropdown\nText 7.777\n```python\nz = 8.888\n```\n````\n"
    )
    assert texts(md) == ["3.333", "5.555", "7.777"]


# --- what counts as printed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prose", "printed", "ok"),
    [
        ("0.284", "0.2838", True),  # rounding
        ("0.283", "0.2838", False),  # truncation is not rounding
        ("0.283", "0.28", False),  # printed at less precision
        ("0.283", "0.283", True),
        ("0.2835", "0.28345", True),  # half up
        ("0.2834", "0.28345", True),  # half to even
        ("380", "383", True),  # an integer's precision is its last nonzero digit
        ("381", "383", False),
        ("381", "380.6", True),
        ("10,870", "10870", True),
        ("10,870", "10,871", True),
        ("1.23e-4", "0.0001234", True),
        ("1.23 × 10⁻⁴", "1.2345e-04", True),
        ("$1.24 \\times 10^{-4}$", "1.2345e-04", False),
        ("96.5 %", "0.965", True),
        ("96.5 %", "0.9655", False),
        ("0.965", "96.5%", True),
        ("232.1", "-232.1", True),
        ("0.0687", "loss=0.068713", True),
        ("12.2", "[11.83 12.21 14.0]", True),
    ],
)
def test_rounding_not_truncation(prose: str, printed: str, ok: bool) -> None:
    assert (offenders(f"It is {prose} here.", printed) == []) is ok


def test_pm_prefers_a_printed_pair() -> None:
    assert offenders("LLC $9.19 \\pm 0.19$", "LLC = 9.191 ± 0.187") == []
    assert offenders("LLC $9.19 \\pm 0.19$", "LLC = 9.19 +- 0.19") == []
    # the printed pair says 0.67: a stray 0.19 elsewhere does not rescue the text
    assert offenders("LLC 9.19 ± 0.19", "LLC = 9.19 ± 0.67, lr 0.19") == ["9.19 ± 0.19"]
    # no pair printed: both parts printed separately is enough
    assert offenders("LLC 9.19 ± 0.19", "mean 9.19\nstd err 0.19") == []
    assert offenders("LLC 9.19 ± 0.19", "mean 9.19") == ["9.19 ± 0.19"]


def test_tables_and_other_outputs_count() -> None:
    html = "<table><tr><td>0.2838</td><td>1,249</td></tr></table>"
    nb = notebook(
        ["Values 0.284 and 1249 and 4.56 and 7.89."], [[result("text/html", html)], [result("text/plain", "4.56")]]
    )
    nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "source": "",
            "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"text/markdown": "**7.89**"}}],
        }
    )
    assert pn.check_notebook(nb, name="x.ipynb") == []


def test_offender_line_names_notebook_cell_number_and_nearest() -> None:
    nb = notebook(["intro", "We find 0.283."], [[stream("a 0.2838, b 0.5")]])
    (o,) = pn.check_notebook(nb, name="07a_x.ipynb")
    assert str(o) == "07a_x.ipynb: cell 1: '0.283' is not printed (nearest printed: 0.2838)"


# --- numbers.toml ------------------------------------------------------------------------------


def write_chapter(tmp_path: Path, md: str, toml: str, printed: str = "nothing") -> Path:
    nb = notebook([md], [[stream(printed)]])
    path = tmp_path / "01_x.ipynb"
    path.write_text(json.dumps(nb))
    (tmp_path / "numbers.toml").write_text(toml)
    return path


def test_numbers_toml_exempts_listed_values(tmp_path: Path) -> None:
    toml = '[[number]]\nvalue = "0.966"\nsource = "0.5**(1/20), exact"\n'
    path = write_chapter(tmp_path, "Need 0.966 per step, not 0.967.", toml)
    assert [o.text for o in pn.check_path(path)] == ["0.967"]


def test_numbers_toml_precision_matters(tmp_path: Path) -> None:
    toml = '[[number]]\nvalue = "0.9660"\nsource = "exact"\n'
    path = write_chapter(tmp_path, "Need 0.966 and 0.9660.", toml)
    assert [o.text for o in pn.check_path(path)] == ["0.966"]


def test_numbers_toml_cannot_rot(tmp_path: Path) -> None:
    toml = '[[number]]\nvalue = "0.966"\nsource = "0.5**(1/20)"\n[[number]]\nvalue = "2.269"\nsource = "T_c"\n'
    path = write_chapter(tmp_path, "Only 2.269 is left.", toml)
    (o,) = pn.check_path(path)
    assert o.cell is None and "'0.966'" in o.text and "no longer" in o.text


def test_numbers_toml_limited_to_a_notebook(tmp_path: Path) -> None:
    toml = '[[number]]\nvalue = "0.966"\nsource = "exact"\nnotebook = "01_other.ipynb"\n'
    path = write_chapter(tmp_path, "Need 0.966.", toml)
    found = [o.text for o in pn.check_path(path)]
    assert "0.966" in found  # not exempt in 01_x.ipynb
    assert any("not in the chapter" in t for t in found)  # and 01_other.ipynb does not exist


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[number]]\nvalue = 0.966\nsource = "x"\n', "value must be a string"),
        ('[[number]]\nvalue = "0.966"\n', "source must say"),
        ('[[number]]\nvalue = "about 0.966"\nsource = "x"\n', "is not one number"),
        ('[[number]]\nvalue = "0.966"\nsource = "x"\nwhy = "y"\n', "unknown keys"),
        ('[[numbers]]\nvalue = "0.966"\n', "unknown top-level keys"),
        ("[[number]\n", "not valid TOML"),
    ],
)
def test_malformed_numbers_toml_is_an_error(tmp_path: Path, toml: str, message: str) -> None:
    path = write_chapter(tmp_path, "Need 0.966.", toml)
    with pytest.raises(pn.NumbersTomlError, match=message):
        pn.check_path(path)


# --- mutations and the command line ------------------------------------------------------------

FIXTURE_MD = [
    "# A chapter\n\nThe accuracy is 0.9134 at $L = 20$ (see `accuracy(0.5)`).",
    "The fit gives $z = 2.17 \\pm 0.08$ and a crossing at\n$$ T^* = 2.2686 \\,, $$\nwith 10,870 sweeps "
    "(median); 96.5 % of runs converge; the loss falls to $1.24 \\times 10^{-3}$.",
    "Spread of the estimates: $\\pm 0.35$; the exact $T_c = 2.269$ (listed).",
]
FIXTURE_OUT = [
    [stream("accuracy 0.91337\n")],
    [stream("z = 2.17 ± 0.08\nT* = 2.26858\nmedian sweeps 10870\n")],
    [result("text/plain", "converged fraction 0.965\nloss 0.0012404\nspread 0.35")],
]


@pytest.fixture
def fixture_chapter(tmp_path: Path) -> Path:
    path = tmp_path / "03_fixture.ipynb"
    path.write_text(json.dumps(notebook(FIXTURE_MD, FIXTURE_OUT)))
    (tmp_path / "numbers.toml").write_text('[[number]]\nvalue = "2.269"\nsource = "2/ln(1+sqrt 2), exact"\n')
    return path


def test_fixture_passes_and_every_mutation_is_caught(fixture_chapter: Path) -> None:
    assert pn.check_path(fixture_chapter) == []
    nb = json.loads(fixture_chapter.read_text())
    toml = fixture_chapter.parent / "numbers.toml"
    changes = []
    for mutated, cell, change in pn.mutations(nb):
        found = pn.check_notebook(mutated, name=fixture_chapter.name, numbers_toml=toml)
        assert found, f"mutation {change} in cell {cell} was not caught"
        assert any(o.cell == cell for o in found) or any(o.cell is None for o in found)
        changes.append(change)
    # every checked number (9) was mutated, up and down where the last digit allows (not 0 -> -1, 9 -> 10)
    assert len(changes) == 2 * 9 - 2
    assert "2.2686 -> 2.2687" in changes and "10,870 -> 10,871" in changes and "0.35 -> 0.34" in changes


def test_command_line(fixture_chapter: Path, tmp_path: Path) -> None:
    script = str(HERE / "prose_numbers.py")
    ok = subprocess.run([sys.executable, script, str(fixture_chapter)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == ""
    nb = json.loads(fixture_chapter.read_text())
    nb["cells"][1]["source"] = nb["cells"][1]["source"].replace("2.2686", "2.2684")
    bad = tmp_path / "bad" / "03_fixture.ipynb"
    bad.parent.mkdir()
    bad.write_text(json.dumps(nb))
    out = subprocess.run(
        [sys.executable, script, str(bad), "--numbers", str(tmp_path / "numbers.toml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stdout.splitlines() == ["03_fixture.ipynb: cell 1: '2.2684' is not printed (nearest printed: 2.26858)"]
    missing = subprocess.run([sys.executable, script, str(tmp_path / "nope.ipynb")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no such notebook" in missing.stderr


def test_html_scripts_are_not_printed_text_and_exponents_take_only_a_sign() -> None:
    """A control (utils.controls) carries base64 frames in a script: "1eS4" is no number, and
    an exponent's sign is +, - or U+2212, not any character between '+' and U+2212."""
    html = (
        '<div><script>var f = "1eS4x 3e+5";</script><style>p{margin:2.5em}</style><p>2.5 and 1e-3, 4e\u22122</p></div>'
    )
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"text/html": html}}]}]}
    assert [p.text for p in pn.printed_numbers(nb).numbers] == ["2.5", "1e-3", "4e\u22122"]
