"""ShortTracebacks: for feedback, errors of test cells keep their message, not the traceback that
quotes test code."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class ShortTracebacks(NbGraderPreprocessor):
    """For feedback: a test cell's error keeps its message but not its traceback.

    IPython tracebacks quote the source lines around the failure, which for a hidden test would
    show the hidden test's code to the student.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
