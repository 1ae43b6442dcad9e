"""SaveVerdicts: nbgrader's SaveAutoGrades, scoring test cells from the grader's verdict only.

nbgrader's own rule reads the cell's outputs, which the kernel writes (a displayed "ok" is full marks
there); here a test cell earns a share of its points per case passed, as the grader ran its cases.
"""
import dataclasses
import json
from pathlib import Path

from nbgrader.preprocessors import SaveAutoGrades
from traitlets import Unicode

from autograder.grading.preprocessors.resources import REVIEW, VERDICTS


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, but a test cell's score is the grader's verdict (ResilientExecute): its
    points times the share of its cases that passed, to 0.01 of a point. Written answers keep nbgrader's
    rule (0 when left unchanged, otherwise graded by hand). A part with a hand grade keeps it and needs
    none again, as when the class run merges a result (classrun.class_course.copy_submission): nbgrader
    run by hand in the class course scores as ./kit grade does. Also writes the verdicts and the review
    notes to ``report_file``."""
    report_file = Unicode("", help="Where to write the verdicts and the review notes as JSON "
                                   "(read by autograder.grading.core)").tag(config=True)
    missing_file = Unicode("", help="RestoreCells' parts not in the submission: written answers and tasks "
                                    "among them score 0, not waiting for a hand grade").tag(config=True)

    def preprocess(self, nb, resources):
        self._verdict = resources.get(VERDICTS, {})
        missing = Path(self.missing_file)
        self._missing = json.loads(missing.read_text()) if self.missing_file and missing.exists() else {}
        if self.report_file:
            report = {VERDICTS: {grade_id: dataclasses.asdict(verdict) for grade_id, verdict in self._verdict.items()},
                      REVIEW: list(dict.fromkeys(resources.get(REVIEW, [])))}
            Path(self.report_file).write_text(json.dumps(report, indent=1))
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        grade_id = cell.metadata.nbgrader["grade_id"]
        if cell.cell_type != "code" or cell.metadata.nbgrader.get("solution"):
            super()._add_score(cell, resources)
            grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
            if grade_id in self._missing:  # an answer or a plot that is not there: nothing to grade by hand
                grade.auto_score, grade.needs_manual_grade = 0.0, False
            if grade.manual_score is not None:  # graded by hand already
                grade.needs_manual_grade = False
            self.gradebook.db.commit()
            return
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        verdict = self._verdict.get(grade_id)
        grade.auto_score = verdict.score(float(cell.metadata.nbgrader["points"])) if verdict else 0.0
        grade.needs_manual_grade = False
        self.gradebook.db.commit()
