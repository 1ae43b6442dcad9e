"""The feedback page a student reads: nbgrader's generate_feedback with the hw2_feedback template
(templates/hw2_feedback: parts still to grade by hand shown as such, autograded cells scored by hand
shown with the grader's score beside, formulas as MathML made here),
hidden tests' code cleared (their messages kept), tracebacks shortened, HTML sanitized.

Used by the grading core for each graded submission and by the class run after hand grading.
"""
import copy
import re
from pathlib import Path

import nbgrader
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateFeedback, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from autograder.assignment import release
from autograder.grading.highlight import CachedHighlight2HTML
from autograder.grading.preprocessors import GetGradesForFeedback, MarkHandScores, ShortTracebacks

TEMPLATES = Path(__file__).resolve().parent / "templates"  # hw2_feedback: nbgrader's feedback page, extended
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
NO_ALT_TEXT = "No description has been provided for this image"  # nbconvert's words
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.IGNORECASE)


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter with the hw2_feedback template, whatever HTMLExporter's configuration says
    (NbGraderAPI.generate_feedback, behind formgrader's buttons, insists on nbgrader's own template), and
    without HTMLExporter's last step, which parses the whole page again with BeautifulSoup's pure-Python
    parser (half the time a feedback page takes) to give images an alternative text and the JupyterLab
    template's cells a tab stop: the feedback template (classic) has no such cells, and the text is put
    into every <img> tag without one here, right after its name, where no attribute can hide it. Code
    cells are highlighted by CachedHighlight2HTML (autograder.grading.highlight): the cells every
    submission shares are highlighted once per process."""

    def __init__(self, config=None, **kwargs):
        config = copy.deepcopy(config) if config is not None else Config()
        paths = list(config.HTMLExporter.get("extra_template_paths", []))  # nbgrader's bootstrap CSS
        config.merge(Config({"FeedbackExporter": {  # a subclass's section wins over HTMLExporter's
            "template_name": "hw2_feedback", "extra_template_basedirs": [str(TEMPLATES)],
            "extra_template_paths": [*paths, str(NBGRADER_TEMPLATES)],  # where 'feedback/index.html.j2' is
            "filters": {"tex_to_mathml": "autograder.grading.mathml.tex_to_mathml"}}}))
        super().__init__(config=config, **kwargs)

    def from_notebook_node(self, nb, resources=None, **kw):
        language = nb.metadata.get("language_info", {})  # what HTMLExporter.from_notebook_node sets up first
        self.register_filter("highlight_code", self.filters.get("highlight_code", CachedHighlight2HTML(
            pygments_lexer=language.get("pygments_lexer", language.get("name")), parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', html), resources


def feedback_config(config):
    """``config`` (a course's) with how feedback is made: nbgrader puts the hidden tests' source into
    feedback, keep their messages, not their code; parts not graded by hand yet say so, and autograded
    cells scored by hand say that and what the grader gave; the page is FeedbackExporter's. Used by
    ``generate_feedback`` and by nbgrader's own generate_feedback in the class course
    (autograder.classrun.nbgrader_commands)."""
    config.GenerateFeedback.preprocessors = [ClearHiddenTests, ShortTracebacks, GetGradesForFeedback,
                                             MarkHandScores, CSSHTMLHeaderPreprocessor]
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
