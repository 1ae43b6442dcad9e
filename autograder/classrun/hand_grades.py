"""Hand grades (formgrader's manual scores, extra credit and comments): kept across a change of the
master, and those on autograded cells dropped when the student's file changes.

nbgrader refuses to change an assignment's cells while its gradebook holds submissions, so when the
master changes the grader takes the submissions out of the class gradebook, rebuilds the assignment
and regrades. Before that, ``save`` writes every hand grade to OUT/hand_grades.json; ``restore`` puts
a student's back when the student's new autograde is merged, for the cells that still exist with the
same points (a hand score out of other points must be given again: the note says so).

A hand grade is given in formgrader on the grades the class gradebook shows, those of the file merged
last (the ledger's merged_sha256). When a student's new file is merged, ``expire`` drops the hand
scores and extra credit of autograded cells given for the earlier file: they judged code that is gone,
and the grader's verdict on the new code stands. The hand grades of parts graded by hand (written
answers, plots) stay, since no grader judged them, with a note that they were given for the earlier file.

    OUT/hand_grades.json   {student: {grade_id: {"manual_score", "extra_credit", "max_score", "manual_comment"}}}
"""
import json

from nbgrader.api import MissingEntry

from autograder.assignment import master, release

FILE = "hand_grades.json"


def _load(path):
    return json.loads(path.read_text()) if path.exists() else {}


def _write(path, saved):
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(saved, indent=1, sort_keys=True))
    temporary.replace(path)  # atomic


def save(gradebook, path):
    """Add every hand grade of the assignment in ``gradebook`` to the file at ``path``; return the
    students who have some. What is already in the file (a rebuild that was interrupted) is kept
    unless the gradebook has a newer value for the same cell."""
    saved = _load(path)
    for submission in gradebook.find_assignment(release.ASSIGNMENT).submissions:
        student = saved.setdefault(submission.student_id, {})
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.manual_score is not None or grade.extra_credit:
                    student.setdefault(grade.name, {}).update(
                        manual_score=grade.manual_score, extra_credit=grade.extra_credit, max_score=grade.max_score)
            for comment in notebook.comments:
                if comment.manual_comment:
                    student.setdefault(comment.name, {})["manual_comment"] = comment.manual_comment
    saved = {student: cells for student, cells in saved.items() if cells}
    _write(path, saved)
    return sorted(saved)


def restore(gradebook, student, path):
    """Put the saved hand grades of ``student`` into ``gradebook`` (after the student's autograde was
    merged) and drop them from the file; return notes on the ones that could not be put back."""
    saved = _load(path)
    cells = saved.pop(student, {})
    notes = []
    for grade_id, values in sorted(cells.items()):
        if "manual_comment" in values:
            try:
                gradebook.find_comment(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student).manual_comment = \
                    values["manual_comment"]
            except MissingEntry:  # the cell is no longer in the assignment
                pass
        if values.get("manual_score") is None and not values.get("extra_credit"):
            continue
        try:
            grade = gradebook.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student)
        except MissingEntry:  # a removed question's hand grade goes with it
            continue
        if grade.max_score != values["max_score"]:
            given = [f"{values['manual_score']:g}/{values['max_score']:g}" if values.get("manual_score") is not None
                     else "", f"extra credit {values['extra_credit']:g}" if values.get("extra_credit") else ""]
            notes.append(f"{grade_id}: the hand grade ({', '.join(filter(None, given))}) was not kept because the "
                         f"part is now worth {grade.max_score:g}; grade it again in formgrader")
            continue
        grade.manual_score, grade.extra_credit = values["manual_score"], values["extra_credit"]
        grade.needs_manual_grade = False
    gradebook.db.commit()
    if cells:
        _write(path, saved)
    return notes


def _given(grade):
    """A hand grade as the notes say it: '1/2', '1/2 and extra credit 0.5', 'extra credit 0.5'."""
    parts = [f"{grade.manual_score:g}/{grade.max_score:g}" if grade.manual_score is not None else "",
             f"extra credit {grade.extra_credit:g}" if grade.extra_credit else ""]
    return " and ".join(filter(None, parts))


def expire(gradebook, student, merged, given_for):
    """After the file ``merged`` (its SHA-256) of ``student`` was merged into ``gradebook`` (and restore put
    the saved hand grades back), drop the hand grades of autograded cells given for another file
    (``given_for``: the SHA-256 of the file merged before, None when unknown); the hand grades of parts
    graded by hand stay. Returns a note (str) per hand grade dropped or kept from another file."""
    if merged == given_for:
        return []
    autograded = {part.grade_id for part in master.read().auto}
    notes = []
    for grade in gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student).grades:
        if grade.manual_score is None and not grade.extra_credit:
            continue
        if grade.name in autograded:
            notes.append(f"{grade.name}: the hand grade {_given(grade)} was dropped: it was given for an earlier file, "
                         f"and the grader's {grade.auto_score:g}/{grade.max_score:g} for this file stands")
            grade.manual_score, grade.extra_credit, grade.needs_manual_grade = None, None, False
        else:
            notes.append(f"{grade.name}: the hand grade {_given(grade)} was given for an earlier file; kept: "
                         "look at this file's answer in formgrader")
    gradebook.db.commit()
    return sorted(notes)
