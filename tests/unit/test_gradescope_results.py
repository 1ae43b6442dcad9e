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


RATES = {"percent_per_day": 10.0, "cap_percent": 50.0, "grace_minutes": 15.0, "base": "possible"}
METADATA = {"created_at": "2026-10-03T09:00:00.123456-07:00",
            "assignment": {"due_date": "2026-10-01T23:59:00.000000-07:00", "late_due_date": None},
            "users": [{"email": "s@example.edu", "id": 1, "name": "S"}]}


def test_a_late_submission_loses_what_kit_grade_takes_off_its_autograded_score():
    output = gradescope.results(bundle_where_hidden_cases_fail(), seconds=1)
    score, possible = output["score"], master.read().auto_points
    policy, submitted_at = gradescope.late_policy(RATES, METADATA)
    late = gradescope.with_late_penalty(output, policy, submitted_at)
    assert late["score"] == round(score - round(possible * 0.2, 2), 2), "2 days (one and a part) at 10% of the possible"
    penalty = next(test for test in late["tests"] if test["name"] == "late penalty")
    assert penalty["visibility"] == "after_published" and penalty["score"] == -round(possible * 0.2, 2)
    assert sum(test["score"] for test in late["tests"]) == pytest.approx(late["score"])
    assert "2 day(s) after the due date: 20%" in late["output"] and f"{late['score']:.4g}" not in late["output"]


def test_an_extension_in_gradescopes_metadata_moves_the_due_date():
    extended = {**METADATA, "users": [{"id": 1, "assignment": {"due_date": "2026-10-03T23:59:00-07:00"}}]}
    policy, submitted_at = gradescope.late_policy(RATES, extended)
    output = gradescope.results(bundle_where_hidden_cases_fail(), seconds=1)
    assert gradescope.with_late_penalty(dict(output), policy, submitted_at)["score"] == output["score"]


def test_a_penalty_of_the_score_is_never_more_than_the_score():
    policy, _ = gradescope.late_policy({**RATES, "base": "score", "cap_percent": 100.0}, METADATA)
    output = {"score": 3.0, "tests": [], "output": "Public cases: 3 of 10 points."}
    far_later = policy.due.replace(year=2027)
    late = gradescope.with_late_penalty(output, policy, far_later)
    assert late["score"] == 0 and late["tests"][0]["score"] == -3.0
