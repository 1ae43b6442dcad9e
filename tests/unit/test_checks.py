"""hw2_checks: what a student reads when a case fails, and how a test cell's cases are counted."""
import numpy as np
import pytest

import hw2_checks
from hw2_checks import Cases, CheckFailed, calling, check_array, check_unchanged


def _message(function, inputs, code):
    with pytest.raises(CheckFailed) as failed:
        with calling(function, inputs):
            code()
    return str(failed.value)


def student_second_row(x):
    return x[1]


def student_int_sigmoid(s):
    return np.exp(-s, out=s)


def student_length(g):
    return len(g)


def student_asserts(g, y):
    assert np.shape(g) == np.shape(y), "g and y must have the same shape"


@pytest.mark.parametrize("function, inputs, code, expected", [
    ("finite_difference_checker", {"x": np.zeros((1, 3)), "k": 2}, lambda: student_second_row(np.zeros((1, 3))),
     ["raised IndexError", "for x: float64 array of shape (1, 3), k = 2",
      "in your code: student_second_row, line", "return x[1]", "Likely cause: indexing that assumes a shape"]),
    ("sigmoid_activation", {"s": np.arange(3)}, lambda: student_int_sigmoid(np.arange(3)),
     ["raised UFuncTypeError: Cannot cast ufunc 'exp' output", "for s: int64 array of shape (3,)",
      "Likely cause: an in-place operation"]),
    ("logistic_loss", {"g": np.float32(0.5)}, lambda: student_length(np.float32(0.5)),
     ["has no len()", "g: float32", "Likely cause: len() of a single number"]),
    ("logistic_loss", {"g": np.zeros((2, 1)), "y": np.zeros(2)},
     lambda: student_asserts(np.zeros((2, 1)), np.zeros(2)),
     ["raised AssertionError: g and y must have the same shape", "g: float64 array of shape (2, 1), "
      "y: float64 array of shape (2,)", "Likely cause: an assert in your own code"]),
    ("layer_forward", {"x": np.zeros((2, 3))}, lambda: np.zeros((2, 3)) @ np.zeros((2, 1)),
     ["raised ValueError: matmul", "Likely cause: matrix shapes do not line up"]),
])
def test_an_error_of_student_code_is_explained(function, inputs, code, expected):
    message = _message(function, inputs, code)
    for part in expected:
        assert part in message, message


def test_a_single_wrong_number_gets_no_factor_hint():
    """One wrong entry says nothing about a constant factor (a missing bias is not "0.99 times")."""
    with pytest.raises(CheckFailed) as failed:
        check_array("layer_forward", "out", np.array([[0.9922]]), np.array([[1.0]]))
    assert "times the expected value" not in str(failed.value) and "factor" not in str(failed.value)


def test_an_argument_changed_in_place_gets_in_place_advice():
    s = np.array([-1.0, 2.0])
    before = s.copy()
    np.maximum(s, 0, out=s)
    with pytest.raises(CheckFailed) as failed:
        check_unchanged("relu_activation", "s", before, s)
    assert "in place" in str(failed.value) and "finite" not in str(failed.value), str(failed.value)


def test_cases_go_on_after_a_failure_and_report_every_one(capsys):
    cases = Cases("double")
    with cases.case("one"):
        check_array("double", "double(1)", np.array(2.0), np.array(2.0))
    with cases.case("two"):
        with calling("double", {"x": 2}):
            raise ZeroDivisionError("division by zero")
    with cases.case("three"):
        check_array("double", "double(3)", np.array(5.0), np.array(6.0))
    assert [result.failure is None for result in cases.results] == [True, False, False]
    with pytest.raises(CheckFailed) as failed:
        cases.report()
    report = str(failed.value)
    assert report.startswith("double: 2 of 3 cases failed") and "- two:" in report and "- three:" in report, report
    passing = Cases("double")
    with passing.case("one"):
        pass
    passing.report()
    assert "double: public checks passed (1 cases)" in capsys.readouterr().out


def test_hidden_messages_show_no_expected_value():
    with hw2_checks.withholding_expected(), pytest.raises(CheckFailed) as failed:
        check_array("relu_activation", "out", np.array([0.25, 7.0]), np.array([0.5, 7.0]))
    assert "0.5" not in str(failed.value) and "off by about 1e-1 " in str(failed.value), str(failed.value)


@pytest.mark.parametrize("shape", [(3, 3), (9,)])
def test_a_loss_broadcast_to_n_by_n_is_named_even_when_flattened(shape):
    with pytest.raises(CheckFailed) as failed:
        check_array("logistic_loss", "loss", np.zeros(shape), np.zeros(3))
    assert "was broadcast against one of shape (n, 1)" in str(failed.value), str(failed.value)
