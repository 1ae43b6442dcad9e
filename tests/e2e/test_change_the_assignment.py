"""The README's worked example "Change the assignment", end to end on a copy of the repository: with the
bundled examples graded (a copy of conftest.examples_graded's output), grade one answer and one autograded
cell by hand, edit the master (docs/examples/change_the_assignment.py: a new question, a points change, a
fixed hidden case), ./kit build, ./kit grade the submissions again; then the master-dependent unit tests on
the edited copy, and a resubmission that ends the hand grade of the autograded cell (issue 23)."""

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
# Unit tests that read the master, its model or what ./kit build makes from it: they must pass on any edited master.
MASTER_DEPENDENT = ("master.read", "release.MASTER", "release.REPO", "master.MASTER", "reserved_names")
OVERRIDDEN = master.read().auto[0]  # an autograded cell alice passes, scored half by hand in formgrader


def _by_hand(out, student, grade_id, manual_score, comment=None):
    """Enter a hand score (and a comment) as formgrader does: in the class gradebook of ``out``."""
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:
        grade = gb.find_grade(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student)
        grade.manual_score, grade.needs_manual_grade = manual_score, False
        if comment:
            gb.find_comment(grade_id, release.NOTEBOOK, release.ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()


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
    _by_hand(out, "alice", "answer_cache", 1.5, comment="Say why.")
    _by_hand(out, "alice", OVERRIDDEN.grade_id, OVERRIDDEN.points / 2)
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
    assert after["alice"]["auto_score"] == f"{40 - OVERRIDDEN.points / 2:g}", after["alice"]


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
    released_before = json.loads(release.RELEASES.read_text())  # the repository's, before the example's edit
    assert len(releases) == len(released_before) + 1 and "test_leaky_relu_activation" in releases[-1]["cells"]


def test_hand_grades_survive_and_reach_grades_csv_and_feedback(changed):
    _, after, stdout, _, out = changed
    alice, total, half = after["alice"], 41.5 - OVERRIDDEN.points / 2, OVERRIDDEN.points / 2
    assert alice["answer_cache"] == "1.5" and alice["total"] == f"{total:g}", alice
    assert alice[OVERRIDDEN.grade_id] == f"{half:g}", "the same file: the hand score on an autograded cell stays"
    assert "earlier file" not in stdout and "earlier file" not in alice["reason"], stdout
    feedback = (out / "feedback" / "alice.html").read_text()
    assert "Score: 1.5 / 2.0" in feedback and "Say why." in feedback
    assert "graded by hand later" in feedback and f"Score so far: {round(total, 2)} / 63.0" in feedback
    assert f"set by hand: {half:g}/{OVERRIDDEN.points:g}; the grader gave {OVERRIDDEN.points:g}/{OVERRIDDEN.points:g}" \
        in feedback, "an autograded cell scored by hand says so in feedback"
    restored = nbformat.read(out / "course" / "autograded" / "alice" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb", 4)
    assert "test_leaky_relu_activation" in {c.metadata.get("nbgrader", {}).get("grade_id") for c in restored.cells}


def test_the_master_dependent_unit_tests_pass_on_the_edited_copy(changed):
    """Tests read their numbers and messages from the master model, so the worked example keeps them green."""
    copy = changed[3]
    chosen = sorted(str(path.relative_to(copy)) for path in (copy / "tests" / "unit").glob("test_*.py")
                    if any(marker in path.read_text() for marker in MASTER_DEPENDENT))
    assert "tests/unit/test_master.py" in chosen, chosen
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chosen], cwd=copy,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"master-dependent unit tests fail after the README's example:\n{run.stdout[-6000:]}"


@pytest.fixture(scope="module")
def resubmitted(changed, tmp_path_factory):
    """alice sends a new file after her hand grading (a comment added to a solution cell): (her row, stdout, out)."""
    _, _, _, copy, graded = changed
    root = tmp_path_factory.mktemp("resubmitted")
    out, submissions = root / "out", root / "submissions"
    shutil.copytree(graded, out, symlinks=True)
    submissions.mkdir()
    notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
    solution = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")
                    and c.cell_type == "code")
    solution.source += "\n# checked again before sending"
    nbformat.write(notebook, submissions / "alice.ipynb")
    rows, stdout = grade_command(submissions, out, "--workers", "1", repo=copy)
    return rows["alice"], stdout, out


def test_a_resubmission_ends_the_hand_score_of_an_autograded_cell_and_says_so(resubmitted):
    row, stdout, out = resubmitted
    points, half = OVERRIDDEN.points, OVERRIDDEN.points / 2
    dropped = (f"{OVERRIDDEN.grade_id}: the hand grade {half:g}/{points:g} was dropped: it was given for an earlier "
               f"file, and the grader's {points:g}/{points:g} for this file stands")
    assert f"alice: {dropped}" in stdout and dropped in row["reason"], stdout
    assert row[OVERRIDDEN.grade_id] == f"{points:g}", "the grader's verdict on the new file stands"
    kept = "answer_cache: the hand grade 1.5/2 was given for an earlier file; kept"
    assert f"alice: {kept}" in stdout and kept in row["reason"] and row["answer_cache"] == "1.5", row
    feedback = (out / "feedback" / "alice.html").read_text()
    assert "set by hand" not in feedback and "Score: 1.5 / 2.0" in feedback
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:  # what formgrader shows
        assert gb.find_grade(OVERRIDDEN.grade_id, release.NOTEBOOK, release.ASSIGNMENT, "alice").manual_score is None
