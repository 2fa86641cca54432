"""The gradebook: from graded submissions to a Canvas CSV, a rubric sheet and one feedback file per student.

- **Students.** A file belongs to the student a roster CSV names for it (column ``file``, or
  Canvas's ``ID`` found in a Canvas download name ``login_12345_67890_name.ipynb``); without a
  roster, to its file name (``alice.ipynb`` -> ``alice``; ``alice/02_branching.ipynb`` ->
  ``alice``). Several files of one student (a chapter split into notebooks) make one row.
- **The wide CSV** imports into Canvas's gradebook ("Import" in the Grades page): the columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per exercise (code
  exercises by label, hand-marked parts as ``<label> (written)`` and written exercises by label)
  and a total; the second row, ``Points Possible``, gives each column's maximum. Canvas matches
  students by ``ID``, ``SIS User ID`` or ``SIS Login ID`` (fill them from Canvas's own gradebook
  export, given as the roster) and offers to create an assignment for each new column.
- **The rubric sheet** has one row per student and hand-marked part: ``student, exercise,
  max_score, score, comment``. Scores entered there are merged into the wide CSV and the feedback
  the next time either is written (``make gradebook``); rows already there are never overwritten.
- **Feedback**: one Markdown file per student with each exercise's score and messages, the cells
  that failed (numbered as the student sees them, from 1 at the top) and their code.

Files that could not be read count as submitted with every exercise scored 0 (the rubric gets 0
too), and a roster's students without any file get 0 everywhere.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .checks import graded_table, written_table
from .grading import Cell, Result, Submission, format_score, one_line

#: The first columns of the wide CSV: the student columns of Canvas's gradebook export.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: The first cell of the wide CSV's second row.
POINTS_POSSIBLE = "Points Possible"
RUBRIC_COLUMNS = ("student", "exercise", "max_score", "score", "comment")
_CANVAS_FILE = re.compile(r"^(?P<login>[^_]+)(?:_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<rest>.+)$")


@dataclass
class Student:
    """One row of the gradebook."""

    key: str  # unique; names the feedback file and the rubric rows
    name: str = ""
    canvas_id: str = ""
    sis_user: str = ""
    sis_login: str = ""
    section: str = ""
    files: list[str] = field(default_factory=list)


def _clean_key(text: str) -> str:
    key = re.sub(r"[^\w.@-]+", "_", text).strip("._-")
    return key or "student"


def read_roster(path: str | Path) -> list[dict[str, str]]:
    """The rows of a roster CSV (Canvas's gradebook export works as one; its ``Points Possible`` row is skipped)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [dict(r) for r in csv.DictReader(f)]
    return [r for r in rows if (r.get("Student") or "").strip() != POINTS_POSSIBLE]


def _roster_student(row: dict[str, str]) -> Student:
    key = row.get("SIS Login ID") or row.get("ID") or row.get("SIS User ID") or row.get("Student") or row.get("file")
    return Student(
        _clean_key(key or "student"),
        name=row.get("Student", "") or "",
        canvas_id=row.get("ID", "") or "",
        sis_user=row.get("SIS User ID", "") or "",
        sis_login=row.get("SIS Login ID", "") or "",
        section=row.get("Section", "") or "",
    )


def _key_from_name(path: str, notebook_names: set[str]) -> str:
    """The student named by a file path: its name without the chapter notebook's name, else its folder
    (the first one up that is not a chapter's folder or ``chapters``)."""
    p = Path(path)
    stem = p.stem
    for name in sorted(notebook_names, key=len, reverse=True):
        nb_stem = Path(name).stem
        if stem == nb_stem:
            for folder in p.parents:
                if folder.name and folder.name != "chapters" and not re.fullmatch(r"\d\d_\w+", folder.name):
                    return _clean_key(folder.name)
            return _clean_key(stem)
        if stem.endswith(nb_stem):
            rest = stem[: -len(nb_stem)].rstrip("_- .")
            if rest:
                return _clean_key(rest)
    return _clean_key(stem)


def assign_students(
    paths: list[str], roster: list[dict[str, str]] | None, notebook_names: set[str]
) -> tuple[list[Student], dict[str, Student], list[str]]:
    """The students (roster order, then the others by key), each file's student, and warnings."""
    students: dict[str, Student] = {}
    warnings: list[str] = []
    by_file: dict[str, Student] = {}
    by_id: dict[str, Student] = {}
    for row in roster or []:
        student = _roster_student(row)
        while student.key in students:
            student.key += "_"
        students[student.key] = student
        if row.get("file"):
            by_file[Path(row["file"]).name] = student
        for column in ("ID", "SIS User ID", "SIS Login ID"):
            if row.get(column):
                by_id.setdefault(row[column], student)
    owner: dict[str, Student] = {}
    for path in paths:
        name = Path(path).name
        student = by_file.get(name)
        canvas = _CANVAS_FILE.match(name)
        if student is None and canvas is not None:
            student = by_id.get(canvas["id"])
            if student is None and roster is None:
                key = _clean_key(canvas["login"])
                student = students.setdefault(key, Student(key, canvas_id=canvas["id"]))
        if student is None:
            key = _key_from_name(path, notebook_names)
            student = by_id.get(key) or students.get(key)
            if student is None:
                if roster is not None:
                    warnings.append(f"{path}: not in the roster; its row has the ID {key!r} from the file name")
                student = students.setdefault(key, Student(key))
        student.files.append(path)
        owner[path] = student
    return list(students.values()), owner, warnings


# ---------------------------------------------------------------------------------------------
# The rubric sheet


def read_rubric(path: str | Path) -> list[dict[str, str]]:
    """The rows of a rubric sheet (empty if the file does not exist)."""
    if not Path(path).exists():
        return []
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [dict(r) for r in csv.DictReader(f)]


def rubric_scores(rows: list[dict[str, str]]) -> dict[tuple[str, str], tuple[float | None, str]]:
    """``(student, exercise) -> (score or None if not marked yet, comment)``; raises ValueError on a bad score."""
    found: dict[tuple[str, str], tuple[float | None, str]] = {}
    for line, row in enumerate(rows, start=2):
        text = (row.get("score") or "").strip()
        value: float | None = None
        if text:
            try:
                value = float(text)
                top = float(row.get("max_score") or "inf")
            except ValueError:
                raise ValueError(f"rubric line {line}: score must be a number, got {text!r}") from None
            if not 0 <= value <= top:
                raise ValueError(f"rubric line {line}: score {value:g} is outside [0, {top:g}]")
        found[(row.get("student", ""), row.get("exercise", ""))] = (value, row.get("comment", "") or "")
    return found


def update_rubric(path: str | Path, wanted: list[tuple[str, str, float, str]]) -> list[dict[str, str]]:
    """Add the rows ``(student, exercise, max_score, prefilled score)`` missing from the sheet; keep the rest."""
    rows = read_rubric(path)
    have = {(r.get("student", ""), r.get("exercise", "")) for r in rows}
    for student, exercise, top, prefilled in wanted:
        if (student, exercise) not in have:
            comment = "no readable submission" if prefilled != "" else ""
            rows.append(
                {
                    "student": student,
                    "exercise": exercise,
                    "max_score": f"{top:g}",
                    "score": prefilled,
                    "comment": comment,
                }
            )
            have.add((student, exercise))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(RUBRIC_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return rows


# ---------------------------------------------------------------------------------------------
# Building the gradebook


@dataclass
class Gradebook:
    """Columns, maxima and every student's scores, code and written."""

    students: list[Student]
    columns: list[str]  # every exercise column in the chapters' order, code and written mixed
    code_columns: list[str]
    written_columns: list[str]
    maxima: dict[str, float]
    code: dict[str, dict[str, float]]  # student key -> exercise -> score
    results: dict[str, dict[str, Result]]  # student key -> exercise -> result (for the feedback)
    submissions: dict[str, list[Submission]]
    written: dict[tuple[str, str], tuple[float | None, str]]
    warnings: list[str]


def build(
    subs: list[Submission], *, roster: list[dict[str, str]] | None = None, rubric: str | Path | None = None
) -> Gradebook:
    """Collect the submissions per student; with ``rubric``, add its missing rows and read its scores."""
    from .grading import chapter_notebooks

    chapters = sorted({s.chapter for s in subs if s.chapter is not None})
    notebook_names = {name for ch in chapters for name in chapter_notebooks(ch)}
    students, owner, warnings = assign_students([s.path for s in subs], roster, notebook_names)
    columns, code_columns, written_columns, maxima = [], [], [], {}
    for ch in chapters:
        graded, written = graded_table(ch), written_table(ch)
        order = [label for labels in chapter_notebooks(ch).values() for label in labels]
        order += [label for label in [*graded, *written] if label not in order and "(written)" not in label]
        for label in order:
            if label in graded:
                code_columns.append(label)
                columns.append(label)
                maxima[label] = float(graded[label].points)
            for name in (label, f"{label} (written)"):
                if name in written:
                    written_columns.append(name)
                    columns.append(name)
                    maxima[name] = written[name]
    code: dict[str, dict[str, float]] = {s.key: dict.fromkeys(code_columns, 0.0) for s in students}
    results: dict[str, dict[str, Result]] = {s.key: {} for s in students}
    submissions: dict[str, list[Submission]] = {s.key: [] for s in students}
    for sub in subs:
        key = owner[sub.path].key
        submissions[key].append(sub)
        for result in sub.results:
            if result.label in code[key]:
                if result.label in results[key]:
                    warnings.append(
                        f"{owner[sub.path].key}: {result.label} is answered by two files; the higher score counts"
                    )
                code[key][result.label] = max(code[key][result.label], result.score)
                if result.score >= code[key][result.label]:
                    results[key][result.label] = result
    written: dict[tuple[str, str], tuple[float | None, str]] = {}
    if rubric is not None:
        wanted = []
        for student in students:
            readable = any(s.readable for s in submissions[student.key])
            for label in written_columns:
                prefilled = "" if readable else "0"
                wanted.append((student.key, label, maxima[label], prefilled))
        written = rubric_scores(update_rubric(rubric, wanted))
    return Gradebook(
        students, columns, code_columns, written_columns, maxima, code, results, submissions, written, warnings
    )


def total(book: Gradebook, student: Student) -> float:
    value = sum(book.code[student.key].values())
    for label in book.written_columns:
        score = book.written.get((student.key, label), (None, ""))[0]
        value += score or 0.0
    return round(value, 4)


def score_cell(book: Gradebook, student: Student, column: str) -> str | int | float:
    """The wide CSV's cell: a code exercise's score, a hand mark, or empty when not marked yet."""
    if column in book.code[student.key]:
        return format_score(book.code[student.key][column])
    value = book.written.get((student.key, column), (None, ""))[0]
    return "" if value is None else format_score(value)


def write_wide(book: Gradebook, path: str | Path, *, total_name: str = "Coursework total") -> None:
    """Write the Canvas gradebook CSV (see the module's docstring)."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, *book.columns, total_name])
        maxima = [format_score(book.maxima[c]) for c in book.columns]
        maximum = format_score(sum(book.maxima[c] for c in book.columns))
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *maxima, maximum])
        for s in book.students:
            login = s.sis_login or ("" if s.canvas_id else s.key)
            scores = [score_cell(book, s, c) for c in book.columns]
            writer.writerow(
                [s.name or s.key, s.canvas_id, s.sis_user, login, s.section, *scores, format_score(total(book, s))]
            )


def _quote(code: str, limit: int = 40) -> list[str]:
    lines = code.rstrip().split("\n")
    shown = lines[:limit] + ([f"... ({len(lines) - limit} more lines)"] if len(lines) > limit else [])
    fence = "````" if "```" in code else "```"
    return [f"{fence}python", *shown, fence]


def feedback(book: Gradebook, student: Student) -> str:
    """The Markdown feedback of one student."""
    lines = [f"# Feedback for {student.name or student.key}", ""]
    subs = book.submissions[student.key]
    if not subs:
        lines += ["No submission was received.", ""]
    for sub in subs:
        lines.append(
            f"- File `{Path(sub.path).name}`" + (f" (chapter {sub.chapter}, `{sub.source}`)" if sub.source else "")
        )
    code_total = sum(book.code[student.key].values())
    code_max = sum(book.maxima[c] for c in book.code_columns)
    lines += [
        "",
        f"**Total: {format_score(total(book, student))} / {format_score(code_max + sum(book.maxima[c] for c in book.written_columns))}** "
        f"(code exercises {format_score(code_total)} / {format_score(code_max)}).",
        "",
    ]
    for sub in subs:
        if sub.problem:
            lines += [f"Note on `{Path(sub.path).name}`: {sub.problem}", ""]
    for label in book.code_columns:
        result = book.results[student.key].get(label)
        lines.append(
            f"## `{label}`: {format_score(book.code[student.key][label])} / {format_score(book.maxima[label])}"
        )
        lines.append("")
        if result is None:
            lines += ["Not submitted.", ""]
            continue
        lines += [result.message, ""]
        if result.details:
            lines += ["Test cases that failed:", ""]
            lines += [f"- {one_line(d, 600)}" for d in result.details]
            lines.append("")
        if result.cell is not None:
            where = f"`{result.function}` is defined in cell {result.cell + 1} (counting every cell from the top)"
            sub = next((s for s in book.submissions[student.key] if result in s.results), None)
            code = sub.code.get(result.cell) if sub is not None else None
            if result.score < result.max_score and code:
                lines += [f"{where}; the code that was graded:", "", *_quote(code), ""]
            else:
                lines += [f"{where}.", ""]
    if book.written_columns:
        lines += ["## Written answers", ""]
        for label in book.written_columns:
            score, comment = book.written.get((student.key, label), (None, ""))
            mark = "not marked yet" if score is None else f"{format_score(score)} / {format_score(book.maxima[label])}"
            lines.append(f"- `{label}`: {mark}" + (f". {comment}" if comment else ""))
        lines.append("")
    for sub in subs:
        failed = [c for c in sub.cells if c.status in ("timeout", "died") or (c.status == "error" and c.changed)]
        if failed:
            lines += [f"## Cells that failed in `{Path(sub.path).name}`", ""]
            lines += ["Cells are numbered from 1 at the top of the notebook, markdown cells included.", ""]
            for cell in failed:
                lines += [f"### Cell {cell.index + 1}: {cell.message}", ""]
                if cell.index in sub.code:
                    lines += [*_quote(sub.code[cell.index]), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(book: Gradebook, folder: str | Path) -> list[Path]:
    """Write one ``<student>.md`` per student into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in book.students:
        path = folder / f"{student.key}.md"
        path.write_text(feedback(book, student))
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------
# Keeping the graded submissions, to rebuild the gradebook after marking


def save_details(subs: list[Submission], path: str | Path, *, seed: int) -> None:
    """Write the submissions' grades, messages and quoted cells as JSON (instructors' eyes only)."""
    data = {"seed": seed, "submissions": [asdict(s) for s in subs]}
    Path(path).write_text(json.dumps(data, indent=1))


def load_details(path: str | Path) -> tuple[list[Submission], int]:
    """The submissions saved by :func:`save_details`, and the seed of their test cases."""
    data: dict[str, Any] = json.loads(Path(path).read_text())
    subs = []
    for raw in data["submissions"]:
        raw["cells"] = [Cell(**c) for c in raw.get("cells", [])]
        raw["results"] = [Result(**r) for r in raw.get("results", [])]
        raw["code"] = {int(k): v for k, v in raw.get("code", {}).items()}
        subs.append(Submission(**raw))
    return subs, int(data.get("seed", 0))
