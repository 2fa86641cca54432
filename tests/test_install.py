"""The install routes a reader without `make` takes, each in a fresh virtual environment.

- Colab, Binder, a downloaded notebook: the setup cell installs `utils` from a git URL (here a
  local clone's, so no network is needed for it), then the chapters' first cells run; with no
  repository known, or with PyPI's package `utils` installed, it stops and says what to do.
- Colab's own libraries, or plain pip: `utils` with pyproject.toml's lower bounds of numpy,
  scipy, matplotlib and numba (downloaded from the package index, about 120 MB) imports every
  module and passes the quick unit tests.

The fresh environments see the libraries of this checkout's `.venv` through a path file (torch
is not downloaded again), except `utils` itself and the libraries a test installs.

Marked ``install``: they need `git` and, for the lower bounds, the package index. The macOS and
Windows jobs of the workflow leave them out (``-m "not notebooks and not install"``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from packaging.requirements import Requirement
from packaging.version import Version

import setup_cell

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: set[str], dists: dict[str, importlib.metadata.Distribution]) -> set[str]:
    """``names`` and every distribution they require, recursively (extras left out)."""
    todo, seen = [_normalized(n) for n in names], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for line in dists[name].requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_normalized(req.name))
    return seen


def make_env(where: Path, *, only: set[str] | None = None) -> Path:
    """A fresh virtual environment at ``where`` that sees this environment's distributions.

    All of them, or ``only`` these, what they require and pip. Never ``ptdl-utils`` (the course
    package, installed editable here). Returns its python. The distributions it sees are
    symbolic links in ``where/view``, named in a ``.pth`` file: nothing may uninstall from there
    (pip does only to replace a version it sees, so a test installs only distributions it
    does not see).
    """
    site = Path(sysconfig.get_paths()["purelib"])
    dists = {_normalized(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(site)])}
    shown = set(dists) if only is None else _closure(only | {"pip"}, dists)
    entries = {Path(f).parts[0] for name in shown - {"ptdl-utils"} for f in dists[name].files or []}
    view = where / "view"
    view.mkdir(parents=True)
    for name in sorted(entries):
        if name not in ("..", "__pycache__") and not name.endswith(".pth") and (site / name).exists():
            (view / name).symlink_to(site / name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where / "env")], check=True)
    python = where / "env" / "bin" / "python"
    env_site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(env_site) / "ptdl_view.pth").write_text(f"{view}\n")
    # the kernel that notebooks get is this environment's python
    kernel = where / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "fresh", "language": "python"}))
    return python


def env_vars(where: Path) -> dict[str, str]:
    """The environment for commands in the fresh environment: its kernels, no `utils` on a path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["JUPYTER_PATH"] = str(where / "jupyter")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run_in(python: Path, where: Path, code: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``code`` with ``python`` in ``where`` (a folder without `utils`), with the tests' modules importable."""
    prelude = f"import sys; sys.path.append({str(ROOT / 'tests')!r})\n"
    return subprocess.run(
        [python, "-c", prelude + code],
        cwd=where,
        env=env_vars(where),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_cells(python: Path, where: Path, sources: list[str]) -> subprocess.CompletedProcess:
    """Execute the cells ``sources`` as a notebook in a kernel of the fresh environment."""
    folder = where / "nb"
    folder.mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), folder / "nb.ipynb")
    return run_in(
        python,
        folder,
        "from pathlib import Path\nfrom notebook_client import run_notebook\n"
        "run_notebook(Path('nb.ipynb'), limit_s=480)",
    )


def first_code_cells() -> list[str]:
    """Each chapter's first code cell after the setup cell (its imports)."""
    return [
        next(c.source for c in nbformat.read(p, as_version=4).cells[2:] if c.cell_type == "code")
        for p in setup_cell.notebooks()
    ]


#: Run last in the fresh kernel: `utils` was installed into the fresh environment, not found elsewhere.
WHERE_FROM = """\
import importlib.metadata, json, sys
from pathlib import Path
import utils
assert Path(sys.prefix).name == "env", sys.prefix
assert Path(utils.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), utils.__file__
dist = importlib.metadata.distribution("ptdl-utils")
origin = json.loads(dist.read_text("direct_url.json"))
assert origin["url"].startswith("file://") and "vcs_info" in origin, origin"""


def package_source(where: Path, *, git: bool = False) -> Path:
    """What pip builds `utils` from (this working tree's package and pyproject.toml), as a git repository if ``git``."""
    where.mkdir()
    shutil.copytree(ROOT / "utils", where / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, where / name)
    if git:
        ident = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
        for args in (["init", "--quiet"], ["add", "."], [*ident, "commit", "--quiet", "-m", "utils"]):
            subprocess.run(["git", *args], cwd=where, check=True)
    return where


def test_the_setup_cell_installs_from_a_git_url_and_the_chapters_first_cells_run(tmp_path: Path) -> None:
    clone = package_source(tmp_path / "clone", git=True)
    python = make_env(tmp_path)
    url = clone.resolve().as_uri()  # file:///..., so pip clones it with git
    result = run_cells(python, tmp_path, [setup_cell.render(url), *first_code_cells(), WHERE_FROM])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_the_setup_cell_without_a_repository_says_how_to_install(tmp_path: Path) -> None:
    python = make_env(tmp_path)
    result = run_cells(python, tmp_path, [setup_cell.render(None)])
    assert result.returncode != 0
    assert "not installed, and this notebook does" in result.stderr
    assert "Run %pip install" in result.stderr and "git+https://github.com/OWNER/REPO" in result.stderr


def test_the_setup_cell_names_pypis_utils_and_how_to_remove_it(tmp_path: Path) -> None:
    python = make_env(tmp_path)
    # what `pip install utils` leaves: a package `utils` of the distribution `utils`
    site = Path(run_in(python, tmp_path, "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "utils").mkdir()
    (site / "utils" / "__init__.py").write_text("")
    (site / "utils" / "dicts.py").write_text("")
    info = site / "utils-1.0.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: utils\nVersion: 1.0.2\n")
    (info / "RECORD").write_text("utils/__init__.py,,\nutils/dicts.py,,\nutils-1.0.2.dist-info/METADATA,,\n")
    result = run_cells(python, tmp_path, [setup_cell.render("https://github.com/a/b")])
    assert result.returncode != 0
    assert "the installed package 'utils'" in result.stderr, result.stderr[-3000:]
    assert "run `%pip uninstall -y utils`, restart the kernel" in result.stderr


def lower_bounds() -> list[str]:
    """pyproject.toml's dependencies, each at its lower bound (``numpy>=2.0`` -> ``numpy==2.0``)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [re.sub(r">=", "==", d) for d in deps]


#: The quick unit tests, run against the lower bounds (the notebooks need the pinned versions).
QUICK_TESTS = ["test_branching.py", "test_fss.py", "test_bayes.py", "test_ising.py"]  # numpy, scipy, numba


def test_the_lower_bounds_install_import_every_module_and_pass_quick_tests(tmp_path: Path) -> None:
    pins = [p for p in lower_bounds() if "==" in p]
    names = {re.split(r"[=<>!~ \[]", p)[0] for p in pins}
    # torch as Colab has it; pytest to run the tests; everything else from pyproject.toml
    python = make_env(tmp_path, only={"torch", "pytest"})
    install = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--only-binary",
            ",".join(sorted(names | {"llvmlite"})),
            *pins,
            str(package_source(tmp_path / "src")),
        ],
        env=env_vars(tmp_path),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    versions = run_in(
        python,
        tmp_path,
        "import importlib.metadata as m\n" + "".join(f"print({n!r}, m.version({n!r}))\n" for n in sorted(names)),
    )
    installed = dict(line.split() for line in versions.stdout.splitlines())
    for pin in pins:
        name, version = pin.split("==")
        assert Version(installed[name]) == Version(version), versions.stdout
    imported = run_in(
        python,
        tmp_path,
        "import importlib, pkgutil, utils\n"
        "mods = [m.name for m in pkgutil.walk_packages(utils.__path__, 'utils.')]\n"
        "for m in mods: importlib.import_module(m)\n"
        "assert 'site-packages' in utils.__file__, utils.__file__\n"
        "print(len(mods), 'modules')",
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    tests = run_in(
        python,
        tmp_path,
        "import pytest, sys\nsys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', "
        f"'--rootdir', {str(tmp_path)!r}] + [{str(ROOT / 'tests')!r} + '/' + t for t in {QUICK_TESTS!r}]))",
        timeout=900,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
