"""The hidden cases of one submission (``HiddenCases``): the fixed ones of the hidden reference, and
cases drawn fresh for this submission, with answers computed in the grader by the reference solution.
(The master's cases themselves are made by autograder.assignment.cases.)"""
import copy
import pickle
import zlib
from pathlib import Path

import numpy as np


class HiddenCases:
    """The hidden cases of one submission: the fixed ones of the hidden reference, plus cases drawn
    fresh for this submission (seeded from it, so regrading draws the same) with answers computed here
    by the reference solution. A case that leaks is then worth nothing to the next student.

    seed: an int (e.g. from the submission's hash); hidden_reference: the fixed cases' pickle.
    """

    def __init__(self, hidden_reference, seed):
        from autograder.assignment import cases as make_hidden_reference
        from autograder.assignment.reference import load_reference

        self.seed = seed
        self.reference = load_reference()
        self.fixed = pickle.loads(Path(hidden_reference).read_bytes())
        self.public = pickle.loads(make_hidden_reference.PUBLIC_CASES.read_bytes())
        self.fresh = make_hidden_reference.build_cases(self.reference, seed=seed)
        for case in (case for cases in self.fresh.values() for case in cases):
            case["label"] += " (drawn for this submission)"

    def load(self, function):
        """What ``load_hidden_cases(function)`` returns in a hidden test: copies of the fixed cases, then of
        the fresh ones (a student function that changes its arguments, copied back, never reaches an
        expected value, even one that is a view of an input)."""
        return copy.deepcopy(self.fixed[function] + self.fresh[function])

    def load_public(self, function):
        """What ``load_public_cases(function)`` returns when the grader runs a test cell: copies of the
        instructor's public cases (the kernel's copy could have been changed)."""
        return copy.deepcopy(self.public[function])

    def rng(self, label):
        """A random generator for what a hidden test draws itself, the same at every grading."""
        return np.random.default_rng([self.seed, zlib.crc32(str(label).encode())])
