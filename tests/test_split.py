"""A chapter split into several notebooks (its first file plus ``sections:`` in ``_toc.yml``) is
numbered as one chapter: a small book with a split chapter 7 is built with the book's extension,
and its figures, exercises and equations must read 7.1, 7.2, 7.3 across the three pages."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"

CONFIG = f"""\
title: Split fixture
only_build_toc_files: true
execute:
  execute_notebooks: "off"
parse:
  myst_enable_extensions: [amsmath, dollarmath, colon_fence]
sphinx:
  local_extensions:
    ptdl_book: {ROOT / "_ext"}
  extra_extensions: [sphinx_exercise]
"""

# Chapter 7 comes second in its part and chapter 9 third: Sphinx would number them 2 and 3.
TOC = """\
format: jb-book
root: intro
parts:
  - caption: A part
    numbered: 1
    chapters:
      - file: chapters/03_alpha/03_alpha
      - file: chapters/07_beta/07a_first
        sections:
          - file: chapters/07_beta/07b_second
          - file: chapters/07_beta/07c_third
      - file: chapters/09_gamma/09_gamma
"""


def _markdown(title: str, key: str) -> str:
    """A page with one figure, one exercise and one numbered equation, each referenced."""
    return (
        f"# {title}\n\nText.\n\n"
        f"```{{figure}} /fig.png\n:name: fig-{key}\n\nA caption.\n```\n\n"
        f":::{{exercise}}\n:label: ex-{key}\n\nDo it.\n:::\n\n"
        f"```{{math}}\n:label: eq-{key}\n\nx = 1\n```\n\n"
        f"See {{numref}}`fig-{key}`, {{ref}}`ex-{key}` and {{eq}}`eq-{key}`.\n\n## A section\n\nMore.\n"
    )


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _notebook(title: str, key: str, png: bytes) -> dict:
    """The same page as a notebook whose figure is a code cell's output (the book's convention)."""
    head, _, rest = _markdown(title, key).partition("```{figure}")
    rest = rest.split("```\n\n", 1)[1]
    figure = {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {"mystnb": {"figure": {"caption": "A caption.", "name": f"fig-{key}"}}},
        "outputs": [
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
            }
        ],
        "source": "plot()",
    }
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": head},
        figure,
        {"cell_type": "markdown", "metadata": {}, "source": rest},
    ]
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = tmp_path_factory.mktemp("split_book")
    (book / "_config.yml").write_text(CONFIG)
    (book / "_toc.yml").write_text(TOC)
    (book / "intro.md").write_text("# Intro\n\nHello.\n")
    png = _png()
    (book / "fig.png").write_bytes(png)
    pages = {
        "03_alpha/03_alpha.md": ("Alpha", "a"),
        "07_beta/07a_first.md": ("Beta", "b1"),
        "07_beta/07b_second.ipynb": ("Beta, part 2", "b2"),
        "07_beta/07c_third.md": ("Beta, part 3", "b3"),
        "09_gamma/09_gamma.md": ("Gamma", "g"),
    }
    for rel, (title, key) in pages.items():
        path = book / "chapters" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            path.write_text(json.dumps(_notebook(title, key, png)))
        else:
            path.write_text(_markdown(title, key))
    out = book / "out"
    run = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out / "_build" / "html"


def _numbers(page: Path) -> dict[str, list[str]]:
    html = page.read_text(encoding="utf-8")
    return {
        "figure": re.findall(r'class="caption-number">Fig\. ([\d.]+)', html),
        "exercise": re.findall(r'class="caption-number">Exercise ([\d.]+)', html),
        "equation": re.findall(r'class="eqno">\(([\d.]+)\)', html),
        "title": re.findall(r'<h1><span class="section-number">(\d+)\. </span>', html),
    }


@pytest.mark.parametrize(
    ("page", "number", "title"),
    [
        ("03_alpha/03_alpha", "3.1", ["3"]),
        ("07_beta/07a_first", "7.1", ["7"]),
        ("07_beta/07b_second", "7.2", []),  # a sub-page: no chapter number of its own
        ("07_beta/07c_third", "7.3", []),
        ("09_gamma/09_gamma", "9.1", ["9"]),
    ],
)
def test_a_split_chapter_is_numbered_as_one(built: Path, page: str, number: str, title: list[str]) -> None:
    found = _numbers(built / "chapters" / f"{page}.html")
    assert found == {"figure": [number], "exercise": [number], "equation": [number], "title": title}


def test_references_across_a_split_use_the_chapter_numbers(built: Path) -> None:
    html = (built / "chapters" / "07_beta" / "07b_second.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    assert "See Fig. 7.2, Exercise 7.2 and (7.2)" in re.sub(r"\s+", " ", text)
