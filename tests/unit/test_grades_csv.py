"""grades.csv's rows (autograder/outputs/grades_csv.py) from an nbgrader gradebook in an SQLite file made here:
a part still to grade by hand is blank, not 0, and so is the final; under a late policy the penalty's base
decides what is known before the hand grading is done. Cells and points are the master's."""
from datetime import timedelta

import nbgrader.api
import pytest
from nbgrader.api import Gradebook

from autograder.assignment import master, release
from autograder.intake.collect import Submission
from autograder.intake.late import LatePolicy, parse_time
from autograder.outputs.grades_csv import grade_rows

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
DUE = parse_time("2026-10-01T23:59-07:00")
AUTO = master.read().auto[0]  # an autograded part and a part graded by hand, of the master
HAND = next(part for part in master.read().parts if part.by_hand)


@pytest.fixture(autouse=True)
def _no_alembic_command(monkeypatch):
    """A new gradebook asks the `alembic` command for its schema version (seconds): not needed here."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "unit-test")


@pytest.fixture()
def gradebook(tmp_path):
    """ann: every autograded point, her written answer not graded yet; ben: every autograded point and half
    of the written answer's, graded by hand."""
    gradebook = Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    gradebook.add_assignment(release.ASSIGNMENT)
    gradebook.update_or_create_notebook(release.NOTEBOOK, release.ASSIGNMENT)
    gradebook.update_or_create_grade_cell(AUTO.grade_id, release.NOTEBOOK, release.ASSIGNMENT, max_score=AUTO.points,
                                          cell_type="code")
    gradebook.update_or_create_grade_cell(HAND.grade_id, release.NOTEBOOK, release.ASSIGNMENT, max_score=HAND.points,
                                          cell_type="markdown")
    gradebook.update_or_create_solution_cell(HAND.grade_id, release.NOTEBOOK, release.ASSIGNMENT)
    for student, manual in (("ann", None), ("ben", HAND.points / 2)):
        gradebook.add_student(student)
        gradebook.add_submission(release.ASSIGNMENT, student)
        auto = gradebook.find_grade(AUTO.grade_id, release.NOTEBOOK, release.ASSIGNMENT, student)
        auto.auto_score, auto.needs_manual_grade = AUTO.points, False
        hand = gradebook.find_grade(HAND.grade_id, release.NOTEBOOK, release.ASSIGNMENT, student)
        hand.manual_score, hand.needs_manual_grade = manual, manual is None  # as nbgrader and formgrader set them
    gradebook.db.commit()
    yield gradebook
    gradebook.close()


def _rows(gradebook, tmp_path, policy=None, late=timedelta(0)):
    """grades.csv's rows by student; both submitted ``late`` after the due time."""
    submissions = [Submission(student, tmp_path / f"{student}.ipynb", canvas_id=canvas_id, submitted_at=DUE + late)
                   for student, canvas_id in (("ann", "1001"), ("ben", ""))]
    ledger = {student: {"status": "graded", "version": "v"} for student in ("ann", "ben")}
    rows, parts = grade_rows(gradebook, submissions, ledger, "v", policy)
    assert parts == [AUTO.grade_id, HAND.grade_id]
    return {row["student"]: row for row in rows}


def test_a_part_still_to_grade_by_hand_is_blank_and_so_is_the_final(gradebook, tmp_path):
    ann, ben = _rows(gradebook, tmp_path).values()
    assert (ann[AUTO.grade_id], ann[HAND.grade_id]) == (AUTO.points, ""), "not graded yet is not 0"
    assert (ann["total"], ann["final"], ann["auto_score"]) == (AUTO.points, "", AUTO.points)
    assert (ben[HAND.grade_id], ben["total"], ben["final"]) == (HAND.points / 2, AUTO.points + HAND.points / 2,
                                                                AUTO.points + HAND.points / 2)
    assert (ann["canvas_id"], ben["canvas_id"]) == ("1001", ""), "the Canvas user id, when the download gave it"


def test_a_late_penalty_of_the_points_possible_is_known_before_the_hand_grading(gradebook, tmp_path):
    possible = AUTO.points + HAND.points
    ann, ben = _rows(gradebook, tmp_path, LatePolicy(DUE, 10), timedelta(hours=1)).values()  # 1 day late: 10%
    assert (ann["late_days"], ann["late_penalty"], ann["final"]) == (1, round(possible / 10, 2), "")
    assert ben["late_penalty"] == round(possible / 10, 2)
    assert ben["final"] == round(AUTO.points + HAND.points / 2 - possible / 10, 2)
    assert ann["auto_final"] == round(AUTO.points - AUTO.points / 10, 2), "--partial: 10% of the autograded points"


def test_a_late_penalty_of_the_score_waits_for_the_hand_grades(gradebook, tmp_path):
    ann, ben = _rows(gradebook, tmp_path, LatePolicy(DUE, 10, base="score"), timedelta(hours=1)).values()
    assert (ann["late_days"], ann["late_penalty"], ann["final"]) == (1, "", "")
    score = AUTO.points + HAND.points / 2
    assert (ben["late_penalty"], ben["final"]) == (round(score / 10, 2), round(score - score / 10, 2))
    assert ann["auto_final"] == round(AUTO.points - AUTO.points / 10, 2)
