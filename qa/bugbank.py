"""The bug bank's runner: grade its entries (qa/bank.py: real student bugs and correct variants, one file
each in qa/mutants/ and qa/variants/) through the grader and print the mutation report (qa/report.py).

Every entry is the student notebook filled in with the master's solutions (``build.examples.completed``)
and then changed by the entry's text mutations. Two ways to grade it:

* ``run_fast(notebook)`` runs the notebook's code cells as the grader does (its ResilientExecute,
  hidden tests in this process), with every test cell replaced by the master's (as nbgrader's
  OverwriteCells does) and the plotting and optional cells left out, but without nbgrader's course
  and gradebook; it returns ``{grade_id: Loss or None}``.
* ``grade_full(notebooks, out)`` grades them with the real pipeline (``python -m autograder.classrun.grade``)
  and reads grades.csv.

    python -m qa.bugbank            # mutation report through the fast path
    python -m qa.bugbank --full     # the same through the real grading pipeline (./kit grade's)
    python -m qa.bugbank NAME ...   # only these mutants and variants
"""
import argparse
import copy
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from html import unescape
from pathlib import Path

import nbformat

from autograder.assignment import release
from autograder.build.examples import completed
from autograder.grading import core
from autograder.grading.options import GradingOptions
from qa.bank import BY_NAME, master_notebook
from qa.report import Loss, points, report

SKIPPED_IN_FAST_PATH = re.compile(r"^(plot_.*|step_size_10|optional_memorise)$")
JOBS = 2  # notebooks graded at a time: fast-path processes, or the grading workers of the full path


# ---------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _student_notebook():
    return nbformat.read(release.REPO / "assignment.ipynb", as_version=4)


def notebook_for(entry):
    """The submission of a Mutant or Variant: the completed student notebook, mutated."""
    return completed(_student_notebook(), master_notebook(), entry.mutations)


# ---------------------------------------------------------------------------------------------
# Fast path: the notebook's own test cells, in one fresh kernel
# ---------------------------------------------------------------------------------------------
def _prepare_folder(folder):
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for name in release.STUDENT_FILES:
        shutil.copyfile(release.REPO / name, folder / name)


def _fast_notebook(notebook):
    """The notebook to run: test cells overwritten by the master's, plotting and optional cells out."""
    master_tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in master_notebook().cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    notebook = copy.deepcopy(notebook)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if SKIPPED_IN_FAST_PATH.match(grade_id):
            continue
        if grade_id in master_tests:
            cell.source = master_tests[grade_id]
        cell.outputs = []
        cells.append(cell)
    notebook.cells = cells
    return notebook


def run_fast(notebook, cell_timeout=GradingOptions.cell_timeout):
    """Run ``notebook`` with the master's test cells as the grader does; return {grade_id: Loss or None}.

    The grader's own path (autograder.grading.core.run_as_grader: every case of a test cell run by the
    grader), without nbgrader's course. Every autograded test cell of the master gets an entry: None
    at full marks, else the points it lost (the share of its cases that failed) and its first failure, after
    the cause the grader names (the functions it depends on that lost points in their own cells).
    """
    with tempfile.TemporaryDirectory(prefix="bugbank-") as folder:
        _prepare_folder(Path(folder))
        _, verdicts, _ = core.run_as_grader(_fast_notebook(notebook), folder, cell_timeout=cell_timeout,
                                                 submission_timeout=10 * cell_timeout)
    results = {}
    for grade_id, worth in points().items():
        verdict = verdicts.get(grade_id)
        if verdict is None:
            results[grade_id] = Loss(worth, "not run")
        elif verdict.fraction < 1:
            failure = verdict.stopped or next(case.failure for case in verdict.cases if case.failure)
            if verdict.cause:  # what the student reads first: the functions it depends on that lost points
                failure = f"{verdict.cause}\n{failure}"
            results[grade_id] = Loss(round(worth * (1 - verdict.fraction), 2), failure)
        else:
            results[grade_id] = None
    return results


# ---------------------------------------------------------------------------------------------
# Full path: the real grading pipeline
# ---------------------------------------------------------------------------------------------
def html_text(html):
    """What a student reads in a feedback page: the text without markup."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def grade_full(notebooks, out, workers=JOBS):
    """Grade {student: notebook} with ``python -m autograder.classrun.grade``.

    Returns {student: {"failed": [grade ids below full marks], "scores": {grade_id: points},
    "losses": {grade_id: Loss or None, from grades.csv}, "status", "auto_score", "reason",
    "row": the grades.csv row, "feedback": the feedback page as text}} (and writes under ``out``).
    """
    out = Path(out)
    submissions = out / "submissions"
    submissions.mkdir(parents=True, exist_ok=True)
    for student, notebook in notebooks.items():
        nbformat.write(notebook, submissions / f"{student}.ipynb")
    run = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(submissions), "--out", str(out / "graded"),
                          "--workers", str(workers), "--blas-threads", "1"],
                         cwd=release.REPO, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"autograder.classrun.grade failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    results = {}
    with open(out / "graded" / "grades.csv") as file:
        for row in csv.DictReader(file):
            scores = {g: float(row[g]) if row[g] != "" else 0.0 for g in points()}
            feedback = out / "graded" / "feedback" / f"{row['student']}.html"
            reasons = dict(part.split(": ", 1) for part in row["reason"].split(" | ") if ": " in part)
            results[row["student"]] = {
                "failed": [g for g, p in points().items() if scores[g] < p], "scores": scores,
                "losses": {g: Loss(round(p - scores[g], 2), reasons.get(g, "lost points (no reason given)"))
                           if scores[g] < p else None for g, p in points().items()},
                "status": row["status"], "auto_score": row["auto_score"], "reason": row["reason"], "row": row,
                "feedback": html_text(feedback.read_text()) if feedback.exists() else ""}
    return results


# ---------------------------------------------------------------------------------------------
# The command: grade the entries named, print the report
# ---------------------------------------------------------------------------------------------
def _run_one(name):
    return name, run_fast(notebook_for(BY_NAME[name]))


def evaluate_fast(names, jobs=JOBS):
    """{name: {grade_id: Loss or None}} through the fast path, ``jobs`` notebooks at a time."""
    with ProcessPoolExecutor(jobs) as pool:
        return dict(pool.map(_run_one, names))


def evaluate_full(names, workers=JOBS):
    """{name: {grade_id: Loss or None}} through the real pipeline, with ``workers`` grading workers."""
    with tempfile.TemporaryDirectory(prefix="bugbank-full-") as out:
        graded = grade_full({name: notebook_for(BY_NAME[name]) for name in names}, out, workers)
    return {name: r["losses"] for name, r in graded.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="grade with the real pipeline (autograder.classrun.grade)")
    parser.add_argument("--jobs", type=int, default=JOBS, help="notebooks run at a time (fast path) or grading workers")
    parser.add_argument("names", nargs="*", help="only these mutants and variants (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(BY_NAME)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown names: {', '.join(unknown)}")
    started = time.perf_counter()
    results = evaluate_full(names, args.jobs) if args.full else evaluate_fast(names, args.jobs)
    report(results)
    print(f"({'full pipeline' if args.full else 'fast path'}, {len(names)} notebooks, "
          f"{time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
