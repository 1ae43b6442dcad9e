"""The feedback page a student reads: nbgrader's generate_feedback with the hw2_feedback template
(templates/hw2_feedback: parts still to grade by hand shown as such, formulas as MathML made here),
hidden tests' code cleared (their messages kept), tracebacks shortened, HTML sanitized.

Used by the grading core for each graded submission and by the class run after hand grading.
"""
import copy
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateFeedback, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from autograder.assignment import release
from autograder.grading.preprocessors import GetGradesForFeedback, ShortTracebacks

TEMPLATES = Path(__file__).resolve().parent / "templates"  # hw2_feedback: nbgrader's feedback page, extended
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter with the hw2_feedback template, whatever HTMLExporter's configuration says
    (NbGraderAPI.generate_feedback, behind formgrader's buttons, insists on nbgrader's own template)."""

    def __init__(self, config=None, **kwargs):
        config = copy.deepcopy(config) if config is not None else Config()
        paths = list(config.HTMLExporter.get("extra_template_paths", []))  # nbgrader's bootstrap CSS
        config.merge(Config({"FeedbackExporter": {  # a subclass's section wins over HTMLExporter's
            "template_name": "hw2_feedback", "extra_template_basedirs": [str(TEMPLATES)],
            "extra_template_paths": [*paths, str(NBGRADER_TEMPLATES)],  # where 'feedback/index.html.j2' is
            "filters": {"tex_to_mathml": "autograder.grading.mathml.tex_to_mathml"}}}))
        super().__init__(config=config, **kwargs)


def feedback_config(config):
    """``config`` (a course's) with how feedback is made: nbgrader puts the hidden tests' source into
    feedback, keep their messages, not their code; parts not graded by hand yet say so; the page is
    FeedbackExporter's. Used by ``generate_feedback`` and by nbgrader's own generate_feedback in the
    class course (autograder.classrun.nbgrader_commands)."""
    config.GenerateFeedback.preprocessors = [ClearHiddenTests, ShortTracebacks, GetGradesForFeedback,
                                             CSSHTMLHeaderPreprocessor]
    config.GenerateFeedback.exporter_class = FeedbackExporter
    config.HTMLExporter.sanitize_html = True  # on top of SanitizeSubmission: nbconvert cleans outputs too
    config.ClearHiddenTests.enforce_metadata = False
    return config


def generate_feedback(config, student):
    """nbgrader's generate_feedback for ``student`` in the course of ``config`` (feedback_config'd); True
    when it wrote the feedback."""
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = release.ASSIGNMENT, student
    converter = GenerateFeedback(coursedir=coursedir, config=config)
    converter.force = True
    try:
        converter.start()
    except NbGraderException:
        return False
    return True
