"""Coursework tooling: student copies, answer keys and an autograder for the chapter notebooks.

Run it from the repository root (the Makefile does)::

    python -m utils.coursework student [--tag TAG]  # -> _build/student/chapters
    python -m utils.coursework answer-key  # -> _build/answer-key/chapters
    python -m utils.coursework grade a.ipynb b.ipynb --csv grades.csv

It relies on the coursework format described in :mod:`utils.exercises` and uses only
nbformat and nbclient. Modules: :mod:`~utils.coursework.parse` reads the format,
:mod:`~utils.coursework.copies` writes the two copies, :mod:`~utils.coursework.grading` runs
submissions, :mod:`~utils.coursework.checks` scores one answer with its chapter's check.
"""

from .checks import graded_on_page, graded_table, score
from .copies import ANSWER_KEY, STUDENT, make_copy, pin_setup, write_copies
from .grading import COLUMNS, Row, grade, grade_notebook, write_csv
from .parse import Exercise, FormatError, chapter_number, exercise_labels, exercises

__all__ = [
    "ANSWER_KEY",
    "COLUMNS",
    "Exercise",
    "FormatError",
    "Row",
    "STUDENT",
    "chapter_number",
    "exercise_labels",
    "exercises",
    "grade",
    "grade_notebook",
    "graded_on_page",
    "graded_table",
    "make_copy",
    "pin_setup",
    "score",
    "write_copies",
    "write_csv",
]
