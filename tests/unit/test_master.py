"""The model of the master (autograder/assignment/master.py) and what ./kit build refuses in a master. Numbers and
names are read from the master model, so that any legitimate edit of the master (the README's worked example:
tests/e2e/test_change_the_assignment.py runs these tests on it) keeps them green."""
import re

import nbformat
import pytest

import hw2_checks
from autograder.assignment import master, release
from autograder.build import generate


def _cells(notebook=None):
    """{grade_id: cell} of ``notebook`` (default: the master's)."""
    notebook = notebook or nbformat.read(release.MASTER, as_version=4)
    return {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}


def _edited(tmp_path, edit):
    """The master with ``edit`` (a function of _cells) applied, written to tmp_path."""
    notebook = nbformat.read(release.MASTER, as_version=4)
    edit(_cells(notebook))
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


def _more_points(grade_id, more):
    """An edit giving the cell ``grade_id`` ``more`` points than the master does."""
    return lambda cells: cells[grade_id].metadata.nbgrader.update(points=master.read().points[grade_id] + more)


def test_the_master_as_it_is_passes_its_checks():
    release.check_master()


def test_a_heading_that_disagrees_with_its_points_is_refused(tmp_path):
    model = master.read()
    headings = {h[1]: h for h in model.headings if h[2] is not None}  # those that announce points
    part = next(p for p in model.auto if p.section in headings)
    _, heading, announced, actual = headings[part.section]
    path = _edited(tmp_path, _more_points(part.grade_id, 1))
    with pytest.raises(release.MasterError, match=rf"{re.escape(heading)}.*says {announced:g} points.*add up to "
                                                  rf"{actual + 1:g}"):
        release.check_master(path)


def test_a_question_that_disagrees_with_its_answer_cell_is_refused(tmp_path):
    model = master.read()
    index, _, announced, _ = model.prompts[0]
    answer = next(p for p in model.parts if p.index >= index)  # the cell the prompt announces
    with pytest.raises(release.MasterError, match=rf"cell {index} says {announced:g} points.*worth {announced + 3:g}"):
        release.check_master(_edited(tmp_path, _more_points(answer.grade_id, 3)))


def test_prose_that_says_the_points_in_all_is_refused_when_a_cell_changes(tmp_path):
    """The intro's "(N in all): A for the autograded checks" (issue 23: it said 60 and 39 after a build made 63 and 42)."""
    model = master.read()
    assert model.totals, "the master says its points in all somewhere"
    index, _, announced, shares = model.totals[0]
    headings = {h[1]: h for h in model.headings if h[2] is not None}
    part = next(p for p in model.auto if p.section in headings)

    def edit(cells):  # one more point, announced in the part's heading: only the intro is left to disagree
        _more_points(part.grade_id, 1)(cells)
        _, text, points, _ = headings[part.section]
        heading = next(c for c in cells.values() if c.cell_type == "markdown" and text in c.source)
        heading.source = master.POINTS_IN_TEXT.sub(f"({points + 1:g} points)", heading.source, count=1)

    with pytest.raises(release.MasterError) as refused:
        release.check_master(_edited(tmp_path, edit))
    message = str(refused.value)
    assert f"cell {index} says {announced:g} points in all" in message and f"add up to {announced + 1:g}" in message
    if "auto" in shares:
        assert f"says {shares['auto']:g} points for what is autograded" in message, message
    assert "heading" not in message and "\n" not in message, "only the intro disagrees, said in one line"


def test_a_solution_named_like_a_trusted_check_is_refused(tmp_path):
    reserved = sorted(name for name in release.reserved_names() if callable(getattr(hw2_checks, name)))[0]
    solution = next(name for name in master.read().solutions if "def " in _cells()[name].source)

    def rename(cells):
        cells[solution].source = re.sub(r"def \w+", f"def {reserved}", cells[solution].source, count=1)
    with pytest.raises(release.MasterError, match=f"{reserved}, a name hw2_checks has"):
        release.check_master(_edited(tmp_path, rename))


def test_the_build_says_what_is_wrong_in_one_line(tmp_path, monkeypatch):
    """./kit build (autograder.build.generate) on a master it refuses: one line, no traceback (issue 23)."""
    check = release.check_master
    path = _edited(tmp_path, _more_points(master.read().auto[0].grade_id, 1))
    monkeypatch.setattr(release, "check_master", lambda: check(path))
    with pytest.raises(SystemExit) as stopped:
        generate.main(["student"])
    assert str(stopped.value.code).startswith("./kit build stopped: master.ipynb: ") and "\n" not in stopped.value.code


def test_the_version_changes_with_any_file_grading_depends_on(tmp_path):
    files = [tmp_path / name for name in ("master.ipynb", "hidden.pkl")]
    for path in files:
        path.write_text("one")
    before = master.version(files)
    files[1].write_text("two")
    assert master.version(files) != before and len(before) == 12
