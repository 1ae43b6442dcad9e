"""Grading speed: stock `nbgrader autograde` against autograder.classrun.grade with 1 and N workers, in one run.

    python -m benchmarks.grading [--submissions K] [--repeats R] [--workers N]

K copies of one correct submission (examples/submissions/alice.ipynb) are graded four ways, each
from a fresh course: stock nbgrader (`nbgrader autograde` then `nbgrader generate_feedback`, one
process, sequential; the hidden tests need the grader's process, so in stock nbgrader's kernel they
stop at once and it runs the public checks only), this kit with 1 worker (whose kernel gets all the cores' BLAS threads), the
same with one BLAS thread, and this kit with N workers (default: the cores; one BLAS thread each).
The four take turns, R rounds, so that a slow spell of a shared machine hits all of them; prints
the median seconds per submission of each and the ratios of the medians.
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.assignment import release
from autograder.grading import course

ALICE = release.REPO / "examples" / "submissions" / "alice.ipynb"


def stock_nbgrader(root, submissions):
    course.generate_release(root)
    shutil.copyfile(course.CONFIG_FILE, root / "nbgrader_config.py")
    for i in range(submissions):
        target = root / "submitted" / f"student{i}" / release.ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copyfile(ALICE, target / f"{release.NOTEBOOK}.ipynb")
    started = time.perf_counter()
    for step in ["autograde", "generate_feedback"]:
        subprocess.run([sys.executable, "-m", "nbgrader", step, release.ASSIGNMENT, "--force"], cwd=root,
                       check=True, capture_output=True)
    return time.perf_counter() - started


def this_kit(root, submissions, workers, blas_threads=None):
    folder = root / "submissions"
    folder.mkdir(parents=True)
    for i in range(submissions):
        shutil.copyfile(ALICE, folder / f"student{i}.ipynb")
    # the course and its template are made once per class, before grading: not timed
    subprocess.run([sys.executable, "-c", "from autograder.classrun.grade import ClassGrader; "
                    "from autograder.grading.options import GradingOptions; "
                    f"ClassGrader({str(root / 'out')!r}, GradingOptions(), 1).prepare()"], cwd=release.REPO, check=True)
    started = time.perf_counter()
    threads = ["--blas-threads", str(blas_threads)] if blas_threads else []
    subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(folder), "--out", str(root / "out"),
                    "--workers", str(workers), *threads], cwd=release.REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=6, help="K, how many copies to grade (default 6)")
    parser.add_argument("--repeats", type=int, default=3, help="R, rounds of the four graders (default 3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="N (default: the cores)")
    args = parser.parse_args(argv)
    k, n = args.submissions, args.workers
    graders = {"stock nbgrader (sequential)": lambda root: stock_nbgrader(root, k),
               "autograder.classrun.grade, 1 worker": lambda root: this_kit(root, k, 1),
               "  the same, 1 BLAS thread": lambda root: this_kit(root, k, 1, blas_threads=1),
               f"autograder.classrun.grade, {n} workers": lambda root: this_kit(root, k, n)}
    print(f"{k} identical correct submissions, {args.repeats} rounds; {os.cpu_count()} cores; "
          f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")
    timings = {name: [] for name in graders}
    for round_number in range(args.repeats):
        for name, grade in graders.items():
            with tempfile.TemporaryDirectory() as scratch:
                timings[name].append(grade(Path(scratch)) / k)
            print(f"round {round_number + 1}: {name.strip():<30} {timings[name][-1]:6.2f} s/submission", flush=True)
    median = {name: statistics.median(seconds) for name, seconds in timings.items()}
    stock, one, many = (median["stock nbgrader (sequential)"], median["autograder.classrun.grade, 1 worker"],
                        median[f"autograder.classrun.grade, {n} workers"])
    print(f"\n{'grader':<34} {'median s/submission':>19} {'runs':>20} {'vs stock':>9}")
    for name, seconds in timings.items():
        runs = " ".join(f"{t:.2f}" for t in seconds)
        print(f"{name:<34} {median[name]:19.2f} {runs:>20} {median[name] / stock:8.2f}x")
    print(f"\noverhead of 1 worker over stock nbgrader: {100 * (one / stock - 1):+.1f}% (target < 10%)")
    print(f"speed-up of {n} workers over 1 worker: {one / many:.2f}x (target >= 1.8x on 2 cores); "
          f"over 1 worker with the same 1 BLAS thread per kernel: {median['  the same, 1 BLAS thread'] / many:.2f}x")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")

if __name__ == "__main__":
    main()
