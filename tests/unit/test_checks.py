"""hw2_checks: what a student reads when a case fails, and how a test cell's cases are counted."""
import nbformat
import numpy as np
import pytest

import hw2
import hw2_checks
from autograder.assignment import master
from autograder.assignment.master import split
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


# --- likely causes: float32 logs, suspects, transposed results, reversed layers ------------------
def _failure(code):
    with pytest.raises(CheckFailed) as failed:
        code()
    return str(failed.value)


def test_a_float32_result_with_infinity_is_told_that_float32_rounds_1_minus_1e15_to_1():
    g = np.clip(np.array([[1.0], [0.5]], dtype=np.float32), 1e-15, 1 - 1e-15)  # what a float32 clip does: g stays 1
    assert g[0, 0] == 1.0
    with np.errstate(divide="ignore"):
        loss = -np.log(1 - g).ravel()
    message = _failure(lambda: check_array("logistic_loss", "loss", loss, [34.538776394910684, 0.6931471805599453]))
    assert "contains NaN or infinity" in message and "Likely cause: log of 0 in float32: in float32, 1 - 1e-15 " \
           "rounds to 1" in message and "convert g to float64 first" in message, message
    float64 = _failure(lambda: check_array("logistic_loss", "loss", loss.astype(np.float64), [34.5, 0.69]))
    assert "Likely cause: overflow in exp, or log of 0: clip probabilities" in float64, float64
    told = _failure(lambda: check_array("logistic_loss", "loss", loss.astype(np.float64), [34.5, 0.69],
                                        nonfinite_cause=hw2_checks.FLOAT32_LOG_CAUSE))
    assert "rounds to 1" in told, told


def test_a_square_result_that_is_the_answer_transposed_is_named():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    message = _failure(lambda: check_array("backward_pass", "grad_Ws[1]", expected.T.copy(), expected))
    assert "Likely cause: the result is the expected one transposed" in message, message
    symmetric = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert "transposed" not in _failure(lambda: check_array("backward_pass", "grad_Ws[1]", 2 * symmetric, symmetric))


def test_layers_in_reverse_order_are_named_by_shape_and_by_value():
    expected = [np.ones((4, 2)), np.full((2, 1), 2.0)]
    by_shape = _failure(lambda: hw2_checks.check_list_of_arrays("backward_pass", "grad_Ws", expected[::-1], expected))
    assert "in reverse order" in by_shape and "Likely cause: the layers are in reverse order" in by_shape, by_shape
    same_shapes = [np.ones((3, 3)), np.full((3, 3), 2.0)]
    by_value = _failure(lambda: hw2_checks.check_list_of_arrays("backward_pass", "grad_Ws", same_shapes[::-1],
                                                                 same_shapes))
    assert "grad_Ws[0] is wrong" in by_value and "Likely cause: the layers are in reverse order" in by_value, by_value


def test_a_cases_suspects_name_the_classic_bug_a_result_matches_without_showing_values():
    case = {"out": np.array([[0.5, 0.25]]), "suspects": {"out": {"bias_missing": np.array([[0.375, 0.125]])}}}
    assert hw2_checks.suspects(case, "out") == {hw2_checks.CLASSIC_BUGS["bias_missing"]: case["suspects"]["out"]
                                                ["bias_missing"]}
    assert hw2_checks.suspects({"out": 1}, "out") == {} and hw2_checks.suspects(case, "grad") == {}
    with hw2_checks.withholding_expected():
        message = _failure(lambda: check_array("layer_forward", "out", np.array([[0.375, 0.125]]), case["out"],
                                               known_bugs=hw2_checks.suspects(case, "out")))
    assert "Likely cause: the bias was not added" in message and "0.5" not in message and "0.375" not in message


# The master's own test cells, run here against small student functions (the public part, no kernel).
def _master_cell_failure(grade_id, **student):
    notebook = nbformat.read(master.MASTER, as_version=4)
    source = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    namespace = {name: getattr(hw2_checks, name) for name in dir(hw2_checks) if not name.startswith("_")}
    X_batch, y_batch, weights, biases = hw2.load_test_batch()
    namespace.update(np=np, load_public_cases=hw2.load_public_cases, X_batch=X_batch, y_batch=y_batch,
                     test_weight_matrices=weights, test_biases=biases, **student)
    with pytest.raises(CheckFailed) as failed:
        exec(compile(split(source)[0], grade_id, "exec"), namespace)
    return str(failed.value)


def float32_clipping_loss(g, y):
    y = np.reshape(y, np.shape(g))
    g = np.clip(g, 1e-15, 1 - 1e-15)  # in g's own dtype: a float32 g = 1 stays 1
    with np.errstate(divide="ignore"):
        loss = -(y * np.log(g) + (1 - y) * np.log(1 - g)).ravel()
    return loss, (g - y) / (g * (1 - g))


def column_major_flatten(images):
    return np.array([image.flatten(order="F") for image in images])


def test_the_master_tells_a_float32_clip_that_1_minus_1e15_rounds_to_1_in_float32():
    message = _master_cell_failure("test_logistic_loss", logistic_loss=float32_clipping_loss)
    assert message.startswith("logistic_loss: 1 of ") and "a float32 batch of 3 with g = 1 and g = 0" in message
    assert "in float32, 1 - 1e-15 rounds to 1" in message and "as the docstring says" in message, message
    assert "clip probabilities to [1e-15, 1 - 1e-15] before taking logs" not in message, message


def test_the_master_names_the_classic_bug_of_a_wrong_flatten_from_the_cases_suspects():
    message = _master_cell_failure("test_flatten_images", flatten_images=column_major_flatten)
    assert message.count("Likely cause: the pixels were read column by column") == 2, message
