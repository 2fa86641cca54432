"""The setup cell of every chapter notebook (its first code cell, hidden in the book).

On Colab, on Binder or in a downloaded notebook it makes sure the course package ``utils``
can be imported: it installs it from the book's repository when it is missing, and stops with
a message that says what to do when it cannot (no repository known, no network), or when
another ``utils`` hides the course's (a ``utils.py`` beside the notebook, or PyPI's package
``utils``, which installs the same top-level name).

The repository is ``BOOK_REPOSITORY_URL`` if set, else ``repository.url`` in ``_config.yml``
(``_ext/ptdl_book/publish.py``, which also sets the book's buttons). ``make setup-cells`` (this
script) writes the cell into every notebook under ``chapters/``; ``tests/test_setup_cell.py``
checks that they agree. The Pages workflow runs it with the repository it runs in.

    .venv/bin/python tests/setup_cell.py            # write the cell into every notebook
    .venv/bin/python tests/setup_cell.py --check    # exit 1 if any notebook differs
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from ptdl_book.publish import repository_url as _resolve  # noqa: E402

HEADER = """\
# Setup for Colab, Binder or a downloaded notebook: the course package
# `utils` must be importable (locally, `make install` has installed it).
# `make setup-cells` writes this cell for the book's repository.
import importlib.metadata
import importlib.util
from pathlib import Path

_spec = importlib.util.find_spec("utils")
if _spec is None:
"""

#: Installs ``{spec}``, the pip requirement ``git+<url>`` (``git+<url>@<tag>`` for a pinned copy).
INSTALL = """\
    %pip install -q "{spec}"
    importlib.invalidate_caches()
    _spec = importlib.util.find_spec("utils")
    if _spec is None:
        raise ImportError(
            "could not install the course package `utils`: check the internet "
            "connection and the repository URL in this cell")
"""

#: Without a known repository the cell cannot install: it says how.
NO_REPOSITORY = """\
    raise ImportError(
        "the course package `utils` is not installed, and this notebook does "
        "not know the course's repository. Run %pip install "
        "git+https://github.com/OWNER/REPO "
        "with the repository it comes from (on Colab: the OWNER/REPO after "
        "/github/ in the address bar), then run this cell again")
"""

#: Another ``utils`` found first: a file or folder beside the notebook, or another distribution.
CHECK = """\
_dirs = list(_spec.submodule_search_locations or [])
if not any(Path(d, "runtime.py").exists() for d in _dirs):
    _where = Path(_dirs[0] if _dirs else _spec.origin)
    _dists = [d for d in importlib.metadata.packages_distributions()
              .get("utils", []) if d != "ptdl-utils"]
    if _dists and not _where.resolve().is_relative_to(Path.cwd().resolve()):
        raise ImportError(
            f"the installed package {_dists[0]!r} ({_where}) is another "
            "`utils` and hides the course package: run `%pip uninstall -y "
            f"{_dists[0]}`, restart the kernel and run this cell again")
    raise ImportError(
        f"{_where} hides the course package `utils`: rename it (e.g. "
        "my_utils.py) and restart the kernel")"""


def repository_url() -> str | None:
    """The book's repository (``$BOOK_REPOSITORY_URL``, else ``repository.url`` in ``_config.yml``); None if unset."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return _resolve((config.get("repository") or {}).get("url"))


def render(url: str | None, ref: str | None = None) -> str:
    """The setup cell that installs ``git+<url>`` (pinned to ``ref`` if given); without ``url``, one that says how."""
    if url is None:
        if ref is not None:
            raise ValueError(f"ref {ref!r} given without a repository url")
        return HEADER + NO_REPOSITORY + CHECK
    spec = f"git+{url.rstrip('/')}" + (f"@{ref}" if ref else "")
    return HEADER + INSTALL.format(spec=spec) + CHECK


def configured() -> str:
    """The setup cell for the book's repository (:func:`repository_url`)."""
    return render(repository_url())


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def main(args: list[str]) -> int:
    check = "--check" in args
    want = configured()
    url = repository_url() or "no repository (the cell says how to install)"
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
        print(f"{path}: setup cell {'differs from' if check else 'rewritten for'} {url}")
    return 1 if stale and check else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
