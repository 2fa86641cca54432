"""The chapters' ``GRADED`` and ``WRITTEN`` tables, and scoring an answer with its public check here.

The grader judges answers in its own process through :mod:`~utils.coursework.grading`; the
helpers below read the tables, and :func:`score` runs a check on a function in this process
(the tests use it on the reference answers; it is no way to grade untrusted code).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ..exercises import CheckResult, Graded


def _module(chapter: int) -> Any:
    name = f"utils.exercises.ch{chapter:02d}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def graded_table(chapter: int) -> dict[str, Graded]:
    """The ``GRADED`` table of ``utils.exercises.chNN`` (empty if the chapter has none)."""
    module = _module(chapter)
    table = getattr(module, "GRADED", {}) if module is not None else {}
    for label, entry in table.items():
        if not isinstance(entry, Graded):
            raise TypeError(
                f"GRADED[{label!r}] in utils.exercises.ch{chapter:02d} must be a utils.exercises.Graded, "
                f"got {type(entry).__name__}"
            )
    return dict(table)


def written_table(chapter: int) -> dict[str, float]:
    """The hand-marked parts of a chapter's exercises: label -> points.

    The written exercises come from the chapter's ``WRITTEN`` table; the written part of a
    graded code exercise (``Graded.written``) is listed as ``"<label> (written)"``.
    """
    module = _module(chapter)
    found = {str(k): float(v) for k, v in (getattr(module, "WRITTEN", {}) if module is not None else {}).items()}
    for label, entry in graded_table(chapter).items():
        if entry.written:
            found[f"{label} (written)"] = float(entry.written)
    return found


def score(entry: Graded, namespace: Mapping[str, Any]) -> tuple[float, str]:
    """``(points earned, message)`` of the public check of ``entry`` on ``namespace[entry.function]``, run here."""
    fn = namespace.get(entry.function)
    if fn is None:
        return 0, (
            f"{entry.function} is not defined: the cell tagged 'answer' did not run or defines "
            "another name (run the notebook top to bottom)."
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
