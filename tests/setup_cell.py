"""The Colab/Binder setup cell of every chapter notebook, written from the repository URL in _config.yml.

The URL lives in one place, ``repository.url`` in ``_config.yml``. ``make setup-cells`` (this
script) writes it into cell 1 of every notebook under ``chapters/``; ``tests/test_book.py``
checks that they agree. A fork sets its own URL in ``_config.yml`` and runs ``make setup-cells``.

    .venv/bin/python tests/setup_cell.py            # write the cell into every notebook
    .venv/bin/python tests/setup_cell.py --check    # exit 1 if any notebook differs
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: The cell, with ``{spec}`` for the pip requirement ``git+<url>`` (``git+<url>@<tag>`` for a pinned copy).
TEMPLATE = """\
# Colab/Binder setup: install the course package `utils` if it is missing
# (locally `make` has done it). `make setup-cells` sets the URL (_config.yml).
import importlib.util
from pathlib import Path

_spec = importlib.util.find_spec("utils")
if _spec is None:
    %pip install -q "{spec}"
    importlib.invalidate_caches()
    _spec = importlib.util.find_spec("utils")
    if _spec is None:
        raise ImportError(
            "could not install the course package `utils`: check the internet "
            "connection and the repository URL in this cell")
if not any(Path(d, "runtime.py").exists()
           for d in _spec.submodule_search_locations or []):
    raise ImportError(
        f"{{_spec.origin}} hides the course package `utils`: rename it (e.g. "
        "my_utils.py) and restart the kernel")"""


def repository_url() -> str:
    """``repository.url`` from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return str(config["repository"]["url"]).rstrip("/")


def render(url: str | None = None, ref: str | None = None) -> str:
    """The setup cell's source for ``url`` (default: ``_config.yml``'s), pinned to ``ref`` if given."""
    spec = f"git+{url or repository_url()}" + (f"@{ref}" if ref else "")
    return TEMPLATE.format(spec=spec)


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def main(args: list[str]) -> int:
    check = "--check" in args
    want = render()
    stale = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        if nb.cells[1].cell_type == "code" and nb.cells[1].source == want:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            nb.cells[1].source = want
            nbformat.write(nb, path)
    for path in stale:
        print(f"{path}: setup cell {'differs from' if check else 'rewritten for'} {repository_url()}")
    return 1 if stale and check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
