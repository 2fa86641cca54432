"""Where the book's buttons lead: the repository the book is published from, or nowhere.

The repository is ``https://github.com/OWNER/REPO``, taken from the environment variable
``BOOK_REPOSITORY_URL`` when it is set (the Pages workflow sets it to the repository it runs in,
so a fork's book points at the fork), else from ``repository.url`` in ``_config.yml``.

- With a repository: the repository and issue buttons, and the launch buttons: Binder (which
  builds ``binder/``: CPU torch and the notebooks' libraries) and Colab (where the hidden
  setup cell installs ``utils`` from the repository; only when the committed notebooks name
  this repository, see :func:`theme_options`).
- Without one (a local build, ``repository.url`` empty): none of these buttons, since each
  would lead to a guessed address. The download buttons stay.
- Thebe is not used: no page has a live-code button, so its scripts are not loaded.

``tests/setup_cell.py`` writes the same URL into every notebook's setup cell.
"""

from __future__ import annotations

import os
import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

URL_VARIABLE = "BOOK_REPOSITORY_URL"
BRANCH_VARIABLE = "BOOK_REPOSITORY_BRANCH"
_GITHUB = re.compile(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
#: The buttons that need a repository (sphinx-book-theme's theme options).
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button")


def _checked(url: str | None, source: str) -> str | None:
    url = (url or "").strip().rstrip("/").removesuffix(".git")
    if not url:
        return None
    if not _GITHUB.fullmatch(url):
        raise ValueError(f"{source} must be https://github.com/OWNER/REPO (or empty), got {url!r}")
    return url


def repository_url(configured: str | None = None) -> str | None:
    """The book's repository: ``$BOOK_REPOSITORY_URL``, else ``configured``; None if neither is set.

    Raises ValueError unless it is ``https://github.com/OWNER/REPO`` (a trailing ``/`` or ``.git``
    is dropped): the Colab button and the setup cells need a GitHub repository.
    """
    if os.environ.get(URL_VARIABLE):
        return _checked(os.environ[URL_VARIABLE], URL_VARIABLE)
    return _checked(configured, "repository.url in _config.yml")


def theme_options(options: dict[str, Any], branch: str | None = None) -> dict[str, Any]:
    """``options`` (sphinx-book-theme's) with the repository and launch buttons on if a repository is known, else off.

    Colab opens a notebook as committed on GitHub, whose setup cell installs ``utils`` from
    ``repository.url`` in ``_config.yml``; so the Colab button needs that to be the book's
    repository (a build for a fork, through ``$BOOK_REPOSITORY_URL``, has only Binder until
    the fork sets it and commits ``make setup-cells``).
    """
    out = dict(options)
    committed = _checked(out.get("repository_url"), "repository.url in _config.yml")
    url = repository_url(committed)
    if url is None:
        out.pop("repository_url", None)
        out.pop("launch_buttons", None)
        out.update(dict.fromkeys(REPOSITORY_BUTTONS, False))
        return out
    out["repository_url"] = url
    out["repository_branch"] = branch or os.environ.get(BRANCH_VARIABLE) or out.get("repository_branch") or "main"
    out.update(dict.fromkeys(REPOSITORY_BUTTONS, True))
    launch = {**out.get("launch_buttons", {}), "thebe": False}
    if committed != url:
        launch.pop("colab_url", None)
    out["launch_buttons"] = launch
    return out


def _configure(app: Sphinx, config: Config) -> None:
    try:
        options = theme_options(config.html_theme_options)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    config.html_theme_options = options
    url = options.get("repository_url")
    if url is None:
        logger.info(f"[ptdl] no repository ({URL_VARIABLE} and repository.url unset): no repository or launch buttons")
    elif "colab_url" not in options["launch_buttons"]:
        logger.info(
            f"[ptdl] buttons for {url}, but no Colab button: the committed notebooks' setup cells do not install "
            f"from it (set repository.url in _config.yml to it and commit `make setup-cells`)"
        )


def _is_thebe(script: Any) -> bool:
    name = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body


def _drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    # sphinx-thebe (always loaded by Jupyter Book) adds its loader to every page
    context["script_files"] = [s for s in context.get("script_files", []) if not _is_thebe(s)]
    context["css_files"] = [s for s in context.get("css_files", []) if "thebe" not in str(getattr(s, "filename", s))]


def _unhook_thebe(app: Sphinx) -> None:
    # sphinx-thebe's handlers add its loader to every page and a Binder configuration (for a
    # repository of its own choosing) to every doctree
    for event in ("env-before-read-docs", "doctree-resolved"):
        for listener in list(app.events.listeners.get(event, [])):
            if getattr(listener.handler, "__module__", "").startswith("sphinx_thebe"):
                app.disconnect(listener.id)


def setup(app: Sphinx) -> None:
    """Set the buttons when the configuration is read; keep Thebe off every page."""
    app.connect("config-inited", _configure, priority=900)
    app.connect("builder-inited", _unhook_thebe)
    app.connect("html-page-context", _drop_thebe, priority=900)
