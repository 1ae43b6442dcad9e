"""Checks behind the notebook's test cells.

Each check compares what a student's function returned with what was expected and, when they
differ, raises ``CheckFailed`` with a message that names the function, what was expected, what came
back and the likely cause. Checks run from the most basic property to the finest: type, then dtype,
then shape, then values.
"""
import contextlib
import time
import warnings
from collections import namedtuple

import numpy as np

_withhold = False  # True while the grader runs hidden tests: messages never show expected values
TRAINED_ACCURACY = 0.975  # the test accuracy training must reach, in the public and the hidden checks alike

# Hints for errors raised inside student code, keyed by a fragment of the error message.
_ERROR_HINTS = {
    "inhomogeneous": "a cache or result built with np.array([...]) of arrays with different shapes "
    "(a ragged array, an error since NumPy 1.24); keep them in a tuple, namedtuple or dict instead",
    "has no attribute 'int'": "np.int, np.float and np.bool were removed from NumPy; use int, float, bool",
    "has no attribute 'float'": "np.int, np.float and np.bool were removed from NumPy; use int, float, bool",
    "shapes": "matrix shapes do not line up: weights are (d_in, d_out) and a layer computes x @ W + b",
}


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


@contextlib.contextmanager
def calling(function, *, warnings_fail=False, warning_cause=None, error_hints=None):
    """Run student code, turning known errors and (optionally) warnings into clear failures.

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
            hints = {**(error_hints or {}), **_ERROR_HINTS}
            hint = next((h for key, h in hints.items() if key in str(error)), None)
            if hint is None:
                raise
            fail(function, f"raised {type(error).__name__}: {error}", hint)
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
        whole list; other keyword arguments go to check_array for every entry.
    """
    if not isinstance(got, (list, tuple)):
        fail(function, f"{name} should be a list of {len(expected)} arrays, one per layer, "
                        f"but is a {type(got).__name__}",
              "return a Python list of arrays; a single np.array of differently shaped arrays is ragged")
    if len(got) != len(expected):
        fail(function, f"{name} should hold {len(expected)} arrays (one per layer) but holds {len(got)}",
              "a loop over layers that stops early or starts late (off-by-one layer indexing)")
    for layer, (got_layer, expected_layer) in enumerate(zip(got, expected)):
        layer_bugs = {cause: wrong[layer] for cause, wrong in (known_layer_bugs or {}).items()}
        check_array(function, f"{name}[{layer}]", got_layer, expected_layer,
                    **dict(kwargs, known_bugs={**kwargs.get("known_bugs", {}), **layer_bugs}))


def _shape_cause(got_shape, expected_shape):
    if len(expected_shape) in (1, 2) and got_shape == (expected_shape[0], expected_shape[0]) \
            and expected_shape != got_shape:
        return ("an array of shape (n,) was broadcast against one of shape (n, 1), giving (n, n); "
                "reshape y to (n, 1) (y.reshape(-1, 1)) or g to (n,) before combining them")
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


def check_array(function, name, got, expected, *, rtol=1e-5, atol=1e-9, kinds="f",
                other_shapes=(), known_bugs=None, factor_hints=None, compare_values=True, bias_like=False):
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
    known_bugs : dict {likely cause: array_like}, wrong answers that common bugs produce.
    factor_hints : dict {factor: likely cause}, for results off from the answer by a constant factor.
    compare_values : bool, False to check only type, dtype and shape.
    bias_like : bool, also accept shape (d,) for an expected (1, d), which broadcasts the same way.
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
              "overflow in exp, or log of 0: clip probabilities to [1e-15, 1 - 1e-15] before taking logs")
    if _close(got, expected, rtol, atol):
        return
    cause = next((c for c, wrong in (known_bugs or {}).items()
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


def check_unchanged(function, name, before, after):
    """Check that ``function`` left its argument ``name`` exactly as it was (bit for bit)."""
    if isinstance(before, (list, tuple)):
        if len(after) != len(before):
            fail(function, f"changed the length of its argument {name} from {len(before)} to {len(after)}",
                  "appending to or popping from the caller's list; work on a copy")
        for i, (b, a) in enumerate(zip(before, after)):
            check_unchanged(function, f"{name}[{i}]", b, a)
        return
    if np.shape(before) != np.shape(after) or not np.array_equal(before, after):
        if _withhold or np.shape(before) != np.shape(after):
            change = f"shape {np.shape(before)} before, {np.shape(after)} after" if np.shape(before) != \
                np.shape(after) else f"{int(np.sum(np.asarray(before) != np.asarray(after)))} entries differ afterwards"
        else:
            change = f"it was {_show(before)}, afterwards {_show(after)}"
        fail(function, f"changed its argument {name}: {change}",
              "perturbing an entry in place and not restoring it exactly (x[k] += eps ... x[k] -= eps "
              "can be off by rounding): perturb a copy, or save the entry and put it back")


def check_number(function, name, got, low=-np.inf, high=np.inf, cause=None):
    """Check that ``got`` is one real number within [low, high]."""
    if np.ndim(got) != 0 or not np.isreal(got):
        fail(function, f"{name} should be a single real number, got {got!r}", cause)
    if not low <= float(got) <= high:
        fail(function, f"{name} should be between {low} and {high}, got {float(got)!r}", cause)


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
