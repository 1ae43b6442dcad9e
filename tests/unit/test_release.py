"""What ./kit build and the grader refuse in a master (autograder/assignment/release.py's check_master), and
the master as a student runs it (without_hidden_tests), on small notebooks made here."""
import copy

import nbformat
import pytest
import small_masters as nb

import hw2_checks
from autograder.assignment import master, release

TRUSTED = sorted(name for name in dir(hw2_checks) if not name.startswith("_") and callable(getattr(hw2_checks, name)))
OWN = sorted(name for name in TRUSTED if getattr(getattr(hw2_checks, name), "__module__", "") == "hw2_checks")


def _master(tmp_path, *extra, hidden="assert double(-2) == -4"):
    """A small master written to tmp_path: a function, its 3-point test (with ``hidden``), and ``extra`` cells."""
    path = tmp_path / "master.ipynb"
    nbformat.write(nb.notebook(
        nb.heading("## 1 Functions (3 points)"),
        nb.solution("double", "def double(x):\n    return 2 * x"),
        nb.autograded("test_double", 3, "assert double(1) == 2", hidden),
        *extra), path)
    return path


def test_a_master_with_hidden_tests_and_agreeing_points_passes(tmp_path):
    release.check_master(_master(tmp_path, nb.solution("broken", "def f(:\n")))  # a cell ast cannot read: no name


def test_a_test_cell_without_hidden_tests_is_refused_by_name(tmp_path):
    path = _master(tmp_path, nb.heading("## 2 More (1 point)"), nb.autograded("test_more", 1, "assert True"))
    with pytest.raises(release.MasterError, match="no hidden tests") as refused:
        release.check_master(path)
    assert "test_more" in str(refused.value) and "test_double" not in str(refused.value)


def test_an_empty_hidden_part_counts_as_none(tmp_path):
    with pytest.raises(release.MasterError, match="test_double"):
        release.check_master(_master(tmp_path, hidden="   "))


def test_points_that_disagree_are_refused_with_the_models_words(tmp_path):
    path = _master(tmp_path, nb.prose("**Question (2 points).**"), nb.written("answer_double", 1))
    problems = master.read(path).points_problems()
    assert problems
    with pytest.raises(release.MasterError) as refused:
        release.check_master(path)
    assert all(problem in str(refused.value) for problem in problems)


@pytest.mark.parametrize("name", TRUSTED[:3])
def test_a_solution_that_defines_a_name_of_the_trusted_checks_is_refused(tmp_path, name):
    path = _master(tmp_path, nb.solution("helper", f"%matplotlib inline\ndef {name}(*args):\n    return True"))
    with pytest.raises(release.MasterError, match=f"{name}, a name hw2_checks has"):
        release.check_master(path)


def test_without_hidden_tests_keeps_the_public_part_of_test_cells_only(tmp_path):
    notebook = nbformat.read(_master(tmp_path), as_version=4)
    original = copy.deepcopy(notebook)
    student = release.without_hidden_tests(notebook)
    sources = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in student.cells}
    assert master.BEGIN not in sources["test_double"] and "double(-2)" not in sources["test_double"]
    assert "double(1) == 2" in sources["test_double"]
    assert sources["double"] == original.cells[1].source and notebook == original, "the master itself is unchanged"


def test_the_readme_lists_every_reserved_name_hw2_checks_defines():
    """The README's "Change the assignment" names each function and class of hw2_checks a solution cell may not
    define (issue 23: `tanh_activation` was refused, and the README did not say)."""
    section = (release.REPO / "README.md").read_text().split("## Change the assignment", 1)[1].split("\n## ", 1)[0]
    assert OWN and set(OWN) <= release.reserved_names()
    assert [name for name in OWN if f"`{name}`" not in section] == []
