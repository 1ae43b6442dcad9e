"""SanitizeSubmission: everything the submission shows made inert before formgrader or feedback renders
it (autograder.grading.sanitize): HTML and SVG cleaned, JavaScript and widgets dropped, the student's
markdown rendered and cleaned."""
import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.grading import sanitize
from autograder.grading.preprocessors.resources import REVIEW


class SanitizeSubmission(NbGraderPreprocessor):
    """Outputs of every code cell, and every markdown or raw cell the student wrote (any whose text
    is not one of the released notebook's), made safe to render (autograder.grading.sanitize)."""
    released_notebook = Unicode("", help="The released student notebook: its markdown is the instructor's "
                                         "and stays as it is").tag(config=True)

    def preprocess(self, nb, resources):
        released = nbformat.read(self.released_notebook, as_version=4) if self.released_notebook else None
        self._instructors = {c.source for c in released.cells if c.cell_type != "code"} if released else set()
        # the notebook's own metadata (a title, widget state) goes into pages too: keep only the kernel's
        nb.metadata = nbformat.from_dict({key: nb.metadata[key] for key in ("kernelspec", "language_info")
                                          if key in nb.metadata})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs, removed = sanitize.clean_outputs(cell.outputs)
            if removed:
                resources.setdefault(REVIEW, []).append(
                    f"cell {index + 1}: its output held {', '.join(removed)} (removed: none of it reached a browser)")
        elif cell.source not in self._instructors:
            text = cell.source if cell.cell_type == "markdown" else f"```\n{cell.source}\n```"
            cell.source, had_script = sanitize.markdown_as_safe_html(text, cell.get("attachments"))
            cell.pop("attachments", None)
            if had_script or cell.cell_type == "raw" and sanitize.has_script(text):
                resources.setdefault(REVIEW, []).append(
                    f"cell {index + 1}: its {cell.cell_type} text held script or event handlers (made inert)")
        return cell, resources
