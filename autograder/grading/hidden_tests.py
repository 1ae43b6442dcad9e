"""Run every test cell in the grader's own process, never in the student's kernel: its public part
and then its hidden part, case by case (``run_graded``), which decides the cell's score (CellVerdict,
autograder.grading.verdict).

Everything in the student's kernel can be changed by student code: numpy, builtins, IPython's input
transformers, the checks themselves, the files it can read. So the test cell (the public part the
kernel also ran for the student to see, and the lines between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``, which the kernel never sees) runs here, with the instructor's hw2_checks and
cases loaded from the instructor's folder. When it names something it does not define
(``sigmoid_activation``, ``history``), that name is looked up in the kernel (``StudentNamespace``): a
function becomes a proxy whose calls run in the kernel, a value is copied out, as plain data only
(autograder.grading.kernel). A function of the tests handed to student code (the function a
finite-difference checker differentiates, activations, and the reference solution's parts a student
function is judged with, ``alone``) stays here, and so does its code. Besides the fixed cases of the
hidden reference, every submission gets cases drawn for it (autograder.grading.hidden_cases); the
hidden cases' messages show no expected value.
"""
import builtins
import contextlib
import io

import numpy as np

import hw2_checks
from autograder.assignment.master import split
from autograder.grading.verdict import Case, CellVerdict


class StudentNamespace(dict):
    """The hidden tests' globals: the trusted checks, what the tests define, else the student's names,
    fetched from the kernel on first use (the globals and not only the locals, so that names inside
    comprehensions and functions are found too).

    trusted: {name: value} the tests see first; kernel: autograder.grading.kernel.Kernel.
    """

    def __init__(self, trusted, kernel):
        super().__init__(trusted)
        self.kernel = kernel

    def __missing__(self, name):
        if hasattr(builtins, name):
            raise KeyError(name)  # Python then looks among the builtins
        self[name] = value = self.kernel.fetch(name)  # NameError when the notebook lacks it
        return value


def reference_part(name, function):
    """The reference solution's ``function`` (called ``name``), standing in for the student's while a
    student function runs (``alone``): when it cannot take what the student's code gave it, the student
    reads that, with what it was given."""
    def part(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 (the student's code called it wrongly)
            given = ", ".join(hw2_checks._describe(value) for value in args)
            raise hw2_checks.CheckFailed(
                f"{name} (the reference solution's, which the grader uses here in place of yours) raised "
                f"{type(error).__name__}: {error}; it was called with {given}") from None
    return part


class _GradedCases(hw2_checks.Cases):
    """The grader's Cases: every case recorded with its part, nothing reported until the cell is done."""

    def __init__(self, function, verdict):
        super().__init__(function)
        self.verdict = verdict

    @contextlib.contextmanager
    def case(self, description, required=False):
        part = "hidden" if hw2_checks._withhold else "public"
        with super().case(description, required):
            yield
        self.verdict.cases.append(Case(part, description, self.results[-1].failure, required))

    def report(self):
        """Nothing here: the grader reports every case of the cell together."""


def run_graded(source, kernel, cases, label):
    """Run test cell ``source`` (of the test cell ``label``), its public part and then its hidden part,
    here against the student's kernel; return its CellVerdict.

    kernel: autograder.grading.kernel.Kernel; cases: autograder.grading.hidden_cases.HiddenCases. The
    tests see the instructor's checks (which, in the hidden part, withhold expected values from their
    messages), numpy, ``load_public_cases`` and ``load_hidden_cases`` (the instructor's copies),
    ``reference`` (the reference solution) and ``fresh_rng``; any other name is the student's, from the kernel.
    Raises only what ends the kernel (BaseException that is no Exception).
    """
    verdict = CellVerdict()
    trusted = {name: getattr(hw2_checks, name) for name in dir(hw2_checks) if not name.startswith("_")}
    trusted.update(np=np, __name__="__graded_tests__", __builtins__=builtins, load_hidden_cases=cases.load,
                   load_public_cases=cases.load_public, reference=cases.reference, fresh_rng=cases.rng(label),
                   Cases=lambda function: _GradedCases(function, verdict),
                   alone=lambda function, *parts, **replacements: function.with_parts(
                       {**{part: reference_part(part, getattr(cases.reference, part)) for part in parts},
                        **replacements}))
    namespace = StudentNamespace(trusted, kernel)
    public, hidden = split(source)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(public, f"<public tests of {label}>", "exec"), namespace)
            with hw2_checks.withholding_expected():
                exec(compile(hidden, f"<hidden tests of {label}>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001 (outside a case: the cell cannot go on)
        verdict.stopped = str(error) if isinstance(error, hw2_checks.CheckFailed) else \
            f"{type(error).__name__}: {error}"
    return verdict
