"""StderrAsNote: nbgrader gives a test cell 0 points when anything reached stderr; a harmless warning
from correct student code must not cost points, so stderr of grade cells is kept as a note on stdout."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class StderrAsNote(NbGraderPreprocessor):
    """Every stderr output of a grade cell becomes stdout, each line marked ``[stderr]``."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "".join(f"[stderr] {line}\n" for line in output.text.splitlines())
        return cell, resources
