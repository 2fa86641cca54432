"""The common machinery of the exercise checks."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: truthy when the answer is right; prints wrapped to 79 columns."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    @property
    def line(self) -> str:
        """The verdict on one line (for a grades table)."""
        return ("Correct! " if self.passed else "Not yet: ") + self.message

    def __str__(self) -> str:  # the book's code column shows about 80 characters
        return textwrap.fill(self.line, width=79, break_long_words=False, break_on_hyphens=False)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython display
        p.text(str(self))

    def __repr__(self) -> str:
        return str(self)


UNFINISHED = "your function still raises NotImplementedError: replace the stub with your code."


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, CheckResult | None]:
    """Call the student's ``fn``; return ``(value, None)``, or ``(None, failed result)`` if it raised."""
    if not callable(fn):
        return None, CheckResult(False, f"expected a function, got {type(fn).__name__}.")
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError:
        return None, CheckResult(False, UNFINISHED)
    except Exception as exc:  # report the student's error as a verdict, not a crash
        return None, CheckResult(False, f"your function raised {type(exc).__name__}: {exc}")


def attempt_number(fn: Callable[..., Any], *args: Any) -> tuple[float | None, CheckResult | None]:
    """Like :func:`attempt`, for a function that must return one real number: ``(float, None)`` or a verdict."""
    value, failed = attempt(fn, *args)
    if failed is not None:
        return None, failed
    try:
        return float(value), None
    except (TypeError, ValueError):
        call = f"{getattr(fn, '__name__', 'your function')}({', '.join(map(repr, args))})"
        return None, CheckResult(False, f"{call} returned {value!r}; expected one number.")


class Graded(NamedTuple):
    """One graded code exercise of a chapter's ``GRADED`` table (see :mod:`utils.exercises`).

    ``function`` is the name the student defines in the cell tagged ``answer`` under the
    exercise; ``check(fn)`` returns a :class:`CheckResult`; ``points`` is the exercise's weight.
    """

    function: str
    check: Callable[[Any], CheckResult]
    points: int = 1
