"""Chapter numbers that follow the chapter folders, not the order of the table of contents.

Jupyter Book numbers the chapters of a numbered part 1, 2, 3, ... in the order they appear
(sphinx-multitoc-numbering continues the count across parts). This book publishes chapters
as they are written, so chapter 9 may appear while 6-8 do not exist yet; it must still be
"9. Estimating the local learning coefficient", and its exercises "Exercise 9.1", "9.2", ...

After Sphinx assigns section numbers (and before it numbers figures, exercises and
equations, which are prefixed by the chapter number), every document under
``chapters/NN_<slug>/`` gets ``NN`` as its first number. Documents outside ``chapters/``
keep the numbers Sphinx gave them.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.environment.collectors.toctree import TocTreeCollector

CHAPTER_DOC = re.compile(r"^chapters/(\d+)_[^/]+/")


def chapter_number(docname: str) -> int | None:
    """The chapter number encoded in a document's folder (``chapters/03_ising/...`` -> 3)."""
    match = CHAPTER_DOC.match(docname)
    return int(match.group(1)) if match else None


def _renumber(number: Any, chapter: int) -> Any:
    if not number:
        return number
    return (chapter, *tuple(number)[1:])


def renumber_chapters(env: BuildEnvironment) -> None:
    """Replace the first section number of every chapter document by its folder number."""
    for docname, secnums in env.toc_secnumbers.items():
        chapter = chapter_number(docname)
        if chapter is None:
            continue
        env.toc_secnumbers[docname] = {anchor: _renumber(num, chapter) for anchor, num in secnums.items()}
        # The numbers are also stored on the document's own TOC nodes (sidebar, page title)
        # and on its title (previous/next links).
        for ref in env.tocs[docname].findall(nodes.reference):
            if ref.get("secnumber"):
                ref["secnumber"] = list(_renumber(ref["secnumber"], chapter))
        title = env.titles.get(docname)
        if title is not None and title.get("secnumber"):
            title["secnumber"] = list(_renumber(title["secnumber"], chapter))


def _wrap(cls: type) -> None:
    original = cls.__dict__["assign_section_numbers"]
    if getattr(original, "_ptdl_renumbers", False):
        return

    def assign_section_numbers(self: TocTreeCollector, env: BuildEnvironment) -> list[str]:
        old = {doc: dict(nums) for doc, nums in env.toc_secnumbers.items()}
        rewrite = set(original(self, env))
        renumber_chapters(env)
        # Rewrite the pages whose final numbers changed since the last build.
        rewrite |= {doc for doc, nums in env.toc_secnumbers.items() if nums != old.get(doc)}
        return sorted(rewrite)

    assign_section_numbers._ptdl_renumbers = True  # type: ignore[attr-defined]
    cls.assign_section_numbers = assign_section_numbers  # type: ignore[method-assign]


def _subclasses(cls: type) -> list[type]:
    return [cls] + [c for sub in cls.__subclasses__() for c in _subclasses(sub)]


def _patch_collectors(app: Sphinx) -> None:
    # Sphinx's collector numbers the sections (sphinx-multitoc-numbering replaces its method
    # to count across parts); sphinx-external-toc's subclass then renumbers them by position.
    # Wrap every class that defines the method: the outermost call renumbers last.
    for cls in _subclasses(TocTreeCollector):
        if "assign_section_numbers" in cls.__dict__:
            _wrap(cls)


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", _patch_collectors)
