"""Hand grades kept across a rebuild of the assignment, dropped on autograded cells when the file changes
(autograder/classrun/hand_grades.py) and shown as such in feedback (MarkHandScores), on nbgrader gradebooks in
SQLite files made here. Cells and points are the master's."""
import json

import nbgrader.api
import pytest
import small_masters as nb
from nbgrader.api import Gradebook

from autograder.assignment import master, release
from autograder.classrun import hand_grades
from autograder.grading.preprocessors.mark_hand_scores import MarkHandScores, hand_score_text

# SQLAlchemy's autoflush warnings inside nbgrader's API (as the grader silences them: autograder/classrun/grade.py)
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

@pytest.fixture(autouse=True)
def _no_alembic_command(monkeypatch):
    """A new gradebook asks the `alembic` command for its schema version (a second Python, seconds): the
    version written in it does not matter here."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "unit-test")


def _gradebook(path, points):
    """A gradebook at ``path`` whose assignment has a written answer worth ``points[grade_id]`` for each grade id,
    and a submission of "ann"."""
    gradebook = Gradebook(f"sqlite:///{path}")
    gradebook.add_assignment(release.ASSIGNMENT)
    gradebook.update_or_create_notebook(release.NOTEBOOK, release.ASSIGNMENT)
    for grade_id, maximum in points.items():
        gradebook.update_or_create_grade_cell(grade_id, release.NOTEBOOK, release.ASSIGNMENT, max_score=maximum,
                                              cell_type="markdown")
        gradebook.update_or_create_solution_cell(grade_id, release.NOTEBOOK, release.ASSIGNMENT)
    gradebook.add_student("ann")
    gradebook.add_submission(release.ASSIGNMENT, "ann")
    return gradebook


def _grade(gradebook, grade_id):
    return gradebook.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, "ann")


@pytest.fixture()
def answers():
    """Three written answers of the master: {grade_id: points}."""
    written = [part for part in master.read().parts if part.kind == master.WRITTEN][:3]
    assert len(written) == 3, "the master should have three written answers"
    return {part.grade_id: part.points for part in written}


def test_hand_grades_come_back_after_a_rebuild_where_the_points_are_the_same(tmp_path, answers):
    kept, repointed, removed = answers
    before = _gradebook(tmp_path / "before.db", answers)
    _grade(before, kept).manual_score, _grade(before, kept).extra_credit = answers[kept] / 2, 0.5
    _grade(before, repointed).manual_score = answers[repointed]
    _grade(before, removed).manual_score = 0
    before.find_comment(kept, release.NOTEBOOK, release.ASSIGNMENT, "ann").manual_comment = "Clear & short."
    before.db.commit()
    saved = tmp_path / hand_grades.FILE
    assert hand_grades.save(before, saved) == ["ann"]
    before.close()

    after = _gradebook(tmp_path / "after.db", {kept: answers[kept], repointed: answers[repointed] + 1})
    notes = hand_grades.restore(after, "ann", saved)
    grade = _grade(after, kept)
    assert (grade.manual_score, grade.extra_credit, grade.needs_manual_grade) == (answers[kept] / 2, 0.5, False)
    assert after.find_comment(kept, release.NOTEBOOK, release.ASSIGNMENT, "ann").manual_comment == "Clear & short."
    assert _grade(after, repointed).manual_score is None, "a hand score out of other points is not kept"
    assert len(notes) == 1 and repointed in notes[0] and "grade it again" in notes[0], notes
    assert "ann" not in json.loads(saved.read_text()), "restored grades leave the file"
    after.close()


def test_a_second_save_keeps_what_a_gradebook_without_the_submission_lacks(tmp_path, answers):
    """A rebuild interrupted after the submissions left the gradebook saves again: ann's grades stay."""
    grade_id = next(iter(answers))
    gradebook = _gradebook(tmp_path / "gradebook.db", answers)
    _grade(gradebook, grade_id).manual_score = answers[grade_id]
    gradebook.db.commit()
    saved = tmp_path / hand_grades.FILE
    hand_grades.save(gradebook, saved)
    gradebook.remove_submission(release.ASSIGNMENT, "ann")
    assert hand_grades.save(gradebook, saved) == ["ann"]
    assert json.loads(saved.read_text())["ann"][grade_id]["manual_score"] == answers[grade_id]
    gradebook.close()


def test_extra_credit_alone_on_a_part_whose_points_changed_gets_a_note(tmp_path, answers):
    grade_id = next(iter(answers))
    before = _gradebook(tmp_path / "before.db", answers)
    _grade(before, grade_id).extra_credit = 1
    before.db.commit()
    saved = tmp_path / hand_grades.FILE
    hand_grades.save(before, saved)
    before.close()
    after = _gradebook(tmp_path / "after.db", {grade_id: answers[grade_id] + 1})
    notes = hand_grades.restore(after, "ann", saved)
    assert len(notes) == 1 and grade_id in notes[0]
    after.close()


@pytest.fixture()
def graded(tmp_path, answers):
    """ann's gradebook with a hand grade on an autograded cell of the master (graded 2/3 of its points by the
    grader, set to 1/3 by hand with 0.5 extra credit) and on a written answer (half its points): (gradebook,
    autograded grade id, written grade id)."""
    test_cell = master.read().auto[0]
    gradebook = _gradebook(tmp_path / "gradebook.db", answers)
    gradebook.update_or_create_grade_cell(test_cell.grade_id, release.NOTEBOOK, release.ASSIGNMENT,
                                          max_score=test_cell.points, cell_type="code")
    gradebook.remove_submission(release.ASSIGNMENT, "ann")
    gradebook.add_submission(release.ASSIGNMENT, "ann")
    written = next(iter(answers))
    override = _grade(gradebook, test_cell.grade_id)
    override.auto_score, override.manual_score, override.extra_credit = test_cell.points * 2 / 3, test_cell.points / 3, 0.5
    _grade(gradebook, written).manual_score = answers[written] / 2
    gradebook.db.commit()
    yield gradebook, test_cell.grade_id, written
    gradebook.close()


def test_hand_grades_stay_while_the_file_is_the_one_they_were_given_for(graded):
    gradebook, test_cell, written = graded
    assert hand_grades.expire(gradebook, "ann", "same", "same") == []
    assert _grade(gradebook, test_cell).manual_score is not None and _grade(gradebook, written).manual_score is not None


def test_a_new_file_drops_the_hand_grade_of_an_autograded_cell_and_says_so(graded, answers):
    gradebook, test_cell, written = graded
    points = master.read().points[test_cell]
    notes = hand_grades.expire(gradebook, "ann", "new", "earlier")
    override = _grade(gradebook, test_cell)
    assert (override.manual_score, override.extra_credit, override.needs_manual_grade) == (None, None, False)
    assert override.score == pytest.approx(points * 2 / 3), "the grader's verdict on the new file stands"
    dropped = next(note for note in notes if note.startswith(test_cell))
    assert f"the hand grade {points / 3:g}/{points:g} and extra credit 0.5 was dropped" in dropped
    assert f"given for an earlier file, and the grader's {points * 2 / 3:g}/{points:g} for this file stands" in dropped
    kept = next(note for note in notes if note.startswith(written))
    assert _grade(gradebook, written).manual_score == answers[written] / 2, "no grader judged a written answer"
    assert f"{answers[written] / 2:g}/{answers[written]:g} was given for an earlier file; kept" in kept
    assert len(notes) == 2, notes


def test_a_file_the_kit_has_no_record_of_counts_as_another(graded):
    gradebook, test_cell, _ = graded
    assert any(note.startswith(test_cell) for note in hand_grades.expire(gradebook, "ann", "new", None))
    assert _grade(gradebook, test_cell).manual_score is None


def test_feedback_shows_a_hand_score_of_an_autograded_cell_as_what_it_is(graded, tmp_path):
    gradebook, test_cell, written = graded
    points = master.read().points[test_cell]
    notebook = nb.notebook(nb.autograded(test_cell, points, "assert True"), nb.written(written, 1))
    resources = {"nbgrader": {"db_url": f"sqlite:///{tmp_path / 'gradebook.db'}", "notebook": release.NOTEBOOK,
                              "assignment": release.ASSIGNMENT, "student": "ann"}}
    marked, _ = MarkHandScores().preprocess(notebook, resources)
    assert marked.cells[0].metadata.nbgrader["hand_score"] == (
        f"set by hand: {points / 3:g}/{points:g}; extra credit by hand: 0.5; the grader gave {points * 2 / 3:g}/{points:g}")
    assert "hand_score" not in marked.cells[1].metadata.nbgrader, "a written answer is graded by hand anyway"
    assert hand_score_text(1, None, 2, 2) == "set by hand: 1/2; the grader gave 2/2"
    assert hand_score_text(None, None, 2, 2) == hand_score_text(None, 0.0, 2, 2) == ""
