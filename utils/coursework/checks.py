"""The chapters' ``GRADED`` tables, and scoring one answer with its check (also inside a kernel).

The grader runs :func:`report` inside the kernel that executed a submission, so that the
check sees the student's function exactly as the notebook defined it; the tests call
:func:`score` directly on the reference answers, with no kernel.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..exercises import CheckResult, Graded

#: The MIME type under which :func:`report` hands a verdict back to the grader.
MIME = "application/x-ptdl-grade+json"


def graded_table(chapter: int) -> dict[str, Graded]:
    """The ``GRADED`` table of ``utils.exercises.chNN`` (empty if the chapter has none)."""
    name = f"utils.exercises.ch{chapter:02d}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return {}
        raise
    table = getattr(module, "GRADED", {})
    for label, entry in table.items():
        if not isinstance(entry, Graded):
            raise TypeError(f"GRADED[{label!r}] in {name} must be a utils.exercises.Graded, got {type(entry).__name__}")
    return dict(table)


def graded_on_page(table: Mapping[str, Graded], labels: Iterable[str]) -> dict[str, Graded]:
    """The entries of ``table`` whose exercise ``labels`` one page states (a split chapter's page).

    A page that states none of them (a notebook whose text was lost) keeps the whole table, so
    every exercise still gets a row.
    """
    on_page = {label: entry for label, entry in table.items() if label in set(labels)}
    return on_page or dict(table)


def score(entry: Graded, namespace: Mapping[str, Any]) -> tuple[float, str]:
    """``(points earned, message)`` for the function ``entry.function`` found in ``namespace``."""
    fn = namespace.get(entry.function)
    if fn is None:
        return 0, (
            f"{entry.function} is not defined: the cell tagged 'answer' did not run or "
            "defines another name (run the notebook top to bottom)."
        )
    if not callable(fn):
        return 0, f"{entry.function} is a {type(fn).__name__}, not a function."
    try:
        result = entry.check(fn)
    except Exception as exc:  # a check should not raise; if it does, the answer still gets a verdict
        return 0, f"the check raised {type(exc).__name__}: {exc}"
    passed = bool(result)
    message = result.line if isinstance(result, CheckResult) else ("Correct!" if passed else "Not yet.")
    return (entry.points if passed else 0), message


def report(chapter: int, label: str, namespace: Mapping[str, Any]) -> None:
    """Score exercise ``label`` of ``chapter`` on ``namespace`` and display the verdict for the grader."""
    from IPython.display import display

    name = f"utils.exercises.ch{chapter:02d}"
    if name in sys.modules:  # undo what the notebook may have changed in its checks
        importlib.reload(sys.modules[name])
    entry = graded_table(chapter)[label]
    points, message = score(entry, namespace)
    display({MIME: {"score": points, "max_score": entry.points, "message": message}}, raw=True)
