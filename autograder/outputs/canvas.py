"""grades.csv as the gradebook CSV that Canvas imports (Grades > Import).

    python -m autograder.outputs.canvas OUT [--roster ROSTER.csv] [--assignment "hw2 (1234)"] [--score final]

Writes OUT/canvas.csv with Canvas's columns: Student, ID, SIS User ID, SIS Login ID, Section, then one
column for the assignment, with a "Points Possible" row first. Students are matched by their Canvas user
id, which a Canvas download puts in its file names (autograder.intake.collect). With a roster (Canvas's own
gradebook export: Grades > Export), names, SIS ids and sections come from it, and its students without
a graded submission get an empty cell (Canvas leaves their grade as it is). The assignment's column must
be named as in that export ("hw2 (1234)", the number being Canvas's assignment id) to update it;
another name makes Canvas create a new assignment.
"""
import argparse
import csv
from pathlib import Path

from autograder.outputs.grades_csv import spreadsheet_safe

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
GRADED = ("graded", "partial")


def _read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as file:  # Canvas exports start with a BOM
        return list(csv.DictReader(file))


def canvas_rows(grades, roster=None, score="final"):
    """(rows for Canvas: dicts with IDENTITY and "score", points possible, ids graded but not in the roster).

    grades: rows of grades.csv; roster: rows of a Canvas gradebook export, or None; score: the column of
    grades.csv to upload (final: after any late penalty)."""
    by_id = {row["student"]: row for row in grades}
    points = next((row["max"] for row in grades if row.get("max")), "")
    scored = {student: row[score] if row["status"] in GRADED else "" for student, row in by_id.items()}
    if roster is None:
        rows = [{"Student": row.get("name", ""), "ID": student, "SIS User ID": "", "SIS Login ID": "", "Section": "",
                 "score": scored[student]} for student, row in sorted(by_id.items())]
        return rows, points, []
    people = [person for person in roster  # not the "Points Possible" row
              if person.get("ID", "").strip() and person.get("Student", "").strip() != "Points Possible"]
    rows = [{**{column: person.get(column, "") for column in IDENTITY}, "score": scored.get(person["ID"].strip(), "")}
            for person in people]
    unknown = sorted(set(by_id) - {person["ID"].strip() for person in people})
    return rows, points, unknown


def write_canvas_csv(out, roster=None, assignment="hw2", score="final"):
    """Write OUT/canvas.csv from OUT/grades.csv; return (its path, ids graded but not in the roster)."""
    out = Path(out)
    rows, points, unknown = canvas_rows(_read_csv(out / "grades.csv"), _read_csv(roster) if roster else None, score)
    path = out / "canvas.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*IDENTITY, assignment])
        writer.writerow(["    Points Possible", "", "", "", "", points])
        writer.writerows([spreadsheet_safe(row[column]) for column in IDENTITY] + [row["score"]] for row in rows)
    return path, unknown


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (holds grades.csv)")
    parser.add_argument("--roster", type=Path, help="Canvas's gradebook export (Grades > Export) for names and sections")
    parser.add_argument("--assignment", default="hw2",
                        help='the assignment column, as Canvas names it: "hw2 (1234)" (default hw2: a new column)')
    parser.add_argument("--score", default="final", choices=["final", "total", "auto_score"],
                        help="the grades.csv column to upload (default final: after any late penalty)")
    args = parser.parse_args(argv)
    if not (args.out / "grades.csv").exists():
        parser.error(f"no grades.csv in {args.out}: grade first (./kit grade SUBMISSIONS --out {args.out})")
    path, unknown = write_canvas_csv(args.out, args.roster, args.assignment, args.score)
    print(f"wrote {path}: import it in Canvas (Grades > Import)")
    if unknown:
        print(f"not in the roster, left out: {', '.join(unknown)}")


if __name__ == "__main__":
    main()
