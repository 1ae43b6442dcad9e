"""MarkHandScores: for feedback, the autograded cells whose score was set by hand (in formgrader) say so,
with the grader's own score beside it; the feedback template (autograder/grading/templates/hw2_feedback)
shows ``hand_score`` next to the cell's score."""
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor


def hand_score_text(manual_score, extra_credit, auto_score, max_score):
    """What the feedback says of an autograded cell graded by hand (floats; None where not given), e.g.
    'set by hand: 1/2; the grader gave 2/2'; '' when no hand grade was given."""
    if manual_score is None and not extra_credit:
        return ""
    given = [f"set by hand: {manual_score:g}/{max_score:g}" if manual_score is not None else "",
             f"extra credit by hand: {extra_credit:g}" if extra_credit else ""]
    return f"{'; '.join(filter(None, given))}; the grader gave {auto_score or 0:g}/{max_score:g}"


class MarkHandScores(NbGraderPreprocessor):
    """``hand_score`` (hand_score_text) on every autograded cell (a grade cell students do not write)."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            self._texts = {grade.name: hand_score_text(grade.manual_score, grade.extra_credit, grade.auto_score,
                                                       grade.max_score) for grade in notebook.grades}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade") and not nbgrader.get("solution"):
            nbgrader["hand_score"] = self._texts.get(nbgrader.get("grade_id"), "")
        return cell, resources
