"""The model of the master (autograder/assignment/master.py) and what ./kit build refuses in a master."""
import nbformat
import pytest

from autograder.assignment import master, release


def _edited(tmp_path, edit):
    notebook = nbformat.read(release.MASTER, as_version=4)
    cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    edit(cells)
    path = tmp_path / "master.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_model_reads_parts_kinds_points_and_sections():
    model = master.read()
    kinds = {part.grade_id: part.kind for part in model.parts}
    assert kinds["test_relu_activation"] == master.AUTO and kinds["answer_cache"] == master.WRITTEN
    assert kinds["task_loss_plot"] == master.TASK and "relu_activation" in model.solutions
    assert model.part("test_relu_activation").section.startswith("1.2b")
    assert [p.index for p in model.parts] == sorted(p.index for p in model.parts)
    assert model.auto_points + model.hand_points == sum(model.points.values())


def test_a_heading_that_disagrees_with_its_points_is_refused(tmp_path):
    path = _edited(tmp_path, lambda cells: cells["test_relu_activation"].metadata.nbgrader.update(points=3))
    with pytest.raises(release.MasterError, match=r"1.2b Activations.*says 11 points.*add up to 12"):
        release.check_master(path)


def test_a_question_that_disagrees_with_its_answer_cell_is_refused(tmp_path):
    path = _edited(tmp_path, lambda cells: cells["answer_cache"].metadata.nbgrader.update(points=5))
    with pytest.raises(release.MasterError, match=r"says 2 points.*worth 5"):
        release.check_master(path)


def test_a_solution_named_like_a_trusted_check_is_refused(tmp_path):
    def rename(cells):
        cells["relu_activation"].source = cells["relu_activation"].source.replace("def relu_activation",
                                                                                  "def squash_activation")
    with pytest.raises(release.MasterError, match="squash_activation, a name hw2_checks has"):
        release.check_master(_edited(tmp_path, rename))


def test_the_version_changes_with_any_file_grading_depends_on(tmp_path):
    files = [tmp_path / name for name in ("master.ipynb", "hidden.pkl")]
    for path in files:
        path.write_text("one")
    before = master.version(files)
    files[1].write_text("two")
    assert master.version(files) != before and len(before) == 12
