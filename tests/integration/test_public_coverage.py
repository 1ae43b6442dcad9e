"""The student is never surprised: every property a hidden case checks, a public case of the same test
cell checks too, with the same thresholds.

The grader runs each test cell (public part, then hidden part) with a recorder on: every call of a
student function is recorded with what kind of inputs it got (dtype, number of dimensions, a batch of
one, which labels, how many layers), and every check with what it checks (which function, which
argument left unchanged, which thresholds, which property). A hidden record that no public record of
the same cell matches is a clause only the hidden tests show.
"""
import shutil

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import hw2_checks
from autograder.assignment import release
from autograder.grading import course, hidden_tests
from autograder.grading.core import run_as_grader
from autograder.grading.kernel import FunctionProxy


def input_kind(value):
    """What kind of input a value is, as far as a property of a function can depend on it."""
    if isinstance(value, np.ndarray):
        kind = f"{value.dtype} array, {value.ndim}-d" + (", one row" if value.ndim >= 2 and len(value) == 1 else "")
        if value.ndim == 1 and value.size and set(np.unique(value).tolist()) <= {0, 1}:
            kind += f", labels {sorted(set(np.unique(value).tolist()))}"
        return kind
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of {len(value)}: " + "; ".join(sorted({input_kind(v) for v in value}))
    if callable(value):
        return "a function"
    return type(value).__name__


class Recorder:
    """{cell: {"public": set, "hidden": set}} of what the cells' student calls got and what their checks checked."""

    def __init__(self, monkeypatch):
        self.records, self.cell = {}, None
        original_call, original_run = FunctionProxy.__call__, hidden_tests.run_graded

        def call(proxy, *args, **kwargs):
            for position, value in enumerate(args):
                self.note("input", proxy.__name__, position, input_kind(value))
            return original_call(proxy, *args, **kwargs)

        def run_graded(source, kernel, cases, label):
            self.cell = label
            return original_run(source, kernel, cases, label)

        monkeypatch.setattr(FunctionProxy, "__call__", call)
        monkeypatch.setattr(hidden_tests, "run_graded", run_graded)
        for name, what in [("check_array", lambda function, name, got, expected, kinds="f", compare_values=True,
                                                     **_: (function, kinds, compare_values)),
                           ("check_unchanged", lambda function, name, *_, **__: (function, name.split(" (")[0])),
                           ("check_number", lambda function, name, got, low=-np.inf, high=np.inf, **_:
                               (function, float(low), float(high))),
                           ("check_that", lambda function, condition, problem, cause=None: (function, cause))]:
            monkeypatch.setattr(hw2_checks, name, self.recording(name, getattr(hw2_checks, name), what))

    def note(self, *record):
        part = "hidden" if hw2_checks._withhold else "public"
        self.records.setdefault(self.cell, {"public": set(), "hidden": set()})[part].add(record)

    def recording(self, name, check, what):
        def recorded(*args, **kwargs):
            self.note(name, *what(*args, **kwargs))
            return check(*args, **kwargs)
        return recorded

    def hidden_only(self):
        """{cell: [records of its hidden part that no record of its public part matches]}"""
        return {cell: sorted(parts["hidden"] - parts["public"], key=repr) for cell, parts in self.records.items()
                if parts["hidden"] - parts["public"]}


def _grade_cell(grade_id, public, hidden):
    return new_code_cell(f"{public}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS\n",
                         metadata={"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1, "solution": False,
                                                "locked": True, "schema_version": 3}})


def test_every_hidden_property_of_the_master_is_also_checked_publicly(monkeypatch, tmp_path):
    recorder = Recorder(monkeypatch)
    source = course.make_source(tmp_path)
    notebook = nbformat.read(source / f"{release.NOTEBOOK}.ipynb", as_version=4)
    # one BLAS thread, as tests/grading.py: ./kit test runs two tests at a time on two cores, and a kernel with two
    # threads beside a busy worker trains several times slower (its threads wait for each other)
    _, verdicts, _ = run_as_grader(notebook, source, cell_timeout=600, submission_timeout=1200, blas_threads=1)
    assert all(verdict.fraction == 1 for verdict in verdicts.values()), \
        {grade_id: verdict.summary(1) for grade_id, verdict in verdicts.items() if verdict.fraction < 1}
    graded = {cell for cell, parts in recorder.records.items() if parts["hidden"]}
    assert graded == set(verdicts), f"cells whose hidden part the recorder did not see: {set(verdicts) - graded}"
    assert recorder.hidden_only() == {}, "properties only hidden cases check (add a public case of their kind)"


def test_a_hidden_only_property_is_found(monkeypatch, tmp_path):
    """The recorder finds what only a hidden case tries: a matrix input, a threshold, an unchanged argument."""
    recorder = Recorder(monkeypatch)
    notebook = new_notebook(cells=[
        new_code_cell("import numpy as np\nfrom hw2_checks import Cases, check_number\n\n"
                      "def total(x):\n    return float(np.sum(x))"),
        _grade_cell("test_total",
                    "cases = Cases('total')\nwith cases.case('a vector'):\n"
                    "    check_number('total', 'total', total(np.ones(3)), 2.5, 3.5)\ncases.report()",
                    "x = np.ones((2, 2))\nwith cases.case('a matrix'):\n"
                    "    check_number('total', 'total', total(x), 3.9, 4.1)\n"
                    "    check_unchanged('total', 'x (a matrix)', x.copy(), x)")])
    shutil.copyfile(release.REPO / "hw2_checks.py", tmp_path / "hw2_checks.py")
    _, verdicts, _ = run_as_grader(notebook, tmp_path, cell_timeout=60)
    assert verdicts["test_total"].fraction == 1, verdicts["test_total"].summary(1)
    assert recorder.hidden_only() == {"test_total": sorted([
        ("input", "total", 0, "float64 array, 2-d"), ("check_number", "total", 3.9, 4.1),
        ("check_unchanged", "total", "x")], key=repr)}


@pytest.mark.parametrize("value, kind", [
    (np.zeros((1, 3), np.float32), "float32 array, 2-d, one row"),
    (np.array([0, 1, 1]), "int64 array, 1-d, labels [0, 1]"),
    ([np.zeros((2, 2)), np.zeros((1, 2))], "list of 2: float64 array, 2-d; float64 array, 2-d, one row")])
def test_input_kinds(value, kind):
    assert input_kind(value) == kind
