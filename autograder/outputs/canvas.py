"""grades.csv as the gradebook CSV that Canvas imports (Grades > Import).

    python -m autograder.outputs.canvas OUT [--roster ROSTER.csv] [--assignment "hw2 (1234)"] [--score final]

Writes OUT/canvas.csv with Canvas's columns: Student, ID, SIS User ID, SIS Login ID, Section, then one
column for the assignment, with a "Points Possible" row first. Students are matched by their Canvas user
id, which a Canvas download puts in its file names (autograder.intake.collect). With a roster (Canvas's own
gradebook export: Grades > Export), names, SIS ids and sections come from it, and its students without
a graded submission get an empty cell (Canvas leaves their grade as it is). The assignment's column must
be named as in that export ("hw2 (1234)", the number being Canvas's assignment id) to update it;
another name makes Canvas create a new assignment.

grades.csv and the roster are read whole first (autograder.intake.tables): a file Canvas could be given
wrong data from stops the command with its file, line and column, and nothing is written. A student whose
row cannot be exported (a score that is not a number) gets an empty cell, and the command says why.
"""
import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.intake.tables import TableError, read_table
from autograder.outputs.spreadsheet import write_csv

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADED = ("graded", "partial")
SCORES = ("final", "total", "auto_score")
POINTS_POSSIBLE = "Points Possible"


@dataclass(frozen=True)
class Export:
    """What canvas.csv holds: rows (dicts with IDENTITY and "score": a number, or "" to leave the grade in
    Canvas as it is), points (number or "", points possible), unknown (ids graded but not in the roster) and
    problems (str: a student whose score was left out, and why)."""
    rows: list
    points: object
    unknown: list
    problems: list


def canvas_export(grades, roster=None, score="final"):
    """The Export of ``grades`` (the Table of grades.csv) with ``roster`` (the Table of a Canvas gradebook
    export, or None); ``score``: the column of grades.csv to upload (final: after any late penalty)."""
    problems, scored = [], {}
    for row in grades.rows:
        student = row.values["student"]
        try:
            scored[student] = _score(grades, row, score) if row.values["status"] in GRADED else ""
        except ValueError as error:
            scored[student] = ""
            problems.append(f"{student}: left without a score: {error}")
        except Exception as error:  # one student's row never stops the others'
            scored[student] = ""
            problems.append(f"{student}: left without a score (the export failed: {type(error).__name__}: {error})")
    maximum = next((row for row in grades.rows if row.values["max"].strip()), None)
    points = _score(grades, maximum, "max") if maximum else ""
    if roster is None:
        names = {row.values["student"]: row.values.get("name", "") for row in grades.rows}
        rows = [{"Student": names[student], "ID": student, "score": scored[student]} for student in sorted(scored)]
        return Export(rows, points, [], problems)
    people = [person.values for person in roster.rows if person.values["ID"].strip()
              and person.values["Student"].strip() != POINTS_POSSIBLE]
    rows = [{**{column: person.get(column, "") for column in IDENTITY}, "score": scored.get(person["ID"].strip(), "")}
            for person in people]
    unknown = sorted(set(scored) - {person["ID"].strip() for person in people})
    return Export(rows, points, unknown, problems)


def _score(table, row, column):
    """The number in ``row``'s ``column`` (int when whole); ValueError naming its place otherwise."""
    text = row.values[column].strip()
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{table.place(row, column)}: {text!r} is not a number")
    return int(value) if value.is_integer() else value


def read_export(out, roster=None, score="final"):
    """The Export of OUT/grades.csv with the roster file ``roster`` (or None); TableError (a ValueError naming
    file, line and column) when either cannot be used: a column missing, a student twice."""
    grades = read_table(Path(out) / "grades.csv", required=("student", "status", "max", score))
    problems = _repeated(grades, "student")
    people = None
    if roster:
        people = read_table(roster, required=("Student", "ID"))
        problems += _repeated(people, "ID")
    if problems:
        raise TableError(problems)
    return canvas_export(grades, people, score)


def _repeated(table, column):
    first, problems = {}, []
    for row in table.rows:
        value = row.values[column].strip()
        if value and value in first:
            problems.append(f"{table.place(row, column)}: {value!r} is also on line {first[value]}; keep one")
        first.setdefault(value, row.line)
    return problems


def write_export(out, export, assignment="hw2"):
    """Write ``export`` (an Export) to OUT/canvas.csv (whole or not at all); return its path."""
    columns = [*IDENTITY, assignment]
    return write_csv(Path(out) / "canvas.csv", columns, [
        {"Student": f"    {POINTS_POSSIBLE}", assignment: export.points},
        *({**row, assignment: row["score"]} for row in export.rows)])


def write_canvas_csv(out, roster=None, assignment="hw2", score="final"):
    """Write OUT/canvas.csv from OUT/grades.csv; return (its path, ids graded but not in the roster)."""
    export = read_export(out, roster, score)
    return write_export(out, export, assignment), export.unknown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (holds grades.csv)")
    parser.add_argument("--roster", type=Path, help="Canvas's gradebook export (Grades > Export) for names and sections")
    parser.add_argument("--assignment", default="hw2",
                        help='the assignment column, as Canvas names it: "hw2 (1234)" (default hw2: a new column)')
    parser.add_argument("--score", default="final", choices=SCORES,
                        help="the grades.csv column to upload (default final: after any late penalty)")
    args = parser.parse_args(argv)
    if not (args.out / "grades.csv").exists():
        parser.error(f"no grades.csv in {args.out}: grade first (./kit grade SUBMISSIONS --out {args.out})")
    if args.assignment in IDENTITY:
        parser.error(f"--assignment {args.assignment!r} is one of Canvas's own columns; name the assignment")
    try:
        export = read_export(args.out, args.roster, args.score)
    except ValueError as error:
        parser.error(str(error))
    path = write_export(args.out, export, args.assignment)
    print(f"wrote {path}: import it in Canvas (Grades > Import)")
    if export.unknown:
        print(f"not in the roster, left out: {', '.join(export.unknown)}")
    for problem in export.problems:
        print(f"WARNING: {problem}", file=sys.stderr)


if __name__ == "__main__":
    main()
