"""The grader's verdict on a test cell (autograder.grading.verdict.CellVerdict): a share of the points per
case passed, nothing when a required case failed or the cell stopped, the reason grades.csv gives, the
summary the feedback shows, and the same verdict read back from the JSON a grading run writes; and how
the grader's Cases record each case into it (hidden_tests._GradedCases)."""
import dataclasses
import json

import pytest

import hw2_checks
from autograder.grading.hidden_tests import _GradedCases
from autograder.grading.verdict import Case, CellVerdict, dependency_cause

WRONG = "layer_forward: out is wrong in 3 of 6 entries\n  Likely cause: the bias was added twice"


def test_a_cell_earns_the_share_of_its_cases_that_passed():
    verdict = CellVerdict([Case("public", "a batch of 1", None), Case("hidden", "a batch of 7", WRONG),
                           Case("hidden", "float32", None)])
    assert verdict.passed == 2 and verdict.fraction == pytest.approx(2 / 3)
    assert verdict.required_failed is None
    summary = verdict.summary(3)
    assert summary.splitlines()[0] == "Graded by the grader: 2 of 3 cases passed, 2 of 3 points"
    assert "  passed  public: a batch of 1\n  FAILED  hidden: a batch of 7\n" \
           "            layer_forward: out is wrong in 3 of 6 entries\n" \
           "              Likely cause: the bias was added twice\n  passed  hidden: float32" == \
           "\n".join(summary.splitlines()[1:])


def test_the_reason_names_the_first_failure_with_its_likely_cause():
    verdict = CellVerdict([Case("public", "a batch of 1", None), Case("hidden", "a batch of 7", WRONG),
                           Case("hidden", "float32", "layer_forward: returned float64")])
    assert verdict.reason() == ("2 of 3 cases failed; hidden case a batch of 7: layer_forward: out is wrong in 3 "
                                "of 6 entries (Likely cause: the bias was added twice)")


def test_a_long_first_line_is_cut_in_the_reason():
    verdict = CellVerdict([Case("public", "big", "x" * 300)])
    assert verdict.reason() == f"1 of 1 cases failed; public case big: {'x' * 240}..."


def test_a_cell_whose_cases_all_passed_gives_no_reason():
    verdict = CellVerdict([Case("public", "one", None), Case("hidden", "two", None)])
    assert verdict.fraction == 1 and verdict.reason() is None


def test_a_failed_required_case_costs_the_whole_cell_and_is_the_reason():
    verdict = CellVerdict([Case("public", "the loss falls", "train_network: the loss rose"),
                           Case("hidden", "97.5% on the grader's test set", "train_network: 0.5", required=True),
                           Case("hidden", "history", None)])
    assert verdict.required_failed == "97.5% on the grader's test set"
    assert verdict.fraction == 0
    assert verdict.reason() == "2 of 3 cases failed; hidden case 97.5% on the grader's test set: train_network: 0.5"
    assert verdict.summary(4).splitlines()[0] == "Graded by the grader: 1 of 3 cases passed, 0 of 4 points"
    assert verdict.summary(4).endswith(
        "the cell earns no points unless this case passes: 97.5% on the grader's test set")


def test_a_required_case_that_passed_leaves_the_share_of_cases():
    verdict = CellVerdict([Case("hidden", "accuracy", None, required=True), Case("hidden", "history", "wrong")])
    assert verdict.required_failed is None and verdict.fraction == 0.5


def test_a_cell_that_stopped_earns_nothing_and_says_why():
    verdict = CellVerdict([Case("public", "one", None)], stopped="NameError: name 'x' is not defined\nmore")
    assert verdict.fraction == 0 and verdict.reason() == "NameError: name 'x' is not defined"
    assert "the cell stopped before its end, so it earns no points: NameError" in verdict.summary(2)


def test_a_cell_that_ran_no_case_earns_nothing():
    assert CellVerdict().fraction == 0


def test_a_verdict_read_back_from_its_json_is_the_same_verdict():
    verdict = CellVerdict([Case("public", "one", None), Case("hidden", "accuracy", "0.5", required=True)])
    stored = json.loads(json.dumps(dataclasses.asdict(verdict)))  # as SaveVerdicts writes it
    read = CellVerdict(**stored)
    assert read == verdict and read.required_failed == "accuracy" and read.summary(2) == verdict.summary(2)


def test_the_graders_cases_record_their_part_failure_and_whether_required():
    verdict = CellVerdict()
    cases = _GradedCases("train_network", verdict)
    with cases.case("the loss falls"):
        pass
    with hw2_checks.withholding_expected():
        with cases.case("accuracy", required=True):
            hw2_checks.fail("train_network", "accuracy 0.5")
    cases.report()  # reports nothing: the grader reports the whole cell
    assert verdict.cases == [Case("public", "the loss falls", None, False),
                             Case("hidden", "accuracy", "train_network: accuracy 0.5", True)]
    assert verdict.required_failed == "accuracy" and verdict.fraction == 0


@pytest.mark.parametrize("public, hidden", [(1, 1), (2, 0), (0, 2), (3, 4), (7, 0), (1, 6)])
def test_public_and_hidden_scores_add_up_to_the_cells_exactly(public, hidden):
    """Gradescope shows a cell as two tests: their scores add up to the gradebook's (rounded to 0.01)."""
    for points in (1, 2, 3, 2.5):
        cases = [Case("public", f"p{i}", None if i < public else "wrong") for i in range(3)] + \
                [Case("hidden", f"h{i}", None if i < hidden else "wrong") for i in range(7)]
        verdict = CellVerdict(cases)
        assert verdict.score(points) == round(points * verdict.fraction, 2)
        assert verdict.score(points, "public") + verdict.score(points, "hidden") == pytest.approx(verdict.score(points))
        assert verdict.score(points, "public") == round(points * min(public, 3) / 10, 2)
        assert min(verdict.score(points, "public"), verdict.score(points, "hidden")) >= 0


def test_a_cell_that_earns_nothing_gives_nothing_to_either_part():
    verdict = CellVerdict([Case("public", "a", None), Case("hidden", "b", "wrong", True)])
    assert verdict.score(2, "public") == verdict.score(2, "hidden") == verdict.score(2) == 0


def _failed(count, of):
    return CellVerdict([Case("public", f"case {i}", "wrong" if i < count else None) for i in range(of)])


def test_an_outcome_cell_names_first_the_functions_it_uses_that_lost_points_in_their_own_cells():
    judges = {"forward_pass": "test_forward_pass", "layer_forward": "test_layer_forward",
              "logistic_loss": "test_logistic_loss"}
    verdicts = {"test_layer_forward": _failed(11, 11), "test_forward_pass": _failed(0, 13),
                "test_logistic_loss": _failed(1, 14)}
    cause = dependency_cause(judges, verdicts)
    assert cause == ("probably caused by layer_forward, which failed 11 of 11 of its own cases above, and by "
                     "logistic_loss, which failed 1 of 14 of its own cases above"), "the most failed first"
    outcome = CellVerdict([Case("public", "the known answer", "the mean loss of the test batch: test_batch_mean_loss "
                                "is wrong in 1 of 1 entries")], cause=cause)
    assert outcome.reason().startswith(f"{cause}; 1 of 1 cases failed; public case the known answer: the mean loss")
    assert outcome.summary(2).splitlines()[1] == f"  P{cause[1:]}."


def test_no_cause_when_the_functions_it_uses_kept_their_points_or_were_not_graded_yet():
    assert dependency_cause({"layer_forward": "test_layer_forward"}, {"test_layer_forward": _failed(0, 11)}) is None
    assert dependency_cause({"backward_pass": "test_backward_pass"}, {}) is None
    assert dependency_cause({}, {"test_layer_forward": _failed(3, 3)}) is None


def test_functions_judged_by_one_cell_are_named_together_and_a_stopped_cell_says_so():
    judges = {"create_weight_matrices": "test_init", "create_bias_vectors": "test_init", "flatten_images": "test_flat"}
    verdicts = {"test_init": _failed(2, 4), "test_flat": CellVerdict(stopped="NameError: name 'np' is not defined")}
    assert dependency_cause(judges, verdicts) == (
        "probably caused by flatten_images, whose own cell above stopped before its end, and by "
        "create_weight_matrices, create_bias_vectors, which failed 2 of 4 of their own cases above")


def test_a_cell_that_stopped_gives_its_cause_first_and_the_cause_survives_json():
    verdict = CellVerdict([], stopped="NameError: name 'history' is not defined",
                          cause="probably caused by backward_pass, which failed 14 of 14 of its own cases above")
    assert verdict.reason() == ("probably caused by backward_pass, which failed 14 of 14 of its own cases above; "
                                "NameError: name 'history' is not defined")
    assert CellVerdict(**json.loads(json.dumps(dataclasses.asdict(verdict)))) == verdict
    assert CellVerdict(cases=[], stopped=None).cause is None, "verdicts stored before causes read back"
