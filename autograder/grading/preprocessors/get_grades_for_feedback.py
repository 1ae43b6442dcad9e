"""GetGradesForFeedback: nbgrader's GetGrades, also marking the parts still to be graded by hand, which
the feedback template (autograder/grading/templates/hw2_feedback) shows as "graded by hand later", not
as 0 points."""
from nbgrader.preprocessors import GetGrades


class GetGradesForFeedback(GetGrades):
    """GetGrades, and ``hand_grading_pending`` on every written answer or task that waits for a hand
    grade, with ``resources["nbgrader"]["pending_points"]`` their points."""

    def preprocess(self, nb, resources):
        self._pending = 0.0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["pending_points"] = self._pending
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        nbgrader = cell.metadata.nbgrader
        grade = self.gradebook.find_grade(nbgrader["grade_id"], self.notebook_id, self.assignment_id, self.student_id)
        pending = bool((nbgrader.get("solution") or nbgrader.get("task")) and grade.needs_manual_grade
                       and grade.manual_score is None)
        nbgrader["hand_grading_pending"] = pending
        self._pending += grade.max_score if pending else 0.0
