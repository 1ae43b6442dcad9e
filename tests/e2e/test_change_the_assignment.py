"""The README's worked example "Change the assignment", end to end on a copy of the repository: with the
bundled examples graded (a copy of conftest.examples_graded's output), grade one answer by hand, edit the
master (docs/examples/change_the_assignment.py: a new question, a points change, a fixed hidden case),
./kit build, ./kit grade two of the submissions again."""

import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from grading import EXAMPLES  # tests/grading.py
from grading import grade as grade_command
from nbgrader.api import Gradebook

from autograder.assignment import master, release

pytestmark = pytest.mark.xdist_group("change")  # one worker makes the module's fixture (./kit test: --dist loadgroup)
STUDENTS = ["alice"]  # of the bundled examples, graded before the change (conftest.examples_graded)


@pytest.fixture(scope="module")
def changed(examples_graded, tmp_path_factory):
    """(rows before, rows after, stdout of the regrade, the copy, the output folder)."""
    graded, before, _, _ = examples_graded
    root = tmp_path_factory.mktemp("change")
    copy, submissions, out = root / "repo", root / "submissions", root / "out"
    tracked = subprocess.run(["git", "ls-files"], cwd=release.REPO, capture_output=True, text=True, check=True)
    for name in tracked.stdout.splitlines():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(release.REPO / name, copy / name)
    shutil.copytree(graded, out, symlinks=True)
    submissions.mkdir()
    for student in STUDENTS:  # downloaded before the change
        shutil.copyfile(EXAMPLES / f"{student}.ipynb", submissions / f"{student}.ipynb")
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:  # as formgrader does
        grade = gb.find_grade("answer_cache", release.NOTEBOOK, release.ASSIGNMENT, "alice")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("answer_cache", release.NOTEBOOK, release.ASSIGNMENT, "alice").manual_comment = "Say why."
        gb.db.commit()
    subprocess.run([sys.executable, "docs/examples/change_the_assignment.py"], cwd=copy, check=True)
    build = subprocess.run([sys.executable, "-m", "autograder.build.generate"], cwd=copy, capture_output=True, text=True)
    assert build.returncode == 0, f"./kit build failed after the edit:\n{build.stdout}\n{build.stderr}"
    after, stdout = grade_command(submissions, out, "--workers", "2", repo=copy)
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
    assert {ledger[student]["version"] for student in STUDENTS} == {version}, ledger
    report = (out / "report" / "index.html").read_text()
    assert "test_leaky_relu_activation" in report
    assert "KernelDied" not in report, "dave, graded under the old master only, is mixed into the report"
    assert "test_leaky_relu_activation" in (copy / "README.md").read_text(), "the README's points table is stale"
    releases = json.loads((copy / "generated" / "releases.json").read_text())
    assert len(releases) == 2 and "test_leaky_relu_activation" in releases[-1]["cells"]


def test_hand_grades_survive_and_reach_grades_csv_and_feedback(changed):
    _, after, _, _, out = changed
    alice = after["alice"]
    assert alice["answer_cache"] == "1.5" and alice["total"] == "41.5", alice
    feedback = (out / "feedback" / "alice.html").read_text()
    assert "Score: 1.5 / 2.0" in feedback and "Say why." in feedback
    assert "graded by hand later" in feedback and "Score so far: 41.5 / 63.0" in feedback
    restored = nbformat.read(out / "course" / "autograded" / "alice" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb", 4)
    assert "test_leaky_relu_activation" in {c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells}
