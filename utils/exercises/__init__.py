"""Checks for the code exercises: each tells the student whether an exercise answer is right.

One module per chapter (``utils.exercises.ch01`` ...). A check never raises on a wrong
or unfinished answer: it returns a :class:`CheckResult` that prints a verdict and a hint,
so a notebook with an unfinished exercise still runs to the end.

**The coursework format** (every chapter follows it; ``make student``, ``make answer-key``
and ``make grade`` rely on it):

- Every exercise is a sphinx-exercise block ``:::{exercise}`` with a stable label
  ``:label: chNN-ex-<slug>`` and a time estimate in its text ("(About 20 minutes.)"), alone in
  its markdown cell. Its solution is a ``:::{solution} chNN-ex-<slug>`` block with
  ``:class: dropdown``, alone in its own markdown cell, placed *after* the exercise's code cells.
- A graded code exercise is followed by (1) a code cell tagged ``answer`` that holds only the
  stub, a function ``my_...`` whose body raises ``NotImplementedError``, then (2) a code cell
  that calls the check on it, e.g. ``check_extinction_probability(my_extinction)``. The first
  fenced ``python`` block of the solution is the reference answer: it defines the same
  function and runs on its own, using at most the names the notebook imports (not the values
  it computes); the answer key puts it in place of the stub. Code that uses the notebook's
  results goes in a second block.
- Each chapter module declares its graded exercises in a ``GRADED`` table, mapping the
  exercise label to a :class:`Graded` entry (function name, check, points, the course functions
  the answer must not call, the points of a hand-marked "why" part)::

      GRADED = {
          "ch02-ex-fixed-point": Graded(
              "my_extinction",
              check_extinction_probability,
              forbid=("utils.branching.extinction_probability",),
              written=1,
          )
      }

  and its written exercises, with their points, in a ``WRITTEN`` table. Grading goes by
  function name, so cells a student adds do not break it.
- A check is made of test cases (:func:`check`): a judge of one case, the public cases the
  notebook's check cell runs, and ``hidden(rng)``, which draws fresh cases of the same kinds
  for grading, so that typing in the public cases' values earns nothing. A check computes the
  right answer in the open (the notebook needs it), so a graded variant kept private needs a
  private check. Arguments and return values cross to a grading kernel as plain data
  (numbers, strings, lists, tuples, sets, dicts, NumPy arrays, torch tensors, a
  ``SimpleNamespace``, a :class:`MatVec`): a check passes nothing else.
- The student copy replaces each solution by a "Your answer" cell; the answer key puts a
  "Model answer" cell (the solution's text) in the same place.
- ``tests/test_coursework.py`` holds every chapter to this format: every reference answer
  passes its check on the public and on hidden cases, every stub fails it, ``GRADED`` matches
  the ``answer`` cells and ``WRITTEN`` the other exercises.
"""

from ._core import Check, CheckResult, Graded, MatVec, attempt, attempt_number, check, uniform

__all__ = ["Check", "CheckResult", "Graded", "MatVec", "attempt", "attempt_number", "check", "uniform"]
