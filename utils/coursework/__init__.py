"""Coursework tooling for instructors: student copies, answer keys, and a sandboxed autograder.

Run it from the repository root (the Makefile does)::

    python -m utils.coursework student [--tag TAG]  # -> _build/student/chapters
    python -m utils.coursework answer-key  # -> _build/answer-key/chapters
    python -m utils.coursework grade a.ipynb b.ipynb --csv grades.csv
    # after marking the rubric sheet:
    python -m utils.coursework gradebook --csv grades.csv

Students never need this package: the notebooks import :mod:`utils.exercises` for their checks,
and nothing in :mod:`utils` imports :mod:`utils.coursework`. Its imports (:data:`REQUIRES`) are
the standard library and packages every course install has (``requirements.txt``); grading also
needs the ``bwrap`` program (Debian package ``bubblewrap``). Importing this package loads no
submodule; each name below is loaded on first use, so the kernel side of grading
(:mod:`~utils.coursework.harness`, :mod:`~utils.coursework.wire`) stays light.

Modules: :mod:`~utils.coursework.parse` reads the coursework format,
:mod:`~utils.coursework.copies` writes the two copies, :mod:`~utils.coursework.grading` grades
submissions, :mod:`~utils.coursework.sandbox` and :mod:`~utils.coursework.launcher` isolate each
kernel, :mod:`~utils.coursework.kernel` talks to it, :mod:`~utils.coursework.harness` and
:mod:`~utils.coursework.wire` carry calls and plain data across, :mod:`~utils.coursework.withheld`
hides the course's own answers, :mod:`~utils.coursework.checks` reads the graded tables and
:mod:`~utils.coursework.gradebook` writes the gradebook, rubric sheet and feedback.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Third-party modules that utils.coursework imports (besides the standard library and utils):
#: module name -> the requirements.txt distribution that provides it.
REQUIRES = {
    "numpy": "numpy",
    "nbformat": "nbformat",
    "jupyter_client": "nbclient",  # nbclient depends on jupyter_client, which brings zmq
    "zmq": "nbclient",
    "IPython": "ipykernel",  # the kernel itself (ipykernel), and IPython's input transformer
    "ipykernel": "ipykernel",
    "torch": "torch",  # only to rebuild a tensor a graded function returned
}

_NAMES = {
    "ANSWER_KEY": "copies",
    "STUDENT": "copies",
    "make_copy": "copies",
    "pin_setup": "copies",
    "write_copies": "copies",
    "COLUMNS": "grading",
    "Row": "grading",
    "Submission": "grading",
    "grade": "grading",
    "grade_all": "grading",
    "grade_notebook": "grading",
    "write_csv": "grading",
    "Exercise": "parse",
    "FormatError": "parse",
    "chapter_number": "parse",
    "exercises": "parse",
    "graded_table": "checks",
    "score": "checks",
    "written_table": "checks",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
