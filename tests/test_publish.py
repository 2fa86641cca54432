"""Where the book's buttons lead (_ext/ptdl_book/publish.py), checked on a small book built with
the course's extension: no repository, no dead buttons; a repository, working ones; no Thebe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

from ptdl_book.publish import URL_VARIABLE, theme_options  # noqa: E402

FORK = "https://github.com/fork-owner/course-fork"
BUILD = "from jupyter_book.cli.main import main; main()"


def build(
    book: Path,
    config_url: str = "",
    env_url: str | None = None,
    *,
    execute: str = "off",
    code: str = "x = 1",
    **env: str,
) -> subprocess.CompletedProcess:
    """Build a one-chapter book with the course's _config.yml (repository.url = ``config_url``) and extension.

    The chapter is ``book/chapters/01_one/01_one.ipynb``, one code cell ``code``; ``execute`` is
    the execution mode; ``env`` adds environment variables.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"]["url"] = config_url
    config["execute"]["execute_notebooks"] = execute
    config["sphinx"]["local_extensions"] = {"ptdl_book": str(ROOT / "_ext")}
    config.pop("bibtex_bibfiles", None)
    config["sphinx"]["config"].pop("bibtex_reference_style", None)
    config["sphinx"]["config"].pop("bibtex_default_style", None)
    config["exclude_patterns"] = ["_build"]
    book.mkdir(exist_ok=True)
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - caption: Part\n    numbered: 1\n    chapters:\n"
        "      - file: chapters/01_one/01_one\n"
    )
    (book / "intro.md").write_text("# Intro\n\nThe course.\n")
    nb = new_notebook(cells=[new_markdown_cell("# One\n\nText."), new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (book / "chapters" / "01_one").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, book / "chapters" / "01_one" / "01_one.ipynb")
    variables = {k: v for k, v in os.environ.items() if k != URL_VARIABLE} | env
    if env_url is not None:
        variables[URL_VARIABLE] = env_url
    return subprocess.run(
        [sys.executable, "-c", BUILD, "build", str(book), "-W", "--keep-going"],
        capture_output=True,
        text=True,
        env=variables,
        timeout=300,
    )


def links(page: Path) -> list[str]:
    return re.findall(r'href="([^"]+)"', page.read_text())


def scripts(page: Path) -> str:
    return " ".join(re.findall(r"<script[^>]*>[^<]*</script>", page.read_text()))


@pytest.mark.parametrize(
    ("config_url", "env_url", "want"),
    [
        ("", None, None),  # a local build: no repository known
        ("", FORK, "binder"),  # the workflow of a fork whose notebooks name no repository
        (FORK, FORK, "binder+colab"),  # the notebooks name the book's repository
        (FORK, None, "binder+colab"),
    ],
    ids=["none", "env-only", "env-and-config", "config-only"],
)
def test_buttons_lead_to_the_books_repository_or_are_absent(tmp_path: Path, config_url, env_url, want) -> None:
    result = build(tmp_path / "book", config_url, env_url)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = tmp_path / "book" / "_build" / "html" / "chapters" / "01_one" / "01_one.html"
    hrefs = links(page)
    external = [h for h in hrefs if re.match(r"https?://", h)]
    assert not any("ptdl-course" in h for h in hrefs)
    assert "thebe" not in scripts(page).lower()  # no live-code button, so no Thebe loader
    assert any(h.endswith("01_one.ipynb") for h in hrefs)  # the download button stays
    if want is None:
        assert not [h for h in external if "github.com" in h or "mybinder" in h or "colab" in h], external
        return
    assert FORK in hrefs  # the repository button
    assert any(h.startswith(f"{FORK}/issues/new") for h in hrefs)
    binder = [h for h in external if h.startswith("https://mybinder.org/")]
    assert binder == [
        "https://mybinder.org/v2/gh/fork-owner/course-fork/main?urlpath=lab/tree/chapters/01_one/01_one.ipynb"
    ]
    colab = [h for h in external if "colab.research.google.com" in h]
    if want == "binder+colab":
        assert colab == [
            "https://colab.research.google.com/github/fork-owner/course-fork/blob/main/chapters/01_one/01_one.ipynb"
        ]
    else:
        assert colab == []  # the notebook on GitHub would not know where to install `utils` from


def test_a_repository_that_is_not_on_github_stops_the_build(tmp_path: Path) -> None:
    result = build(tmp_path / "book", "", "git@github.com:fork-owner/course-fork.git")
    assert result.returncode != 0
    assert "BOOK_REPOSITORY_URL must be https://github.com/OWNER/REPO" in result.stdout + result.stderr


def test_theme_options_turn_the_buttons_off_without_a_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    configured = {"launch_buttons": {"binderhub_url": "https://mybinder.org"}, "repository_url": ""}
    off = theme_options(configured)
    assert "launch_buttons" not in off and "repository_url" not in off
    assert off["use_repository_button"] is False and off["use_issues_button"] is False
    monkeypatch.setenv(URL_VARIABLE, FORK + ".git")
    on = theme_options(configured, branch="trunk")
    assert on["repository_url"] == FORK and on["repository_branch"] == "trunk"
    assert on["launch_buttons"] == {"binderhub_url": "https://mybinder.org", "thebe": False}
    assert json.dumps(configured) == json.dumps(
        {"launch_buttons": {"binderhub_url": "https://mybinder.org"}, "repository_url": ""}
    )  # the input is not modified


# -- binder/: the environment the Binder button builds -------------------------------------------

#: Distributions every Jupyter kernel brings (ipykernel's own), imported by `utils` only inside a kernel.
KERNEL_PROVIDED = {"ipython", "matplotlib-inline"}


def _pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file, by normalized name."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def imported_distributions() -> set[str]:
    """The distributions whose modules the chapters' code cells and `utils` import (stdlib left out)."""
    import ast
    import importlib.metadata

    modules = set()
    sources = [
        c.source
        for p in sorted((ROOT / "chapters").rglob("*.ipynb"))
        for c in nbformat.read(p, 4).cells
        if c.cell_type == "code"
    ]
    sources += [p.read_text() for p in sorted((ROOT / "utils").rglob("*.py"))]
    for source in sources:
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    owners = importlib.metadata.packages_distributions()
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m != "utils")
    missing = [m for m in third_party if m not in owners]
    assert not missing, f"imported, but installed by no distribution here: {missing}"
    return {re.sub(r"[-_.]+", "-", d).lower() for m in third_party for d in owners[m]}


def test_binder_installs_what_the_notebooks_import_pinned_as_requirements_txt() -> None:
    import tomllib

    binder = _pins(ROOT / "binder" / "requirements.txt")
    pinned = _pins(ROOT / "requirements.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    declared = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ \[;]", d)[0]).lower() for d in project}
    need = (imported_distributions() | declared) - KERNEL_PROVIDED
    assert set(binder) == need, f"binder/requirements.txt lacks {need - set(binder)}, has extra {set(binder) - need}"
    assert "jupyter-book" not in binder and "pytest" not in binder
    for name, version in binder.items():
        assert version.split("+")[0] == pinned[name], f"{name}: binder pins {version}, requirements.txt {pinned[name]}"
    # torch's CPU build: the +cpu wheel, which only PyTorch's CPU index has
    assert binder["torch"].endswith("+cpu")
    assert (
        "--extra-index-url https://download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()
    )


def test_binder_runs_the_supported_python_and_installs_utils() -> None:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.(\d+)", runtime) and int(runtime.split(".")[1]) >= 11
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable (git update-index --chmod=+x)"
    assert "python -m pip install --no-deps --no-cache-dir ." in post_build.read_text()


# -- the workflow (GitHub Actions cannot run here: its structure is checked) ----------------------


def test_the_workflow_runs_the_tests_once_and_builds_the_book_from_their_notebooks() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "pull_request", "workflow_dispatch"}
    jobs = workflow["jobs"]
    runs = {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in jobs.items()}
    # linux: .ci/run once, then the book from the cache the tests filled, nothing executed again
    linux = jobs["linux"]
    assert runs["linux"].count(".ci/run") == 1
    book = next(s for s in linux["steps"] if s.get("run") == "make book")
    assert book["env"]["PTDL_BOOK_CACHED_ONLY"] == "1"
    assert runs["linux"].index("make setup-cells") < runs["linux"].index(".ci/run") < runs["linux"].index("make book")
    assert linux["env"]["BOOK_REPOSITORY_URL"] == "${{ github.server_url }}/${{ github.repository }}"
    assert linux["timeout-minutes"] <= 90
    # macOS on Apple silicon and Windows: pip install, unit tests without notebooks or install routes
    unit = jobs["unit-tests"]
    assert set(unit["strategy"]["matrix"]["os"]) == {"macos-14", "windows-latest"}
    assert "python -m pip install -r requirements.txt" in runs["unit-tests"][0]
    assert '-m "not notebooks and not install"' in runs["unit-tests"][1]
    assert not any("make" in r or ".ci/run" in r for r in runs["unit-tests"])
    # a pull request from this repository's own branch runs once, on its push
    assert "head.repo.full_name != github.repository" in linux["if"] and linux["if"] == unit["if"]
    # deploy: after both, from the default branch, the only job that may write to Pages
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == {"linux", "unit-tests"}
    assert "github.event.repository.default_branch" in deploy["if"]
    assert workflow["permissions"] == {"contents": "read"} and deploy["permissions"]["pages"] == "write"
    assert [s.get("uses", "").split("@")[0] for s in linux["steps"]][-1] == "actions/upload-pages-artifact"
