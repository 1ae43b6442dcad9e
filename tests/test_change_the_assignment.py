"""The README's worked example "Change the assignment", end to end on a copy of the repository: grade
two bundled submissions, grade one answer by hand, edit the master (docs/examples/change_the_assignment.py:
a new question, a points change, a fixed hidden case), ./kit build, ./kit grade again."""
import csv
import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import course, master

STUDENTS = ["alice", "bob"]
pytestmark = pytest.mark.xdist_group("change")  # one worker builds the module's fixture (./kit test: --dist loadgroup)


def _run(copy, *command):
    run = subprocess.run([sys.executable, "-m", *command], cwd=copy, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{' '.join(command)} failed (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _grade(copy, submissions, out):
    stdout = _run(copy, "autograder.grade", str(submissions), "--out", str(out), "--workers", "2", "--blas-threads", "1")
    with open(out / "grades.csv") as file:
        return {row["student"]: row for row in csv.DictReader(file)}, stdout


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """(rows before, rows after, stdout of the regrade, the copy, the output folder)."""
    root = tmp_path_factory.mktemp("change")
    copy, submissions, out = root / "repo", root / "submissions", root / "out"
    tracked = subprocess.run(["git", "ls-files"], cwd=course.REPO, capture_output=True, text=True, check=True)
    for name in tracked.stdout.splitlines():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course.REPO / name, copy / name)
    submissions.mkdir()
    for student in STUDENTS:  # downloaded before the change
        shutil.copyfile(course.REPO / "examples" / "submissions" / f"{student}.ipynb", submissions / f"{student}.ipynb")
    before, _ = _grade(copy, submissions, out)
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:  # as formgrader does
        grade = gb.find_grade("answer_cache", course.NOTEBOOK, course.ASSIGNMENT, "alice")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("answer_cache", course.NOTEBOOK, course.ASSIGNMENT, "alice").manual_comment = "Say why."
        gb.db.commit()
    subprocess.run([sys.executable, "docs/examples/change_the_assignment.py"], cwd=copy, check=True)
    _run(copy, "autograder.build")
    after, stdout = _grade(copy, submissions, out)
    return before, after, stdout, copy, out


def test_the_new_question_is_graded_and_old_submissions_get_0_with_the_reason(changed):
    before, after, stdout, copy, _ = changed
    model = master.read(copy / "solutions" / "master.ipynb")
    assert "The master changed" in stdout and "graded again" in stdout, stdout
    for student in STUDENTS:
        row = after[student]
        assert "test_leaky_relu_activation" not in before[student] and row["test_leaky_relu_activation"] == "0", row
        assert "test_leaky_relu_activation: this part is not in the submission" in row["reason"], row["reason"]
        assert row["auto_max"] == f"{model.auto_points:g}" == "42", row
        assert row["review"] == "", f"{student} flagged after the instructor's own change: {row['review']}"
    assert (before["alice"]["test_relu_activation"], after["alice"]["test_relu_activation"]) == ("2", "3")
    assert after["alice"]["auto_score"] == "40", after["alice"]


def test_nothing_is_stale_and_the_report_has_the_new_question(changed):
    _, _, _, copy, out = changed
    version = (out / "course" / "master_version").read_text()
    ledger = json.loads((out / "results.json").read_text())
    assert {entry["version"] for entry in ledger.values()} == {version}, ledger
    assert "test_leaky_relu_activation" in (out / "report" / "index.html").read_text()
    assert "test_leaky_relu_activation" in (copy / "README.md").read_text(), "the README's points table is stale"
    releases = json.loads((copy / "autograder" / "releases.json").read_text())
    assert len(releases) == 2 and "test_leaky_relu_activation" in releases[-1]["cells"]


def test_hand_grades_survive_and_reach_grades_csv_and_feedback(changed):
    _, after, _, _, out = changed
    alice = after["alice"]
    assert alice["answer_cache"] == "1.5" and alice["total"] == "41.5", alice
    feedback = (out / "feedback" / "alice.html").read_text()
    assert "Score: 1.5 / 2.0" in feedback and "Say why." in feedback
    assert "graded by hand later" in feedback and "Score so far: 41.5 / 63.0" in feedback
    bob = nbformat.read(out / "course" / "autograded" / "bob" / course.ASSIGNMENT / f"{course.NOTEBOOK}.ipynb", 4)
    assert "test_leaky_relu_activation" in {c.metadata.get("nbgrader", {}).get("grade_id") for c in bob.cells}
