"""nbgrader preprocessors that make autograding robust, used in place of or beside nbgrader's own, one
a module (as nbgrader's are):

ResilientExecute (resilient_execute)
    nbgrader's Execute, extended: a kernel that dies costs the submission only the cell that killed it
    (the kernel is restarted and the cells above are run again); a time budget per submission; outputs
    bounded (output_budget); every test cell's cases, public and hidden, run in this process, which
    records the grader's verdict on each (autograder.grading.hidden_tests) and what the kernel did that
    a grader should look at.
SaveVerdicts (save_verdicts)
    nbgrader's SaveAutoGrades, scoring test cells from the grader's verdict only (a share of the points
    per case passed): nbgrader's own rule reads the cell's outputs, which the kernel writes (a
    displayed "ok" is full marks there).
SanitizeSubmission (sanitize_submission)
    everything the submission shows made inert before formgrader or feedback renders it
    (autograder.grading.sanitize): HTML and SVG cleaned, JavaScript and widgets dropped, the student's
    markdown rendered and cleaned.
StderrAsNote (stderr_as_note)
    nbgrader gives a test cell 0 points when anything reached stderr; a harmless warning from
    correct student code must not cost points, so stderr of grade cells is kept as a note on stdout.
CheckCellMetadataOnce (check_cell_metadata)
    nbgrader's CheckCellMetadata, the same checks and errors, with nbgrader's metadata schema checked once
    per process (jsonschema.validate checks it again for every cell).
CleanMetadata (clean_metadata)
    lets nbgrader restore missing cells in a notebook that also has duplicated ones.
RestoreCells (restore_cells)
    nbgrader's OverwriteCells, first putting back the nbgrader metadata a student edited (flags,
    points) from the gradebook, and making cells with unknown grade ids ordinary cells: stock
    nbgrader stops with "Inconsistent checksums" and the student gets nothing.
ShortTracebacks (short_tracebacks)
    for feedback: errors of test cells keep their message, not the traceback that quotes test code.
GetGradesForFeedback (get_grades_for_feedback)
    nbgrader's GetGrades, also marking the parts still to be graded by hand, which the feedback
    template (autograder/grading/templates/hw2_feedback) shows as "graded by hand later", not as 0 points.
MarkHandScores (mark_hand_scores)
    for feedback: an autograded cell whose score was set by hand shows as such, beside the grader's score.

What they hand on in nbgrader's resources is named in resources (VERDICTS, REVIEW).
"""
from autograder.grading.preprocessors.check_cell_metadata import CheckCellMetadataOnce
from autograder.grading.preprocessors.clean_metadata import CleanMetadata
from autograder.grading.preprocessors.get_grades_for_feedback import GetGradesForFeedback
from autograder.grading.preprocessors.mark_hand_scores import MarkHandScores
from autograder.grading.preprocessors.resilient_execute import KERNEL_DIED, TIME_BUDGET, ResilientExecute
from autograder.grading.preprocessors.resources import REVIEW, VERDICTS
from autograder.grading.preprocessors.restore_cells import RestoreCells
from autograder.grading.preprocessors.sanitize_submission import SanitizeSubmission
from autograder.grading.preprocessors.save_verdicts import SaveVerdicts
from autograder.grading.preprocessors.short_tracebacks import ShortTracebacks
from autograder.grading.preprocessors.stderr_as_note import StderrAsNote

__all__ = ["KERNEL_DIED", "REVIEW", "TIME_BUDGET", "VERDICTS", "CheckCellMetadataOnce", "CleanMetadata",
           "GetGradesForFeedback", "MarkHandScores", "ResilientExecute", "RestoreCells", "SanitizeSubmission",
           "SaveVerdicts", "ShortTracebacks", "StderrAsNote"]
