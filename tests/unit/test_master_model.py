"""The master model (autograder/assignment/master.py) on small notebooks made here: parts, kinds, points,
sections, the prose's points that disagree, the README's table, and the helpers that read test cells."""
import ast
import os

import nbformat
import small_masters as nb
from nbformat.v4 import new_code_cell

from autograder.assignment import master

FUNCTIONS, PLOTS = "## 1 Functions (5 points)", "## 2 Plots (1 point)"


def _small_master():
    """Two sections: a function with its 3-point test and a 2-point question; a 1-point plot task."""
    return nb.notebook(
        nb.heading(FUNCTIONS),
        nb.solution("double", "def double(x):\n    return 2 * x"),
        nb.autograded("test_double", 3, "assert double(1) == 2", "assert double(-2) == -4"),
        nb.prose("**Question (2 points).** Why does `double` return a new array?"),
        nb.written("answer_double", 2),
        nb.heading(PLOTS),
        nb.task("task_plot", 1))


def test_parts_are_the_graded_cells_in_order_with_their_kind_points_and_section():
    model = master.from_notebook(_small_master())
    assert [(p.grade_id, p.kind, p.points, p.section) for p in model.parts] == [
        ("test_double", master.AUTO, 3.0, FUNCTIONS.lstrip("# ")),
        ("answer_double", master.WRITTEN, 2.0, FUNCTIONS.lstrip("# ")),
        ("task_plot", master.TASK, 1.0, PLOTS.lstrip("# "))]
    assert model.grade_ids == ("double", "test_double", "answer_double", "task_plot")
    assert model.solutions == ("double",), "a cell students write that is not graded itself"
    assert [p.grade_id for p in model.auto] == ["test_double"] and not model.part("test_double").by_hand
    assert (model.auto_points, model.hand_points) == (3.0, 3.0)
    assert model.points == {"test_double": 3.0, "answer_double": 2.0, "task_plot": 1.0}
    assert model.points_problems() == []


def test_code_graded_by_hand_is_its_own_kind():
    cell = nb.solution("plot_loss", "plot(losses)")
    cell.metadata.nbgrader.update(grade=True, points=2)
    part = master.from_notebook(nb.notebook(nb.heading("## Plots (2 points)"), cell)).part("plot_loss")
    assert (part.kind, part.by_hand) == (master.HAND_CODE, True)


def test_prose_whose_points_disagree_with_its_cells_is_named():
    notebook = _small_master()
    notebook.cells[0].source = FUNCTIONS.replace("5 points", "4 points")
    notebook.cells[3].source = notebook.cells[3].source.replace("2 points", "3 points")
    problems = master.from_notebook(notebook).points_problems()
    assert len(problems) == 2, problems
    assert "says 4 points" in problems[0] and "add up to 5" in problems[0]
    assert "cell 3 says 3 points" in problems[1] and "worth 2" in problems[1]


def test_prose_that_says_the_points_in_all_and_their_split_is_checked_against_the_cells():
    """The student notebook's intro says "(N in all): A for the autograded checks, H for plots and written
    answers"; a new question or a points change must change it too (issue 23)."""
    def problems(intro):
        notebook = _small_master()
        notebook.cells.insert(0, nb.prose(intro))
        return master.from_notebook(notebook).points_problems()

    assert problems("**Points** (6 in all): 3 for the autograded checks, 3 for plots and written answers, which "
                    "a grader reads. The 2 for the question are...") == [], "a share in the next sentence is not read"
    assert problems("Worth (6 points in all).\n\nAbout 5 for the plot.") == []
    wrong = problems("**Points** (7 in all): 4 for the autograded\nchecks, 2 for the plot and 1 for the written answer.")
    assert len(wrong) == 2, wrong
    assert "cell 0 says 7 points in all ('**Points** (7 in all)" in wrong[0] and "add up to 6" in wrong[0]
    assert "cell 0 says 4 points for what is autograded" in wrong[1] and "cells add up to 3" in wrong[1]
    assert "graded by hand" in problems("(6 in all): 3 for the autograded checks, 2 for the rest.")[0]


def test_the_points_table_has_a_row_per_section_and_kind_of_grading():
    model = master.from_notebook(_small_master())
    table = master.points_table(model).splitlines()
    assert table[0] == (f"**{model.auto_points + model.hand_points:g} points**: {model.auto_points:g} autograded, "
                        f"{model.hand_points:g} graded by hand.")
    assert table[4:] == ["| 1 Functions | `test_double` | 3 | auto |",
                         "| 1 Functions | `answer_double` | 2 | by hand |",
                         "| 2 Plots | `task_plot` | 1 | by hand |"]


def test_split_gives_the_part_that_runs_in_the_kernel_and_the_hidden_part():
    cell = nb.autograded("test_double", 3, "assert double(1) == 2", "assert double(-2) == -4")
    public, hidden = master.split(cell.source)
    assert public.strip() == "assert double(1) == 2" and hidden.strip() == "assert double(-2) == -4"
    assert master.split("assert True\n") == ("assert True\n", "")
    assert master.split(f"a = 1\n{master.BEGIN}\nb = 2\n") == ("a = 1\n", "\nb = 2\n"), "unclosed: hidden to the end"


def test_ipython_lines_are_blanked_so_that_ast_parses_the_rest_at_its_lines():
    source = "%matplotlib inline\nimport numpy as np\n  !pip list\ndef f():\n    return np.pi"
    blanked = master.without_ipython_syntax(source)
    assert [node.lineno for node in ast.parse(blanked).body] == [2, 4]


def test_read_reads_a_changed_master_again(tmp_path):
    path = tmp_path / "master.ipynb"
    notebook = _small_master()
    nbformat.write(notebook, path)
    assert master.read(path).points["test_double"] == 3.0
    notebook.cells[2].metadata.nbgrader["points"] = 4
    nbformat.write(notebook, path)
    modified = path.stat().st_mtime_ns + 1_000_000_000  # file times can be coarser than two writes apart
    os.utime(path, ns=(modified, modified))
    assert master.read(path).points["test_double"] == 4.0


def _network_master():
    """Two functions, each with its test cell; a cell that runs the network on data (and a checker that may
    change the data in place); an outcome test cell; and a test cell that replaces one part by the reference's."""
    return nb.notebook(
        nb.solution("layer", "def layer(x):\n    return x + 1"),
        nb.autograded("test_layer", 2, 'cases = Cases("layer")\nassert layer(1) == 2'),
        nb.solution("network", "def network(x):\n    return layer(layer(x))"),
        nb.autograded("test_network", 2, 'cases = Cases("network")\nassert alone(network, "layer")(0) == 2'),
        nb.solution("checker", "def checker(data):\n    data[0] = 0"),
        nb.autograded("test_checker", 1, 'cases = Cases("checker")\nchecker([1])'),
        new_code_cell("data = [1.0, 2.0]\nchecker(data)"),
        nb.solution("outcome", "result = network(data[0])"),
        nb.autograded("test_outcome", 1, "def again():\n    return network(1.0)\n\nassert result == again()",
                      "assert result > 0"))


def test_a_test_cell_depends_on_what_it_calls_and_on_what_made_its_values():
    dependencies = master.from_notebook(_network_master()).dependencies
    assert dependencies.owner("layer") == "test_layer" and dependencies.owner("outcome") == "test_outcome"
    assert dependencies.defines("network") == ("network",) and dependencies.judge("checker") == "test_checker"
    # result was made by network (which calls layer) from data, which checker may have changed in place
    assert dependencies.of("test_outcome") == {"layer": "test_layer", "network": "test_network",
                                               "checker": "test_checker"}
    assert dependencies.of("test_network") == {}, "alone(network, 'layer') judges network without the student's layer"
    assert dependencies.of("test_layer") == {} and dependencies.of("no_such_cell") == {}


def test_the_masters_outcome_cells_depend_on_every_function_they_use():
    dependencies = master.read().dependencies
    assert set(dependencies.of("test_test_batch_loss")) == {
        "forward_pass", "layer_forward", "relu_activation", "sigmoid_activation", "logistic_loss",
        "finite_difference_checker", "my_nn_finite_difference_checker"}  # the checker runs on the batch's weights
    assert set(dependencies.of("test_training")) == {
        "flatten_images", "sigmoid_activation", "relu_activation", "logistic_loss", "layer_forward",
        "create_weight_matrices", "create_bias_vectors", "forward_pass", "backward_pass"}
    assert dependencies.of("test_backward_pass") == {"layer_forward": "test_layer_forward"}  # its caches
    assert dependencies.of("test_nn_finite_difference_checker") == {
        "finite_difference_checker": "test_finite_difference_checker"}
    assert dependencies.of("test_forward_pass") == {} and dependencies.of("test_sigmoid_activation") == {}
