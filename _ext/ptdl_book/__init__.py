"""Sphinx extension for the book (named in ``_config.yml`` under ``sphinx.local_extensions``).

- :mod:`.numbering`: chapter numbers from the chapter folders ("9. Estimating ...", "Exercise 9.2");
- :mod:`.bibstyle`: the pybtex style ``ptdl`` (author-year labels, links, no raw TeX);
- :mod:`.coursemap`: the ``course-map`` directive (dependency graph, reading paths);
- ``static/``: CSS for the book (figures across the screen on phones, controls without a box of
  their own in the dark theme), and click-to-enlarge for figures (no network needed);
- each page loads each of its scripts once.

Figures with controls are HTML outputs of :func:`utils.controls.explore`, which carry their own
script; the book has no ipywidgets (they need a kernel).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from . import bibstyle, coursemap, numbering

STATIC = Path(__file__).parent / "static"


def _add_static_path(app: Sphinx, config: Any) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    # Inline scripts registered after the builder starts come twice (sphinx-thebe's second
    # copy fails with "Identifier 'THEBE_JS_URL' has already been declared" in the console).
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # an inline script may be registered as filename None and again as "" (Sphinx 7.4)
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    bibstyle.setup()
    numbering.setup(app)
    coursemap.setup(app)
    app.connect("config-inited", _add_static_path)
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after those that add scripts
    app.add_css_file("ptdl.css")
    app.add_js_file("ptdl-zoom.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
