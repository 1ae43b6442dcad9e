"""grades.csv as the gradebook CSV that Canvas imports (Grades > Import).

    python -m autograder.outputs.canvas OUT [--roster ROSTER.csv] [--assignment "hw2 (1234)"] [--score final]
                                            [--partial] [--skip-unmatched]

Writes OUT/canvas.csv with Canvas's columns: Student, ID, SIS User ID, SIS Login ID, Section, then one
column for the assignment, with a "Points Possible" row first. The ID is the Canvas user id: a Canvas
download puts it in its file names (autograder.intake.collect, grades.csv's canvas_id); a roster (Canvas's
own gradebook export: Grades > Export) has it for every student, with names, SIS ids and sections, and
students of the roster without a graded submission get an empty cell (Canvas leaves their grade as it is).

Only complete grades go to Canvas. The command stops, writes nothing and says who and how to go on, when
    - a graded student has parts still to grade by hand (blank in grades.csv): grade them in formgrader and
      run ./kit grade again, or upload the autograded points alone with --partial;
    - there is no roster and a student has no Canvas user id (folders and Gradescope name students
      otherwise): give the roster with --roster;
    - the roster has none of the graded students, or lacks some (--skip-unmatched leaves those out).

How Canvas reads the assignment's column: a name ending in the assignment's id in parentheses ("hw2
(1234)", as the gradebook export names it) updates that assignment; any other name updates the
assignment titled exactly so, and when there is none Canvas creates one (with the Points Possible row's
points). --partial names its column "<title> (autograded only)" ("hw2 (1234)" gives "hw2 (autograded
only)"): the first partial import creates that assignment, later ones update it, and the assignment
itself is left alone until its grades are complete.

grades.csv and the roster are read whole first (autograder.intake.tables): a file Canvas could be given
wrong data from stops the command with its file, line and column, and nothing is written. A student whose
row cannot be exported (a score that is not a number) gets an empty cell, and the command says why.
"""
import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import master
from autograder.intake.tables import TableError, read_table
from autograder.outputs.spreadsheet import write_csv

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADED = ("graded", "partial")
SCORES = ("final", "total")  # grades.csv's columns to upload: after any late penalty, before it
PARTIAL = {"final": "auto_final", "total": "auto_score"}  # the same, of the autograded points alone
POINTS_POSSIBLE = "Points Possible"
PARTIAL_LABEL = "(autograded only)"
CANVAS_ID_AT_END = re.compile(r"\A(.*)\s\((\d+)\)\Z")  # how Canvas's importer finds an assignment's id


class ExportRefused(ValueError):
    """Grades not ready for Canvas; problems (list of str): who, and how to go on."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Export:
    """What canvas.csv holds: rows (dicts with IDENTITY and "score": a number, or "" to leave the grade in
    Canvas as it is), points (number or "", points possible), unknown (ids graded but not in the roster) and
    problems (str: a student whose score was left out, and why)."""
    rows: list
    points: object
    unknown: list
    problems: list


def canvas_export(grades, roster=None, score="final", partial=False, skip_unmatched=False):
    """The Export of ``grades`` (the Table of grades.csv) with ``roster`` (the Table of a Canvas gradebook
    export, or None); ``score``: a key of SCORES; ``partial``: the autograded points alone (out of the
    autograded points possible); ``skip_unmatched``: leave out graded students the roster lacks.
    ExportRefused when the grades are not ready (the module's list)."""
    column = PARTIAL[score] if partial else score
    graded = {row.values["student"] for row in grades.rows if row.values["status"] in GRADED}
    refused = [] if partial else _waiting(grades)
    problems, scored = [], {}
    for row in grades.rows:
        student = row.values["student"]
        try:
            scored[student] = _score(grades, row, column) if student in graded else ""
        except ValueError as error:
            scored[student] = ""
            problems.append(f"{student}: left without a score: {error}")
        except Exception as error:  # one student's row never stops the others'
            scored[student] = ""
            problems.append(f"{student}: left without a score (the export failed: {type(error).__name__}: {error})")
    possible = "auto_max" if partial else "max"
    maximum = next((row for row in grades.rows if row.values[possible].strip()), None)
    points = _score(grades, maximum, possible) if maximum else ""
    if roster is None:
        without = sorted(row.values["student"] for row in grades.rows if not row.values.get("canvas_id", "").strip())
        if without:
            refused.append(f"no Canvas user id for {_listed(without)}: only a Canvas download's file names carry "
                           "them (these students were named by their folders, files or Gradescope); give Canvas's "
                           "gradebook export (Grades > Export) with --roster: its ID column is matched against "
                           "grades.csv's student column")
        if refused:
            raise ExportRefused(refused)
        rows = [{"Student": row.values.get("name", ""), "ID": row.values["canvas_id"].strip(),
                 "score": scored[row.values["student"]]}
                for row in sorted(grades.rows, key=lambda row: row.values["student"])]
        return Export(rows, points, [], problems)
    people = [person.values for person in roster.rows if person.values["ID"].strip()
              and person.values["Student"].strip() != POINTS_POSSIBLE]
    ids = {person["ID"].strip() for person in people}
    unknown = sorted(graded - ids)
    if graded and not graded & ids:
        refused.append(f"{roster.path} has none of the {len(graded)} graded students (its IDs: "
                       f"{_listed(sorted(ids))}; grades.csv's: {_listed(sorted(graded))}): give this course's "
                       "gradebook export (Grades > Export), and grade Canvas's submission download, whose file "
                       "names carry the Canvas user ids the roster's ID column holds")
    elif unknown and not skip_unmatched:
        refused.append(f"{roster.path} lacks graded students: {_listed(unknown)}; export the gradebook from Canvas "
                       "again if they joined since, or leave them out with --skip-unmatched")
    if refused:
        raise ExportRefused(refused)
    rows = [{**{column: person.get(column, "") for column in IDENTITY}, "score": scored.get(person["ID"].strip(), "")}
            for person in people]
    return Export(rows, points, unknown, problems)


def _listed(items, shown=10):
    """'a, b, c' for the first ``shown`` of ``items`` (list of str), the rest counted."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def _waiting(grades):
    """The refusal (a list of one str, or empty) naming the graded students of ``grades`` (Table) with parts
    still to grade by hand (blank in grades.csv), grouped by those parts."""
    parts = [part.grade_id for part in master.read().parts if part.grade_id in grades.columns]
    students = {}
    for row in grades.rows:
        blank = tuple(part for part in parts if not row.values[part].strip())
        if row.values["status"] in GRADED and blank:
            students.setdefault(blank, []).append(row.values["student"])
    if not students:
        return []
    groups = "; ".join(f"{_listed(sorted(who))}: {', '.join(blank)}" for blank, who in students.items())
    out = Path(grades.path).parent
    return [f"parts still to grade by hand ({groups}): grade them in formgrader (./kit formgrade {out}), run the "
            "same ./kit grade again to take the hand grades in, then export; or upload the autograded points alone "
            "with --partial"]


def partial_column(assignment):
    """The column of --partial for the assignment column ``assignment``: its title (without Canvas's id)
    and PARTIAL_LABEL, a name Canvas takes for an assignment of its own."""
    match = CANVAS_ID_AT_END.match(assignment)
    return f"{match[1] if match else assignment} {PARTIAL_LABEL}"


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


def read_export(out, roster=None, score="final", partial=False, skip_unmatched=False):
    """The Export of OUT/grades.csv with the roster file ``roster`` (or None): see canvas_export; TableError
    (a ValueError naming file, line and column) when either cannot be used: a column missing, a student twice."""
    column = PARTIAL[score] if partial else score
    grades = read_table(Path(out) / "grades.csv",
                        required=("student", "status", "auto_max" if partial else "max", column))
    problems = _repeated(grades, "student")
    people = None
    if roster:
        people = read_table(roster, required=("Student", "ID"))
        problems += _repeated(people, "ID")
    if problems:
        raise TableError(problems)
    return canvas_export(grades, people, score, partial, skip_unmatched)


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


def write_canvas_csv(out, roster=None, assignment="hw2", score="final", partial=False, skip_unmatched=False):
    """Write OUT/canvas.csv from OUT/grades.csv (the column ``assignment``, or its partial_column); return
    (its path, graded students left out as the roster lacks them). ExportRefused, TableError: nothing written."""
    export = read_export(out, roster, score, partial, skip_unmatched)
    return write_export(out, export, partial_column(assignment) if partial else assignment), export.unknown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (holds grades.csv)")
    parser.add_argument("--roster", type=Path, help="Canvas's gradebook export (Grades > Export): Canvas user ids, "
                                                    "names and sections")
    parser.add_argument("--assignment", default="hw2",
                        help='the assignment column, as Canvas names it: "hw2 (1234)" (default hw2: the assignment '
                             "titled so, or a new one)")
    parser.add_argument("--score", default="final", choices=SCORES,
                        help="final (default): after any late penalty; total: before it (when Canvas applies a "
                             "late policy of its own)")
    parser.add_argument("--partial", action="store_true",
                        help=f'only the autograded points, out of the autograded points possible, in a column '
                             f'named "<title> {PARTIAL_LABEL}", which Canvas creates as an assignment of its own '
                             "(updated by later partial imports); for the time before the hand grading is done")
    parser.add_argument("--skip-unmatched", action="store_true",
                        help="leave out graded students the roster lacks (they are listed) instead of stopping")
    args = parser.parse_args(argv)
    if not (args.out / "grades.csv").exists():
        parser.error(f"no grades.csv in {args.out}: grade first (./kit grade SUBMISSIONS --out {args.out})")
    column = partial_column(args.assignment) if args.partial else args.assignment
    if column in IDENTITY:
        parser.error(f"--assignment {args.assignment!r} is one of Canvas's own columns; name the assignment")
    try:
        export = read_export(args.out, args.roster, args.score, args.partial, args.skip_unmatched)
    except ValueError as error:
        parser.error(f"nothing written:\n{error}" if isinstance(error, ExportRefused) else str(error))
    path = write_export(args.out, export, column)
    print(f"wrote {path}: import it in Canvas (Grades > Import)"
          + (f"; the column {column!r} holds the autograded points alone" if args.partial else ""))
    if export.unknown:
        print(f"not in the roster, left out: {', '.join(export.unknown)}")
    for problem in export.problems:
        print(f"WARNING: {problem}", file=sys.stderr)


if __name__ == "__main__":
    main()
