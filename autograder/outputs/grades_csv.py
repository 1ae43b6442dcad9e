"""grades.csv: one row per student with the score of every graded part, the totals, the status, the
reason for every lost point, signs of tampering, and under a late policy the submission time, days
late, penalty and final score. Read from the class gradebook (so hand grades count) and the ledger.

A part still to grade by hand is blank, not 0, and so is the final score of a student with such a part:
"not graded yet" is never exported as a grade (autograder/outputs/canvas.py refuses it). ``total`` is
the points so far; ``auto_final`` the autograded points after the late penalty (what ``./kit canvas
--partial`` uploads before the hand grading is done); ``canvas_id`` the Canvas user id, when the
submissions came from a Canvas download.
"""
import warnings

from sqlalchemy.exc import SAWarning

from autograder.assignment import master, release
from autograder.outputs.spreadsheet import write_csv

GRADED = ("graded", "partial")


def number(value):
    """A score for the CSV: '' for None, an int when whole, else rounded to 2 decimals."""
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else round(float(value), 2)


def not_graded_yet(grade):
    """Whether an nbgrader Grade waits for a hand grade: flagged for one and given none."""
    return bool(grade.needs_manual_grade) and grade.manual_score is None


def grade_rows(gradebook, submissions, ledger, version, policy=None, times=None):
    """The rows of grades.csv (list of dict, sorted by student) for ``submissions`` (intake
    Submissions), from ``gradebook`` (an open nbgrader Gradebook) and ``ledger`` ({student: entry}),
    under master ``version`` (str); with a late policy (intake.late.LatePolicy) the submission time
    (from the export, else ``times``: {student: datetime}), days late, penalty and final score (blank while
    a part is still to grade by hand, and so is a penalty of the score)."""
    times = times or {}
    order = list(master.read().grade_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's relationships warn on autoflush
        notebook = gradebook.find_notebook(release.NOTEBOOK, release.ASSIGNMENT)
        cells = list(notebook.grade_cells) + list(notebook.task_cells)
        parts = sorted((c.name for c in cells), key=order.index)
        maximum = {c.name: c.max_score for c in cells}
        automatic = [c.name for c in notebook.grade_cells if c.cell_type == "code"]
        rows = []
        for submission in sorted(submissions, key=lambda s: s.student_id):
            entry = ledger.get(submission.student_id, {})
            if entry and entry.get("version") != version:  # an interrupted regrade: not mixed in
                entry = {"status": "stale", "reason": f"graded under an earlier version of the master "
                         f"({entry.get('version')}); run ./kit grade again to grade it under {version}"}
            row = {"student": submission.student_id, "name": submission.name, "canvas_id": submission.canvas_id,
                   "status": entry.get("status"), "auto_max": number(sum(maximum[p] for p in automatic)),
                   "max": number(sum(maximum.values()))}
            scores, pending = {}, []
            if entry.get("status") in GRADED:
                found = gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT,
                                                           submission.student_id)
                scores = {g.name: g.score for g in found.grades}
                pending = [g.name for g in found.grades if not_graded_yet(g)]
                row["needs_manual_grade"] = sum(g.needs_manual_grade for g in found.grades)
            for part in parts:
                row[part] = number(scores.get(part)) if scores and part not in pending else ""
            auto_score = sum(scores.get(p) or 0 for p in automatic)
            row["auto_score"] = number(auto_score)
            row["total"] = number(sum(v or 0 for name, v in scores.items() if name not in pending))
            submitted_at = times.get(submission.student_id, submission.submitted_at)
            row["submitted_at"] = submitted_at.isoformat() if submitted_at else ""
            penalty = auto_penalty = None
            if policy:
                penalty = policy.penalty(None if pending else row["total"], row["max"], submitted_at,
                                         submission.marked_late)
                auto_penalty = policy.penalty(auto_score, row["auto_max"], submitted_at, submission.marked_late)
            row["late_days"] = penalty.days if penalty else ""
            row["late_penalty"] = number(penalty.points) if penalty else ""
            row["final"] = "" if pending else number(row["total"] - (penalty.points if penalty else 0))
            row["auto_final"] = number(auto_score - (auto_penalty.points if auto_penalty else 0))
            lost = [f"{part}: {why}" for part, why in sorted(
                entry.get("reasons", {}).items(),
                key=lambda item: order.index(item[0]) if item[0] in order else len(order))]
            row["reason"] = " | ".join(filter(None, [entry.get("reason", "")] + lost))
            row["review"] = " | ".join(entry.get("review", []))
            rows.append(row)
    return rows, parts


def write_grades_csv(path, rows, parts):
    """Write ``rows`` (from grade_rows) with the graded ``parts`` (list of grade_id) to ``path``, every
    field spreadsheet-safe (outputs.spreadsheet), whole or not at all."""
    columns = ["student", "name", "canvas_id", "status", *parts, "auto_score", "auto_max", "needs_manual_grade",
               "total", "max", "submitted_at", "late_days", "late_penalty", "final", "auto_final", "reason", "review"]
    write_csv(path, columns, rows)
