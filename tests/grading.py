"""Helpers of the tests that run the grading command as an instructor does."""
import csv
import hashlib
import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import nbformat

from autograder.assignment import release

EXAMPLES = release.REPO / "examples" / "submissions"


def grade(submissions, out, *extra, repo=release.REPO):
    """Run ``python -m autograder.classrun.grade`` in ``repo`` as an instructor would; return (grades.csv rows by
    student, stdout)."""
    # one BLAS thread per kernel: the tests themselves run two at a time on two cores
    run = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(submissions), "--out", str(out),
                          "--blas-threads", "1", *extra],
                         cwd=repo, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"autograder.classrun.grade failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    with open(Path(out) / "grades.csv") as file:
        return {row["student"]: row for row in csv.DictReader(file)}, run.stdout


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def hidden_test_code(html):
    """What of the hidden tests' code the feedback page ``html`` (str) shows: their markers, and every line of
    25+ characters of a hidden part that the student notebook does not have too (a list of str)."""
    public = (release.REPO / "assignment.ipynb").read_text()
    hidden_lines = [line.strip() for cell in nbformat.read(release.MASTER, as_version=4).cells
                    if "### BEGIN HIDDEN TESTS" in cell.source
                    for line in cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
                    .splitlines() if len(line.strip()) > 25 and json.dumps(line.strip())[1:-1] not in public]
    text = unescape(re.sub(r"<[^>]+>", "", html))  # what the student reads, without markup
    markers = [marker for marker in ["HIDDEN TESTS", "BEGIN HIDDEN"] if marker in text or marker in html]
    return markers + (["load_hidden_cases("] if "load_hidden_cases(" in html else []) + \
        [line for line in hidden_lines if line in html or line in text]


def enter_hand_grade(gradebook, student, grade_id, manual_score, comment=None):
    """Enter a hand score (and a comment) for ``student``'s part ``grade_id`` in ``gradebook`` (an open nbgrader
    Gradebook of a class course) as formgrader does: the manual score set, the part no longer waiting for one."""
    grade = gradebook.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student)
    grade.manual_score, grade.needs_manual_grade = manual_score, False
    if comment:
        gradebook.find_comment(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student).manual_comment = comment
    gradebook.db.commit()
