"""Where one submission's grading time goes (docs/grading.md prints its output).

    python -m benchmarks.submission_parts [--gradings R]

The correct example (examples/submissions/alice.ipynb) graded R times (default 3, after one that warms the
caches) by the grading core in this process (``core.grade``, what every worker calls), one BLAS thread,
the strongest sandbox tier this machine allows (as ``./kit grade``); wall-clock timers around its parts; and the same notebook run bare by
nbclient (benchmarks.scale.bare_seconds). Prints the median seconds of each part and the ratio of the whole
to the bare run (issue 22's goal: at most 1.25x).
"""
import argparse
import dataclasses
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from autograder.grading import core, environment
from autograder.grading.options import GradingOptions
from autograder.grading.preprocessors.resilient_execute import ResilientExecute
from autograder.sandbox.kernel_launcher import sandbox_tier
from benchmarks.scale import EXAMPLES, bare_seconds

# (label, class or module, attribute): the parts timed, each inside the one before it where nested
PARTS = [("the notebook in the sandboxed kernel, cases included", ResilientExecute, "preprocess"),
         ("  the grader's public and hidden cases", ResilientExecute, "_run_graded"),
         ("    their requests to the kernel, call-backs included", ResilientExecute, "_send_request"),
         ("the feedback page", core, "generate_feedback")]


@contextmanager
def timed(seconds):
    """Every part of PARTS adds its wall-clock seconds to ``seconds`` ({label: float}) while this runs."""
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in PARTS]

    def timer(label, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started
        return run

    for (label, owner, name), (_, _, function) in zip(PARTS, originals):
        setattr(owner, name, timer(label, function))
    try:
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradings", type=int, default=3, help="R, timed gradings (default 3)")
    args = parser.parse_args(argv)
    options = dataclasses.replace(GradingOptions(), blas_threads=1, tier=sandbox_tier())
    notebook = (EXAMPLES / "alice.ipynb").read_bytes()
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        ready = environment.prepare(Path(folder) / "environment", options)
        for number in range(args.gradings + 1):
            seconds = defaultdict(float)
            with timed(seconds):
                started = time.perf_counter()
                bundle = core.grade(notebook, "alice", ready, options, Path(folder) / "work")
                seconds["the whole grading (core.grade)"] = time.perf_counter() - started
            assert bundle.success, bundle.error
            if number:  # the first warms the caches
                runs.append(seconds)
    bare = statistics.median(bare_seconds() for _ in range(3))
    whole = statistics.median(run["the whole grading (core.grade)"] for run in runs)
    print(f"alice, {args.gradings} gradings after a first, 1 BLAS thread, sandbox tier {options.tier}; "
          "median seconds")
    for label in ["the whole grading (core.grade)", *(label for label, _, _ in PARTS)]:
        print(f"{label:58s} {statistics.median(run[label] for run in runs):6.2f}")
    print(f"{'the same notebook run bare by nbclient (median of 3)':58s} {bare:6.2f}")
    print(f"the whole grading is {whole / bare:.2f}x the bare run (goal at most 1.25x)")


if __name__ == "__main__":
    main()
