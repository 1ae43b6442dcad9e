"""The README's worked example "Change the assignment", as a script: it edits solutions/master.ipynb of
the repository it is run in (run it on a copy: tests/e2e/test_change_the_assignment.py does).

    python docs/examples/change_the_assignment.py     # then ./kit build and ./kit grade as the README says

1. a new function, leaky_relu_activation, with a test cell worth 2 points (public and hidden cases);
2. test_relu_activation worth 3 points instead of 2, and the heading of section 1.2b and the intro's
   points updated to match;
3. a fix to a hidden case: test_relu_activation's hidden part also checks s with exact zeros.
"""
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

LEAKY_RELU = '''def leaky_relu_activation(s):
    """Leaky ReLU, elementwise, and its derivative.

    s: float array of any shape; left unchanged
    returns: (out, ds), float arrays shaped like s: out = s where s > 0, else 0.01 s; ds = 1 where
        s > 0, else 0.01
    """
    ### BEGIN SOLUTION
    out = np.where(s > 0, s, 0.01 * s)
    ds = np.where(s > 0, 1.0, 0.01)
    ### END SOLUTION
    return out, ds
'''
TEST_LEAKY_RELU = '''cases = Cases("leaky_relu_activation")


def check_leaky_relu(label, s):
    with calling("leaky_relu_activation", dict(s=s)):
        out, ds = unpack("leaky_relu_activation", leaky_relu_activation(s), ["out", "ds"])
    check_array("leaky_relu_activation", f"out for {label}", out, np.where(s > 0, s, 0.01 * s))
    check_array("leaky_relu_activation", f"ds for {label}", ds, np.where(s > 0, 1.0, 0.01))


with cases.case("s = [[-2, 0.5], [3, -0.1]]"):
    check_leaky_relu("s = [[-2, 0.5], [3, -0.1]]", np.array([[-2.0, 0.5], [3.0, -0.1]]))
cases.report()
### BEGIN HIDDEN TESTS
with cases.case("a (4, 5) float array"):
    check_leaky_relu("a (4, 5) float array", fresh_rng.normal(size=(4, 5)))
### END HIDDEN TESTS
'''
ZEROS_CASE = '''with cases.case("s with exact zeros"):
    check_relu("s with exact zeros", np.array([[0.0, -1.0], [2.0, 0.0]]), [[0.0, 0.0], [2.0, 0.0]],
               [[0.0, 0.0], [1.0, 0.0]])
'''


def graded(grade_id, source, points=None):
    """A new nbgrader cell: a solution cell, or a test cell when ``points`` is given."""
    nbgrader = {"grade": points is not None, "grade_id": grade_id, "locked": points is not None,
                "solution": points is None, "task": False, "schema_version": 3}
    if points is not None:
        nbgrader["points"] = points
    return new_code_cell(source, metadata={"nbgrader": nbgrader})


def change(path):
    notebook = nbformat.read(path, as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    test_relu = notebook.cells[ids.index("test_relu_activation")]
    test_relu.metadata.nbgrader["points"] = 3                                                    # 2.
    test_relu.source = test_relu.source.replace("### END HIDDEN TESTS", ZEROS_CASE + "### END HIDDEN TESTS")  # 3.
    heading = notebook.cells[ids.index("activations_intro")]
    heading.source = heading.source.replace("(11 points)", "(14 points)")                      # 2. and 1.
    intro = notebook.cells[ids.index("intro")]
    intro.source = intro.source.replace("(60 in all): 39 for", "(63 in all): 42 for")          # 2. and 1.
    at = ids.index("test_relu_activation") + 1
    notebook.cells[at:at] = [graded("leaky_relu_activation", LEAKY_RELU),                      # 1.
                             graded("test_leaky_relu_activation", TEST_LEAKY_RELU, points=2)]
    nbformat.write(notebook, path)


if __name__ == "__main__":
    change(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "solutions" / "master.ipynb")
