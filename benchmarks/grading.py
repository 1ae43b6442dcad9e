"""Grading speed: stock `nbgrader autograde` against autograder.grade with 1 and N workers, in one run.

    python -m benchmarks.grading [--submissions K] [--workers N]

K copies of one correct submission (examples/submissions/alice.ipynb) are graded four ways, each
from a fresh course: stock nbgrader (`nbgrader autograde` then `nbgrader generate_feedback`, one
process, sequential), this kit with 1 worker (whose kernel gets all the cores' BLAS threads), the
same with one BLAS thread, and this kit with N workers (default: the cores; one BLAS thread each).
Prints seconds per submission and the ratios.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import course

ALICE = course.REPO / "examples" / "submissions" / "alice.ipynb"


def stock_nbgrader(root, submissions):
    course.generate_release(root, with_hidden=True)  # stock nbgrader runs the hidden tests in the kernel
    shutil.copyfile(course.CONFIG_FILE, root / "nbgrader_config.py")
    for i in range(submissions):
        target = root / "submitted" / f"student{i}" / course.ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copyfile(ALICE, target / f"{course.NOTEBOOK}.ipynb")
    started = time.perf_counter()
    for step in ["autograde", "generate_feedback"]:
        subprocess.run([sys.executable, "-m", "nbgrader", step, course.ASSIGNMENT, "--force"], cwd=root,
                       check=True, capture_output=True)
    return time.perf_counter() - started


def this_kit(root, submissions, workers, blas_threads=None):
    folder = root / "submissions"
    folder.mkdir(parents=True)
    for i in range(submissions):
        shutil.copyfile(ALICE, folder / f"student{i}.ipynb")
    # the course and its template are made once per class, before grading: not timed
    subprocess.run([sys.executable, "-c", "from autograder.grade import ClassGrader; "
                    f"ClassGrader({str(root / 'out')!r}, 1).prepare()"], cwd=course.REPO, check=True)
    started = time.perf_counter()
    threads = ["--blas-threads", str(blas_threads)] if blas_threads else []
    subprocess.run([sys.executable, "-m", "autograder.grade", str(folder), "--out", str(root / "out"),
                    "--workers", str(workers), *threads], cwd=course.REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=10, help="K, how many copies to grade (default 10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="N (default: the cores)")
    args = parser.parse_args(argv)
    k = args.submissions
    print(f"{k} identical correct submissions; {os.cpu_count()} cores; Python {platform.python_version()}")
    timings = {}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        timings["stock nbgrader (sequential)"] = stock_nbgrader(scratch / "stock", k)
        timings["autograder.grade, 1 worker"] = this_kit(scratch / "one", k, 1)
        timings["  the same, 1 BLAS thread"] = this_kit(scratch / "one-thread", k, 1, blas_threads=1)
        timings[f"autograder.grade, {args.workers} workers"] = this_kit(scratch / "many", k, args.workers)
    stock = timings["stock nbgrader (sequential)"]
    one = timings["autograder.grade, 1 worker"]
    print(f"\n{'grader':<34} {'s total':>8} {'s/submission':>13} {'vs stock':>9}")
    for name, seconds in timings.items():
        print(f"{name:<34} {seconds:8.1f} {seconds / k:13.2f} {seconds / stock:8.2f}x")
    many = timings[f"autograder.grade, {args.workers} workers"]
    print(f"\noverhead of 1 worker over stock nbgrader: {100 * (one / stock - 1):+.1f}% (target < 10%)")
    print(f"speed-up of {args.workers} workers over 1 worker: {one / many:.2f}x (target >= 1.8x on 2 cores); "
          f"over 1 worker with the same 1 BLAS thread per kernel: "
          f"{timings['  the same, 1 BLAS thread'] / many:.2f}x")


if __name__ == "__main__":
    main()
