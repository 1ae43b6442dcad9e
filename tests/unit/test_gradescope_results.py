"""Gradescope's results.json from a result bundle (autograder.lms.gradescope.results), without a kernel: the
total is ./kit grade's score, and what students see before grades are published holds no hidden case."""
import pytest

from autograder.assignment import master
from autograder.grading.bundle import ResultBundle
from autograder.grading.verdict import Case, CellVerdict
from autograder.lms import gradescope


def bundle_where_hidden_cases_fail():
    """Every autograded cell: 3 public cases passed, 3 of 4 hidden passed (thirds and sevenths of points)."""
    cases = [Case("public", f"public {i}", None) for i in range(3)] + \
            [Case("hidden", f"hidden {i}", None if i else "wrong in 2 of 4 entries") for i in range(4)]
    verdicts = {part.grade_id: CellVerdict(cases).__dict__ for part in master.read().auto}
    return ResultBundle(student="student", version="v", success=True, verdicts=verdicts, reasons={})


def test_the_total_is_the_gradebooks_exactly():
    bundle = bundle_where_hidden_cases_fail()
    results = gradescope.results(bundle, seconds=1)
    gradebook = round(sum(CellVerdict(**v).score(part.points) for v, part in zip(bundle.verdicts.values(),
                                                                                   master.read().auto)), 2)
    assert results["score"] == gradebook
    assert sum(test["score"] for test in results["tests"]) == pytest.approx(gradebook)
    assert sum(test["max_score"] for test in results["tests"]) == pytest.approx(master.read().auto_points)


def test_students_see_no_hidden_result_before_publication():
    results = gradescope.results(bundle_where_hidden_cases_fail(), seconds=1)
    visible = [test for test in results["tests"] if test["visibility"] == "visible"]
    assert visible and all("(public cases)" in test["name"] for test in visible)
    assert all(test["score"] == test["max_score"] for test in visible)
    public_total = sum(test["score"] for test in visible)
    assert results["output"].startswith(f"Public cases: {public_total:.4g} of {public_total:.4g} points")
    assert f"{results['score']:.4g}" not in results["output"], "the total with the hidden cases is not shown early"
    assert "hidden 0" not in results["output"] and "wrong in" not in results["output"]
