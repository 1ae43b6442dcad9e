"""CleanMetadata: lets nbgrader restore missing cells in a notebook that also has duplicated ones, and
check a notebook whose nbgrader metadata holds keys of the student's."""
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import NbGraderPreprocessor

NBGRADER_KEYS = set(MetadataValidator().schema["properties"])  # what nbgrader's cell metadata may hold


class CleanMetadata(NbGraderPreprocessor):
    """After DeduplicateIds: a duplicated cell keeps nbgrader metadata without a grade id, which
    makes OverwriteCells.add_missing_cells fail (KeyError 'grade_id', nbgrader 0.9.6). Such a cell
    is the student's copy of a graded cell: make it an ordinary cell. Keys nbgrader's metadata schema
    does not have (a ``score`` written in) go too: nbgrader's CheckCellMetadata would refuse the whole
    notebook for them (autograder.grading.review flags them)."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        elif "nbgrader" in cell.metadata:
            for key in set(cell.metadata.nbgrader) - NBGRADER_KEYS:
                del cell.metadata.nbgrader[key]
        return cell, resources
