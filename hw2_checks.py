"""Checks behind the notebook's test cells.

A test cell is a list of cases (``Cases``): each case calls a student function on some inputs and
checks what came back. Each check compares what a student's function returned with what was expected
and, when they differ, raises ``CheckFailed`` with a message that names the function, the case, what
was expected, what came back and the likely cause. Checks run from the most basic property to the
finest: type, then dtype, then shape, then values. A failed case does not stop the cell: every case is
tried, the cell reports them all, and each case is worth an equal share of the cell's points.
"""
import contextlib
import os
import sys
import time
import traceback
import warnings
from collections import namedtuple

import numpy as np

_withhold = False  # True while the grader runs hidden tests: messages never show expected values
TRAINED_ACCURACY = 0.975  # the test accuracy training must reach, in the public and the hidden checks alike

# Hints for errors raised inside student code, keyed by a fragment of the error message.
_SHAPES_HINT = "matrix shapes do not line up: weights are (d_in, d_out) and a layer computes x @ W + b"
_ERROR_HINTS = {
    "inhomogeneous": "a cache or result built with np.array([...]) of arrays with different shapes "
    "(a ragged array, an error since NumPy 1.24); keep them in a tuple, namedtuple or dict instead",
    "has no attribute 'int'": "np.int, np.float and np.bool were removed from NumPy; use int, float, bool",
    "has no attribute 'float'": "np.int, np.float and np.bool were removed from NumPy; use int, float, bool",
    "shapes": _SHAPES_HINT,
    "mismatch in its core dimension": _SHAPES_HINT,  # NumPy 2's words for a matrix product of wrong shapes
    "operands could not be broadcast": "arrays of shapes that do not broadcast: compare the shapes of the "
    "case's inputs with the docstring (y is (n,), g is (n, 1), b is (1, d_out))",
    "Cannot cast ufunc": "an in-place operation (+=, *=, out=...) on an integer or float32 array whose result is "
    "float64: compute a new array instead (e.g. s = s * 2, or np.asarray(s, dtype=float) first)",
    "has no len()": "len() of a single number: this case's inputs (above) include a scalar or a batch of 1 "
    "where your code expected a longer array",
    "index": "indexing that assumes a shape the docstring does not promise: compare the case's inputs (above) "
    "with the docstring",
}
_ASSERTION_HINT = "an assert in your own code failed for inputs the docstring allows (the case above)"
LOG_OF_ZERO_CAUSE = "overflow in exp, or log of 0: clip probabilities to [1e-15, 1 - 1e-15] before taking logs"
FLOAT32_LOG_CAUSE = ("log of 0 in float32: in float32, 1 - 1e-15 rounds to 1, so clipping a float32 g to "
                     "[1e-15, 1 - 1e-15] leaves g = 1 and log(1 - g) = log(0); convert g to float64 first "
                     "(np.asarray(g, dtype=np.float64)), then clip, as the docstring says")
REVERSED_LAYERS_CAUSE = ("the layers are in reverse order: entry l belongs to layer l, the first layer first (when "
                         "walking the layers backwards, insert at the front or reverse the list at the end)")
TRANSPOSED_CAUSE = ("the result is the expected one transposed: check the order of a matrix product "
                    "(weights are (d_in, d_out): x @ W, x.T @ delta) or a missing or extra .T")

# Classic bugs that give a wrong value of the right shape, by name: a case may carry, for each result it
# checks, what these bugs would have returned for its inputs ({result: {bug: value}}, made by the
# instructor's case builder), and the checks name the bug a wrong result matches (``suspects``).
CLASSIC_BUGS = {
    "pixels_by_column": "the pixels were read column by column (order='F' or a transpose): flatten each image "
                        "row by row, in NumPy's default order",
    "clip_discarded": "the result of np.clip was thrown away: write out = np.clip(out, ...)",
    "grad_unclipped": "grad computed from the unclipped output: clip out first, then grad = out * (1 - out)",
    "label0_term_missing": "the (1 - y) log(1 - g) term is missing or wrong, so labels 0 are scored wrongly",
    "dL_dg_only_y1": "dL_dg = -1 / g is right only for y = 1: differentiate both terms of the loss",
    "dL_ds_returned": "dL_dg = g - y is the derivative with respect to s (through the sigmoid), not g: "
                      "differentiate the loss with respect to g itself (backward_pass multiplies dL_dg by the "
                      "sigmoid's derivative)",
    "bias_missing": "the bias was not added: s = x @ W + b",
    "activations_reversed": "the activations were applied in the wrong order (use activations[l] for layer l)",
    "derivative_missing": "the activation's derivative is missing: multiply delta by it before the product",
    "wrong_layer_input": "x.T @ delta used the input of the wrong layer (the layer's own output, which is the next "
                         "layer's input): the gradient of layer l's weights uses the x that layer l received",
    "backprop_in_checker": "the checker used the activations' derivatives (backpropagation), not finite differences "
                           "of the mean loss: these activations return deliberately wrong derivatives",
}


def suspects(case, result):
    """{likely cause: the value a classic bug gives} for ``result`` (str, e.g. "out") of ``case`` (a dict of
    the cases files), for the ``known_bugs`` of a check ({} when the case carries none)."""
    return {CLASSIC_BUGS[bug]: value for bug, value in case.get("suspects", {}).get(result, {}).items()}


CaseResult = namedtuple("CaseResult", ["description", "failure"])
CaseResult.__doc__ = """One case of a test cell.

description: str, what the case tried
failure: str, why it failed (the check's message), or None when it passed
"""


class Cases:
    """The cases of one test cell, each tried in turn (``with cases.case(description):``); ``report()``
    at the end of the cell's public part prints how many passed, or raises CheckFailed naming every
    failed case. The grader runs the same cases (and its hidden ones) itself and gives each an equal
    share of the cell's points.

    function: str, the student function the cell tests (named in the report)
    """

    def __init__(self, function):
        self.function, self.results = function, []

    @contextlib.contextmanager
    def case(self, description, required=False):
        """Run one case: a failed check or an error of student code inside is recorded as the case's
        failure (and the cell goes on with its next case). required: the cell earns nothing unless
        this case passes (a case that proves the others mean something, e.g. that training worked)."""
        try:
            yield
        except CheckFailed as failed:
            self.results.append(CaseResult(description, str(failed)))
        except NameError as error:  # what the case needs was never made
            self.results.append(CaseResult(description, f"{self.function}: {error}: run the cells above first (the "
                                                        "cell that makes it did not run, or failed)"))
        except Exception as error:  # the checks could not use what came back
            self.results.append(CaseResult(description, f"{self.function}: the checks could not use what it "
                                                        f"returned ({type(error).__name__}: {error})"))
        else:
            self.results.append(CaseResult(description, None))

    def report(self):
        """Print how many cases passed; raise CheckFailed listing every failed case."""
        failed = [result for result in self.results if result.failure]
        if failed:
            raise CheckFailed(f"{self.function}: {len(failed)} of {len(self.results)} cases failed\n" + "\n".join(
                f"- {result.description}:\n  " + result.failure.replace("\n", "\n  ") for result in failed))
        print(f"{self.function}: public checks passed ({len(self.results)} cases)")


def tanh_activation(s):
    """An activation of the tests' own (not one you write): tanh, elementwise, and its derivative.

    s: float array of any shape
    returns: (out, grad), float arrays shaped like s: out = tanh(s), grad = 1 - out ** 2
    """
    out = np.tanh(s)
    return out, 1 - out ** 2


def squash_activation(s):
    """An activation of the tests' own with outputs in (0, 1) like a probability (not the sigmoid):
    out = 1/2 + arctan(s) / pi, and its derivative grad = 1 / (pi (1 + s^2)).

    s: float array of any shape
    returns: (out, grad), float arrays shaped like s
    """
    s = np.asarray(s)
    return 0.5 + np.arctan(s) / np.pi, 1 / (np.pi * (1 + s * s))


# The tests of layer_forward, forward_pass, backward_pass and the network checker use these rather than
# your relu_activation and sigmoid_activation, so that a bug in those costs their own cells only.
TEST_ACTIVATIONS = {"tanh": tanh_activation, "squash": squash_activation}


def with_wrong_derivative(activation):
    """``activation``'s values with a deliberately wrong derivative (7 everywhere): finite differences
    never use the derivative, so a checker that does (backpropagation) is found out."""
    def activation_with_wrong_derivative(s):
        out, _ = activation(s)
        return out, np.full(np.shape(out), 7.0)
    return activation_with_wrong_derivative


def alone(function, *parts, **replacements):
    """``function``, called with ``replacements`` ({name: function}) in place of the functions of those
    names that it uses. When the grader runs a test cell, it also puts the reference solution's ``parts``
    (names of functions ``function`` uses, e.g. "layer_forward") in place of yours, so that a bug in one
    of them costs that function's own cell, not this one as well."""
    if not replacements:
        return function

    def with_replacements(*args, **kwargs):
        namespace = function.__globals__
        saved = {name: namespace[name] for name in replacements if name in namespace}
        namespace.update(replacements)
        try:
            return function(*args, **kwargs)
        finally:
            for name in replacements:
                namespace.pop(name, None)
            namespace.update(saved)
    return with_replacements


def fixed_activation(out, grad):
    """An activation that returns ``out`` and ``grad`` (float arrays of one shape) whatever it is given,
    as long as its input has their shape: caches made with it by your layer_forward hold the right
    derivative, so that backward_pass is judged alone."""
    def activation(s):
        if np.shape(s) != np.shape(out):
            raise ValueError(f"the activation got s of shape {np.shape(s)}; this layer computes "
                             f"x @ W + b of shape {np.shape(out)}")
        return out.copy(), grad.copy()
    return activation


class CheckFailed(AssertionError):
    """A result was wrong; the message says which function, how, and the likely cause."""


def fail(function, problem, cause=None):
    """Raise CheckFailed naming ``function``, the ``problem`` and the likely ``cause``."""
    message = f"{function}: {problem}"
    if cause:
        message += f"\n  Likely cause: {cause}"
    raise CheckFailed(message)


def _show(array):
    return np.array2string(np.asarray(array), precision=10, threshold=20, edgeitems=3)


@contextlib.contextmanager
def withholding_expected():
    """While this runs, failure messages describe what went wrong (shapes, dtypes, how many entries,
    where, how far off) but show no expected value and no input: the grader's hidden cases stay hidden."""
    global _withhold
    before, _withhold = _withhold, True
    try:
        yield
    finally:
        _withhold = before


def _describe(value):
    """A short description of an input for messages: its type, dtype and shape, never its values
    (a hidden case's inputs stay hidden), except for small ints."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, (bool, int, np.integer)) and abs(int(value)) < 10**6:
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return type(value).__name__
    if isinstance(value, (list, tuple)) and all(isinstance(v, np.ndarray) for v in value) and value:
        return f"a {type(value).__name__} of {len(value)} arrays of shapes {', '.join(str(v.shape) for v in value)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    if callable(value):
        return f"the function {getattr(value, '__name__', type(value).__name__)}"
    return f"a {type(value).__name__}"


def _student_frames_in(frames):
    """The frames of student code among ``frames`` (traceback.FrameSummary, outermost first), as
    (function, line number, source line): not Python's or an installed package's, not these checks',
    not code compiled from a string (a notebook cell's file is a real path or ``<ipython-input-...>``).

    The grader's kernel side uses this same function (it sends its source to the kernel with its own)."""
    library = (sys.prefix, sys.base_prefix, os.path.dirname(os.__file__))
    return [(f.name, f.lineno, f.line or "") for f in frames
            if not (f.filename.startswith("<") and not f.filename.startswith("<ipython-input"))
            and not f.filename.startswith(library) and os.path.basename(f.filename) != "hw2_checks.py"]


def _student_frames(error):
    """The innermost frames of the student's own code in ``error``'s traceback: (function, line number,
    source line). Frames sent by the grader's kernel side arrive ready (``student_frames``)."""
    if hasattr(error, "student_frames"):
        return list(error.student_frames)
    return _student_frames_in(traceback.extract_tb(error.__traceback__)[1:])  # the first is the test's own call


def explain_error(function, error, inputs=None, error_hints=None):
    """The message for an error that student code raised: which function, for which inputs, where in
    the student's code, and the likely cause when one is known."""
    text = f"{function} raised {type(error).__name__}: {str(error).strip()[:500]}"
    if inputs:
        text += "\n  for " + ", ".join(f"{name} = {_describe(value)}" if isinstance(value, (int, np.integer))
                                        and not isinstance(value, bool) else f"{name}: {_describe(value)}"
                                        for name, value in inputs.items())
    for name, line_number, line in _student_frames(error)[-3:]:
        text += f"\n  in your code: {name}, line {line_number}: {line.strip()}"
    hints = {**(error_hints or {}), **_ERROR_HINTS}
    hint = next((h for key, h in hints.items() if key in str(error)), None)
    if hint is None and isinstance(error, AssertionError):
        hint = _ASSERTION_HINT
    if hint:
        text += f"\n  Likely cause: {hint}"
    return text


@contextlib.contextmanager
def calling(function, inputs=None, *, warnings_fail=False, warning_cause=None, error_hints=None):
    """Run student code, turning its errors and (optionally) warnings into clear failures.

    An error becomes CheckFailed naming ``function``, the ``inputs`` ({argument name: value}, described
    by dtype and shape), the lines of student code it came from, and the likely cause when known.
    Warnings are recorded rather than printed: nbgrader scores a test cell 0 when anything reaches
    stderr, and a harmless warning must not cost a correct solution its points.
    error_hints: {fragment of an error message: likely cause}, for this call, before the general ones.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except CheckFailed:
            raise
        except Exception as error:
            raise CheckFailed(explain_error(function, error, inputs, error_hints)) from None
    for warning in caught:
        text = f"{warning.category.__name__}: {warning.message}"
        if warnings_fail:
            fail(function, f"emitted a warning ({text}); it must run without warnings", warning_cause)
        print(f"Note: {function} emitted {text}")


def unpack(function, result, names):
    """Check that ``function`` returned a tuple of ``len(names)`` values and return them."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"a {type(result).__name__}"
        if isinstance(result, (tuple, list)):
            got += f" of length {len(result)}"
        fail(function, f"should return a tuple ({', '.join(names)}) but returned {got}",
              f"return {', '.join(names)} (a tuple), not a single value or a list of another length")
    return result


def check_list_of_arrays(function, name, got, expected, *, known_layer_bugs=None, **kwargs):
    """Check a list of arrays (e.g. one gradient per layer) against ``expected`` entry by entry.

    known_layer_bugs: {likely cause: [array_like per layer]}, wrong answers a common bug gives for the
        whole list; other keyword arguments go to check_array for every entry. A list whose layers are in
        reverse order is named as such.
    """
    if not isinstance(got, (list, tuple)):
        fail(function, f"{name} should be a list of {len(expected)} arrays, one per layer, "
                        f"but is a {type(got).__name__}",
              "return a Python list of arrays; a single np.array of differently shaped arrays is ragged")
    if len(got) != len(expected):
        fail(function, f"{name} should hold {len(expected)} arrays (one per layer) but holds {len(got)}",
              "a loop over layers that stops early or starts late (off-by-one layer indexing)")
    reversed_layers = {REVERSED_LAYERS_CAUSE: list(expected)[::-1]} if len(expected) > 1 else {}
    for layer, (got_layer, expected_layer) in enumerate(zip(got, expected)):
        if np.shape(got_layer) != np.shape(expected_layer) and len(expected) > 1 and \
                [np.shape(g) for g in got] == [np.shape(e) for e in expected][::-1]:
            fail(function, f"{name}[{layer}] has shape {np.shape(got_layer)}, expected {np.shape(expected_layer)}; "
                           f"the shapes of {name} are those expected, in reverse order", REVERSED_LAYERS_CAUSE)
        layer_bugs = {cause: wrong[layer] for cause, wrong in {**(known_layer_bugs or {}), **reversed_layers}.items()}
        check_array(function, f"{name}[{layer}]", got_layer, expected_layer,
                    **dict(kwargs, known_bugs={**(kwargs.get("known_bugs") or {}), **layer_bugs}))


def _shape_cause(got_shape, expected_shape):
    n = expected_shape[0] if expected_shape else 0
    if len(expected_shape) in (1, 2) and n > 1 and got_shape in [(n, n), (n * n,)] and expected_shape != got_shape:
        return ("an array of shape (n,) was broadcast against one of shape (n, 1), giving (n, n)"
                + (" (then flattened to n * n values)" if got_shape == (n * n,) else "")
                + "; reshape y to (n, 1) (y.reshape(-1, 1)) or g to (n,) before combining them")
    if got_shape == expected_shape[::-1]:
        return "a transposed result: weights are (d_in, d_out), so use x.T @ delta for the gradient of W"
    if len(expected_shape) == 2 and got_shape == expected_shape[:1]:
        return "a flattened result: keep the column shape (n, 1), e.g. do not ravel or squeeze"
    if len(expected_shape) == 1 and got_shape == (expected_shape[0], 1):
        return "an extra column dimension: return shape (n,), e.g. with .ravel() or [:, 0]"
    if len(got_shape) == len(expected_shape) + 1:
        return "one result per example was returned; average over the batch (axis 0) instead"
    if len(expected_shape) == 2 and expected_shape[0] == 1 and got_shape == expected_shape[1:]:
        return "the bias has lost its leading axis: biases have shape (1, d_out), keepdims=True helps"
    return None


def check_array(function, name, got, expected, *, rtol=1e-5, atol=1e-9, kinds="f", other_shapes=(),
                known_bugs=None, factor_hints=None, compare_values=True, bias_like=False, nonfinite_cause=None):
    """Check one array: type, then dtype, then shape, then values.

    Parameters
    ----------
    function : str, the student function being checked (named in every message).
    name : str, what the array is (e.g. "grad_Ws[0]").
    got : what the student's function returned.
    expected : array_like, the right answer.
    rtol, atol : float, tolerances as in np.allclose.
    kinds : str, accepted dtype kinds ("f" float, "i" int, "u" unsigned, "b" bool).
    other_shapes : shapes also accepted; such results are reshaped to ``expected.shape``.
    known_bugs : dict {likely cause: array_like}, wrong answers that common bugs produce (those of another
        shape than ``expected`` are skipped); a square matrix that is the answer transposed is named too.
    factor_hints : dict {factor: likely cause}, for results off from the answer by a constant factor.
    compare_values : bool, False to check only type, dtype and shape.
    bias_like : bool, also accept shape (d,) for an expected (1, d), which broadcasts the same way.
    nonfinite_cause : str, the likely cause of NaN or infinity (default: log of 0 or overflow in exp;
        for a float32 result, log of 0 from clipping in float32).
    """
    expected = np.asarray(expected)
    if isinstance(got, (int, float, np.number)) and expected.ndim == 0:
        got = np.asarray(got)
    if not isinstance(got, np.ndarray):
        fail(function, f"{name} should be a numpy array of shape {expected.shape}, "
                        f"got a {type(got).__name__}",
              "returning a list, a tuple or None instead of a numpy array")
    if got.dtype == object:
        fail(function, f"{name} has dtype object, expected a numeric array of shape {expected.shape}",
              "np.array([...]) of arrays with different shapes (a ragged array)")
    if got.dtype.kind not in kinds:
        fail(function, f"{name} has dtype {got.dtype}, expected a float array",
              "integer arithmetic (e.g. np.zeros_like of an int array, or // instead of /)")
    if bias_like and expected.ndim == 2 and expected.shape[0] == 1:
        other_shapes = [*other_shapes, expected.shape[1:]]  # (d,) broadcasts like (1, d)
    if got.shape != expected.shape:
        if got.shape not in [tuple(s) for s in other_shapes]:
            fail(function, f"{name} has shape {got.shape}, expected {expected.shape}",
                  _shape_cause(got.shape, expected.shape))
        got = got.reshape(expected.shape)
    if not compare_values:
        return
    if not np.all(np.isfinite(got)):
        where = np.argwhere(~np.isfinite(got))
        shown = (f"{(~np.isfinite(got)).sum()} of {got.size} entries, the first at index "
                 f"{tuple(int(i) for i in where[0])}" if _withhold else f"{_show(got)}\n  expected: {_show(expected)}")
        fail(function, f"{name} contains NaN or infinity: {shown}",
              nonfinite_cause or (FLOAT32_LOG_CAUSE if got.dtype == np.float32 else LOG_OF_ZERO_CAUSE))
    if _close(got, expected, rtol, atol):
        return
    suspects = dict(known_bugs or {})
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] > 1 and not _close(expected.T, expected, rtol, atol):
        suspects.setdefault(TRANSPOSED_CAUSE, expected.T)
    cause = next((c for c, wrong in suspects.items()
                  if np.shape(wrong) == expected.shape and _close(got, wrong, rtol, atol)), None)
    if cause is None:
        cause = _factor_cause(got, expected, rtol, atol, factor_hints or {})
    wrong = ~_within(got, expected, rtol, atol)
    worst = np.unravel_index(np.argmax(np.abs(got - expected) * wrong), expected.shape)
    index = tuple(int(i) for i in worst)
    if _withhold:  # how far off, as a power of ten only: a finer figure would tell the expected value
        error = abs(float(got[worst]) - float(expected[worst])) / max(abs(float(expected[worst])), atol)
        detail = f"the largest error is at index {index}, off by about 1e{int(np.floor(np.log10(error))):+d} " \
                 "of the expected value's size"
    else:
        detail = (f"at index {index} expected {float(expected[worst])!r}, got {float(got[worst])!r}\n"
                  f"  expected: {_show(expected)}\n  got:      {_show(got)}")
    fail(function, f"{name} is wrong in {wrong.sum()} of {wrong.size} entries (rtol={rtol:g}, atol={atol:g}); "
                   f"{detail}", cause)


IN_PLACE_CAUSE = ("changing an argument in place (s[s < 0] = 0, x += ..., x -= ..., np.maximum(s, 0, out=s) or "
                  "appending to a list it was given): compute new arrays and leave the caller's as they are")


def check_unchanged(function, name, before, after, cause=IN_PLACE_CAUSE):
    """Check that ``function`` left its argument ``name`` exactly as it was (bit for bit)."""
    if isinstance(before, (list, tuple)):
        if len(after) != len(before):
            fail(function, f"changed the length of its argument {name} from {len(before)} to {len(after)}", cause)
        for i, (b, a) in enumerate(zip(before, after)):
            check_unchanged(function, f"{name}[{i}]", b, a, cause)
        return
    if np.shape(before) != np.shape(after) or not np.array_equal(before, after):
        if _withhold or np.shape(before) != np.shape(after):
            change = f"shape {np.shape(before)} before, {np.shape(after)} after" if np.shape(before) != \
                np.shape(after) else f"{int(np.sum(np.asarray(before) != np.asarray(after)))} entries differ afterwards"
        else:
            change = f"it was {_show(before)}, afterwards {_show(after)}"
        fail(function, f"changed its argument {name}: {change}", cause)


def check_number(function, name, got, low=-np.inf, high=np.inf, cause=None):
    """Check that ``got`` is one real number within [low, high]."""
    if np.ndim(got) != 0 or not np.isreal(got):
        fail(function, f"{name} should be a single real number, got {got!r}", cause)
    if not low <= float(got) <= high:
        fail(function, f"{name} should be between {low} and {high}, got {float(got)!r}", cause)


def check_that(function, condition, problem, cause=None):
    """Check a property that is true or not: fail with ``problem`` and ``cause`` when ``condition`` is false."""
    if not condition:
        fail(function, problem, cause)


def _within(got, expected, rtol, atol):
    return np.abs(got - expected) <= atol + rtol * np.abs(expected)


def _close(got, expected, rtol, atol):
    return bool(np.all(_within(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol, atol)))


def _factor_cause(got, expected, rtol, atol, factor_hints):
    """The likely cause when ``got`` is ``expected`` times one constant: a hinted factor's cause, or
    (when two or more entries agree on it: one number off says nothing about a factor) a generic one."""
    big = np.abs(expected) > atol
    if not big.any():
        return None
    factor = float(np.median(got[big] / expected[big]))
    if not _close(got, factor * expected, 10 * rtol, atol):
        return None
    for hinted, cause in factor_hints.items():
        if np.isclose(factor, hinted, rtol=1e-3):
            return cause
    if big.sum() < 2:
        return None
    if _withhold:
        return "every entry is off from the expected value by the same factor: a missing or extra constant factor"
    return f"every entry is {factor:.6g} times the expected value: a missing or extra constant factor"


# --- Speed feedback (prints a note, never fails) ------------------------------------------------

SpeedReport = namedtuple("SpeedReport", ["forward_seconds", "backward_seconds", "forward_matmul_seconds",
                                         "backward_matmul_seconds", "forward_factor", "backward_factor", "note"])
SpeedReport.__doc__ = """What check_speed measured: the fastest of its repeated timings, in seconds.

forward_seconds, backward_seconds: the student's forward_pass and backward_pass
forward_matmul_seconds, backward_matmul_seconds: the matrix products each of them needs, done by numpy
forward_factor, backward_factor: student time / matrix product time
note: the advice printed when a factor exceeds the threshold, else None
"""

_SLOW_CAUSES = {
    "forward_pass": "np.vectorize, math.exp or a Python loop over examples or entries in the activations "
                    "or layer_forward; use whole-array operations such as np.maximum(s, 0) and s > 0",
    "backward_pass": "a Python loop over the examples (e.g. np.outer per example), or np.einsum, which "
                     "skips the fast matrix product unless optimize=True; one product x.T @ ds adds up "
                     "every example's outer product at once",
}


def _time_into(run, times):
    started = time.perf_counter()
    run()
    times.append(time.perf_counter() - started)


def check_speed(forward_pass, backward_pass, X, weight_matrices, biases, activations, *, repeats=10,
                threshold=8.0, budget_seconds=1.0):
    """Time forward_pass and backward_pass against the matrix products they need; print a note if far slower.

    Feedback only: prints one line of timings, and a note with the factor and the likely cause when
    the student's code is more than ``threshold`` times slower than the products. Never raises for
    working code, whatever its speed; warnings are swallowed (nothing reaches stderr).

    X: float array (n, d_0), a realistic batch (e.g. 1000 training images of 784 pixels)
    weight_matrices: list of L float arrays, layer l of shape (d_l, d_{l+1}), same dtype as X
    biases: list of L float arrays, layer l of shape (1, d_{l+1})
    activations: list of L activation functions
    repeats: timings of each part (the fastest counts); no more than 3 once the student's code has
        used ``budget_seconds``
    returns: SpeedReport, or None when the student's code raised an error (printed instead)
    """
    X = np.asarray(X)
    n = len(X)
    rng = np.random.default_rng(0)
    dL_dg = rng.normal(size=(n, weight_matrices[-1].shape[1])).astype(X.dtype)
    # what a vectorised implementation cannot avoid: x_l @ W_l + b_l forward; x_l.T @ ds_l, the column sums
    # of ds_l for every layer and ds_l @ W_l.T for all but the first backward (the gradient of X is not needed)
    inputs = [X]
    for W, b in zip(weight_matrices[:-1], biases[:-1]):
        inputs.append(inputs[-1] @ W + b)
    deltas = [rng.normal(size=(n, W.shape[1])).astype(X.dtype) for W in weight_matrices]

    def forward_products():
        x = X
        for W, b in zip(weight_matrices, biases):
            x = x @ W + b

    def backward_products():
        for layer, (x, W, ds) in enumerate(zip(inputs, weight_matrices, deltas)):
            x.T @ ds
            ds.sum(axis=0)
            if layer:
                ds @ W.T

    timings = {name: [] for name in ["forward", "backward", "forward products", "backward products"]}
    spent = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            while len(timings["forward"]) < repeats and (len(timings["forward"]) < 3 or spent < budget_seconds):
                _time_into(lambda: forward_pass(X, weight_matrices, biases, activations), timings["forward"])
                _, caches = forward_pass(X, weight_matrices, biases, activations)
                _time_into(lambda: backward_pass(dL_dg, caches), timings["backward"])
                _time_into(forward_products, timings["forward products"])
                _time_into(backward_products, timings["backward products"])
                spent += 2 * timings["forward"][-1] + timings["backward"][-1]
        except Exception as error:
            print(f"Speed check skipped: your code raised {type(error).__name__}: {error} "
                  "(the checks above tell you what to fix)")
            return None
    best = {name: min(times) for name, times in timings.items()}
    factors = {"forward_pass": best["forward"] / best["forward products"],
               "backward_pass": best["backward"] / best["backward products"]}
    # seconds only (no factors) while nothing is flagged: feedback that reads the same at every grading
    print(f"Speed on {n} examples: forward_pass {best['forward']:.4f} s, backward_pass {best['backward']:.4f} s; "
          f"the matrix products they need take {best['forward products']:.4f} s and "
          f"{best['backward products']:.4f} s")
    slow = [name for name, factor in factors.items() if factor > threshold]
    note = None
    if slow:
        note = "\n".join(f"Note: {name} is {factors[name]:.0f}x slower than the matrix products it needs "
                         f"(more than {threshold:g}x points to code that is not vectorised). "
                         f"Likely cause: {_SLOW_CAUSES[name]}. Correct answers still earn their points, but "
                         "training will be slow." for name in slow)
        print(note)
    return SpeedReport(best["forward"], best["backward"], best["forward products"], best["backward products"],
                       factors["forward_pass"], factors["backward_pass"], note)
