"""The common machinery of the exercise checks: verdicts, test cases, and the graded table's entries."""

from __future__ import annotations

import functools
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np


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


#: A judge: ``judge(fn, case)`` is None when ``fn`` passes the test case ``case``, else the failed verdict.
Judge = Callable[[Callable[..., Any], Any], "CheckResult | None"]


class Check:
    """A check made of test cases (see :func:`check`): ``check(fn)`` is the verdict on the public cases.

    ``judge(fn, case)`` returns None when ``fn`` passes ``case`` and a failed :class:`CheckResult`
    (with its hint) when it does not. ``cases`` are the public cases, the ones the notebook's check
    cell runs; ``hidden(rng)`` draws fresh cases of the same kinds for grading, so that an answer
    that only reproduces the public cases' values does not pass. ``success`` is the message of a pass.
    """

    def __init__(
        self,
        judge: Judge,
        *,
        cases: Sequence[Any] | Callable[[], Sequence[Any]],
        hidden: Callable[[np.random.Generator], Sequence[Any]],
        success: str | Callable[[], str],
    ) -> None:
        self.judge, self.cases, self.hidden, self.success = judge, cases, hidden, success
        functools.update_wrapper(self, judge)
        fn = inspect.Parameter("fn", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.__signature__ = inspect.Signature([fn], return_annotation="CheckResult")

    def __get__(self, obj: Any, owner: Any = None) -> Check:  # a check is a routine (the API page shows it so)
        return self

    def public_cases(self) -> list[Any]:
        """The test cases the notebook's check runs."""
        return list(self.cases() if callable(self.cases) else self.cases)

    def hidden_cases(self, rng: np.random.Generator) -> list[Any]:
        """Test cases drawn with ``rng`` for grading (at least one)."""
        found = list(self.hidden(rng))
        if not found:
            raise ValueError(f"{self.__name__}: hidden(rng) returned no test cases")
        return found

    def __call__(self, fn: Callable[..., Any]) -> CheckResult:
        for case in self.public_cases():
            failed = self.judge(fn, case)
            if failed is not None:
                return failed
        return CheckResult(True, self.success() if callable(self.success) else self.success)

    def __repr__(self) -> str:
        return f"<check {self.__name__}>"


def check(
    *,
    cases: Sequence[Any] | Callable[[], Sequence[Any]],
    hidden: Callable[[np.random.Generator], Sequence[Any]],
    success: str | Callable[[], str],
) -> Callable[[Judge], Check]:
    """Decorator: turn a judge ``judge(fn, case) -> CheckResult | None`` into a :class:`Check`."""

    def wrap(judge: Judge) -> Check:
        return Check(judge, cases=cases, hidden=hidden, success=success)

    return wrap


class MatVec:
    """The map ``v -> matrix @ v``: a matrix handed to an answer as a function (it can cross to a grading kernel)."""

    def __init__(self, matrix: Any) -> None:
        self.matrix = np.asarray(matrix, dtype=float)
        if self.matrix.ndim != 2 or self.matrix.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {self.matrix.shape}")

    def __call__(self, v: Any) -> np.ndarray:
        return self.matrix @ np.asarray(v, dtype=float)

    def __repr__(self) -> str:
        return f"<matvec of a {self.matrix.shape[0]} x {self.matrix.shape[0]} matrix>"


class Graded(NamedTuple):
    """One graded code exercise of a chapter's ``GRADED`` table (see :mod:`utils.exercises`).

    ``function`` is the name the student defines in the cell tagged ``answer`` under the
    exercise; ``check(fn)`` returns a :class:`CheckResult` (a :class:`Check` also gives hidden test
    cases and partial credit when grading); ``points`` is the exercise's weight. ``forbid`` names
    the ``utils`` functions that compute the answer (dotted, ``"utils.branching.extinction_probability"``):
    the grader rejects an answer whose code names one, and withholds them while it grades.
    ``written`` is the weight of the exercise's hand-marked part (a "why" question), 0 if none.
    """

    function: str
    check: Callable[[Any], CheckResult]
    points: float = 1
    forbid: tuple[str, ...] = ()
    written: float = 0


def uniform(rng: np.random.Generator, lo: float, hi: float, digits: int = 4) -> float:
    """A random number in ``[lo, hi]`` rounded to ``digits`` decimals (short to print in a hint)."""
    return round(float(rng.uniform(lo, hi)), digits)
