"""The feedback page a student reads: nbgrader's generate_feedback with the hw2_feedback template
(templates/hw2_feedback: parts still to grade by hand shown as such, autograded cells scored by hand
shown with the grader's score beside, formulas as MathML made here),
hidden tests' code cleared (their messages kept), tracebacks shortened, HTML sanitized.

Used by the grading core for each graded submission and by the class run after hand grading.
"""
from pathlib import Path

import nbgrader
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateFeedback, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from autograder.assignment import release
from autograder.grading.preprocessors import GetGradesForFeedback, MarkHandScores, ShortTracebacks

TEMPLATES = Path(__file__).resolve().parent / "templates"  # hw2_feedback: nbgrader's feedback page, extended
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"


def feedback_config(config):
    """``config`` (a course's) with how feedback is made: nbgrader puts the hidden tests' source into
    feedback, keep their messages, not their code; parts not graded by hand yet say so, and autograded
    cells scored by hand say that and what the grader gave."""
    config.GenerateFeedback.preprocessors = [ClearHiddenTests, ShortTracebacks, GetGradesForFeedback,
                                             MarkHandScores, CSSHTMLHeaderPreprocessor]
    config.HTMLExporter.sanitize_html = True  # on top of SanitizeSubmission: nbconvert cleans outputs too
    config.ClearHiddenTests.enforce_metadata = False
    return config


def generate_feedback(config, student):
    """nbgrader's generate_feedback for ``student`` in the course of ``config`` (feedback_config'd), with
    the hw2_feedback template (NbGraderAPI.generate_feedback insists on nbgrader's own); True when it
    wrote the feedback."""
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = release.ASSIGNMENT, student
    converter = GenerateFeedback(coursedir=coursedir, config=config)
    paths = list(converter.config.HTMLExporter.extra_template_paths)  # nbgrader's bootstrap CSS
    converter.update_config(Config({"HTMLExporter": {
        "template_name": "hw2_feedback", "extra_template_basedirs": [str(TEMPLATES)],
        "extra_template_paths": [*paths, str(NBGRADER_TEMPLATES)],  # where 'feedback/index.html.j2' is
        "filters": {"tex_to_mathml": "autograder.grading.mathml.tex_to_mathml"}}}))
    converter.force = True
    try:
        converter.start()
    except NbGraderException:
        return False
    return True
