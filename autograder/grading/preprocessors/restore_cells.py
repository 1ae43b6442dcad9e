"""RestoreCells: nbgrader's OverwriteCells, first putting back the nbgrader metadata a student edited
(flags, points) from the gradebook, making cells with unknown grade ids ordinary cells (stock nbgrader
stops with "Inconsistent checksums" and the student gets nothing), and putting back the released cells a
submission lacks. The released cells are read from the gradebook once per notebook (``ReleasedCells``), not
with four queries per cell."""
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells
from traitlets import Unicode


class RestoreCells(OverwriteCells):
    """OverwriteCells with the released metadata put back first, and cells the submission lacks
    (it was downloaded before a question was added, or the student deleted them) put back in the
    release's order -- nbgrader's own add_missing_cells stops with a KeyError when a missing test cell
    follows a missing solution cell. The parts that are not in the submission go to ``missing_file``."""
    released_notebook = Unicode("", help="the released student notebook: the order of its cells").tag(config=True)
    missing_file = Unicode("", help="where to write {grade_id: [cells the submission lacks]} for the graded "
                                    "parts that are not in the submission (JSON)").tag(config=True)

    @property
    def gradebook(self):
        return self._gradebook

    @gradebook.setter
    def gradebook(self, gradebook):  # OverwriteCells.preprocess opens nbgrader's Gradebook
        self._gradebook = ReleasedCells(gradebook)

    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if "grade_id" not in nbgrader:
            return super().preprocess_cell(cell, resources, index)
        released = {}
        for flag, find in [("grade", self.gradebook.find_grade_cell), ("solution", self.gradebook.find_solution_cell),
                           ("task", self.gradebook.find_task_cell), ("locked", self.gradebook.find_source_cell)]:
            try:
                found = find(nbgrader["grade_id"], self.notebook_id, self.assignment_id)
            except MissingEntry:
                released[flag] = False
                continue
            released[flag] = found.locked if flag == "locked" else True
            if flag in ("grade", "task"):
                released["points"] = found.max_score
        if not any(released.values()):  # a grade id nbgrader never released (or a removed question)
            del cell.metadata["nbgrader"]
            return cell, resources
        nbgrader.pop("points", None)
        nbgrader.update(released)
        return super().preprocess_cell(cell, resources, index)

    def add_missing_grade_cells(self, nb, resources):
        """Put back the released cells ``nb`` lacks, each after the cell the release has before it, except
        code the student writes (a function defined in another cell must not be replaced by its stub), and
        note a graded part as not submitted when it, or the student's work just above it, is missing."""
        stored = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source = {cell.name: cell for cell in stored.source_cells}
        points = {cell.name: cell.max_score for cell in [*stored.grade_cells, *stored.task_cells]}
        written = {cell.name for cell in stored.solution_cells}
        tasks = {cell.name for cell in stored.task_cells}
        automatic = {cell.name for cell in stored.grade_cells} - written
        release = nbformat.read(self.released_notebook, as_version=4)
        positions = {cell.metadata.nbgrader["grade_id"]: number for number, cell in enumerate(nb.cells)
                     if "grade_id" in cell.metadata.get("nbgrader", {})}
        after, lacking, missing = 0, [], {}
        for cell in release.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id not in source:
                continue
            if grade_id in positions:
                after = positions[grade_id] + 1
            elif grade_id in written and grade_id not in points and source[grade_id].cell_type == "code":
                lacking.append(grade_id)  # the student's code: its test cell says whether it is defined elsewhere
                continue
            else:
                nb.cells.insert(after, self._restored(source[grade_id], points.get(grade_id), grade_id in written,
                                                      grade_id in tasks))
                positions = {key: number + (number >= after) for key, number in positions.items()}
                positions[grade_id] = after
                after += 1
                if grade_id in points and grade_id not in automatic:
                    lacking.append(grade_id)
            if grade_id in points:
                if lacking:
                    missing[grade_id] = lacking
                lacking = []
        if self.missing_file:
            Path(self.missing_file).write_text(json.dumps(missing, indent=1))
        return nb, resources

    def add_missing_task_cells(self, nb, resources):  # done in add_missing_grade_cells, in the release's order
        return nb, resources

    def _restored(self, source_cell, points, written, task):
        """A cell for ``source_cell`` (the gradebook's), marked as put back by the grader."""
        if points is not None:
            return self.missing_cell_transform(source_cell, points, is_solution=written, is_task=task)
        note = self.missing_cell_notification.format(cell_id=source_cell.name)
        nbgrader = {"grade": False, "grade_id": source_cell.name, "locked": source_cell.locked, "solution": written,
                    "task": False, "checksum": source_cell.checksum, "schema_version": 3}
        if source_cell.cell_type == "code":
            return new_code_cell("# " + note + source_cell.source, metadata={"nbgrader": nbgrader})
        return new_markdown_cell(note + source_cell.source, metadata={"nbgrader": nbgrader})


class ReleasedCells:
    """nbgrader's ``gradebook`` (Gradebook) whose lookups of a notebook's released cells by name
    (find_source_cell, find_grade_cell, find_solution_cell, find_task_cell, find_graded_cell: the same cells,
    MissingEntry where nbgrader raises it) read the notebook's cells once; everything else is the gradebook's."""

    def __init__(self, gradebook):
        self._gradebook, self._notebooks = gradebook, {}

    def __enter__(self):
        self._gradebook.__enter__()
        return self

    def __exit__(self, *exception):
        return self._gradebook.__exit__(*exception)

    def __getattr__(self, name):
        return getattr(self._gradebook, name)

    def find_source_cell(self, name, notebook, assignment):
        return self._cell("source", name, notebook, assignment)

    def find_grade_cell(self, name, notebook, assignment):
        return self._cell("grade", name, notebook, assignment)

    def find_solution_cell(self, name, notebook, assignment):
        return self._cell("solution", name, notebook, assignment)

    def find_task_cell(self, name, notebook, assignment):
        return self._cell("task", name, notebook, assignment)

    def find_graded_cell(self, name, notebook, assignment):
        try:
            return self.find_grade_cell(name, notebook, assignment)
        except MissingEntry:
            return self.find_task_cell(name, notebook, assignment)

    def _cell(self, kind, name, notebook, assignment):
        if (notebook, assignment) not in self._notebooks:
            stored = self._gradebook.find_notebook(notebook, assignment)
            self._notebooks[notebook, assignment] = {
                kind: {cell.name: cell for cell in cells} for kind, cells in [
                    ("source", stored.source_cells), ("grade", stored.grade_cells),
                    ("solution", stored.solution_cells), ("task", stored.task_cells)]}
        try:
            return self._notebooks[notebook, assignment][kind][name]
        except KeyError:
            raise MissingEntry() from None
