"""RestoreCells reads a notebook's released cells from the gradebook once (ReleasedCells): every lookup by name
gives what nbgrader's own query gives, a missing cell included."""
import pytest
from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.preprocessors.restore_cells import ReleasedCells

LOOKUPS = ["find_source_cell", "find_grade_cell", "find_solution_cell", "find_task_cell", "find_graded_cell"]


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """Two notebooks with a test cell, a solution cell and a task, each also a source cell (nbgrader makes a
    gradebook with alembic, about 2 s: one for the module)."""
    with Gradebook(f"sqlite:///{tmp_path_factory.mktemp('course') / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("hw2")
        for notebook in ["assignment", "other"]:
            gradebook.add_notebook(notebook, "hw2")
            gradebook.add_grade_cell("test_relu", notebook, "hw2", max_score=3, cell_type="code")
            gradebook.add_solution_cell("relu", notebook, "hw2")
            gradebook.add_task_cell("plots", notebook, "hw2", max_score=2, cell_type="markdown")
            for name, cell_type in [("test_relu", "code"), ("relu", "code"), ("plots", "markdown")]:
                gradebook.add_source_cell(name, notebook, "hw2", cell_type=cell_type, locked=name != "relu",
                                          source=f"{name} in {notebook}", checksum=f"{name}-{notebook}")
        yield gradebook


@pytest.mark.parametrize("lookup", LOOKUPS)
def test_each_lookup_finds_what_nbgrader_finds(gradebook, lookup):
    released = ReleasedCells(gradebook)
    for name, notebook in [(name, notebook) for name in ["test_relu", "relu", "plots", "removed"]
                           for notebook in ["assignment", "other"]]:
        try:
            expected = getattr(gradebook, lookup)(name, notebook, "hw2")
        except MissingEntry:
            with pytest.raises(MissingEntry):
                getattr(released, lookup)(name, notebook, "hw2")
            continue
        assert getattr(released, lookup)(name, notebook, "hw2") is expected, (
            f"ReleasedCells.{lookup}({name!r}, {notebook!r}) should be nbgrader's cell")
