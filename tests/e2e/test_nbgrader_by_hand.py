"""nbgrader's own commands, run by hand in the class course ./kit grade made (OUT/course, whose nbgrader_config.py
autograder/classrun/nbgrader_commands.py writes), grade as ./kit grade does: the same scores in the gradebook,
the kit's feedback page without hidden test code, hand grades kept, a later ./kit grade consistent with them, and
a hostile notebook graded there reaches no other student's grade."""
import os
import shutil
import subprocess

import attacks  # tests/attacks.py
import nbformat
import pytest
from grading import EXAMPLES, grade, hidden_test_code  # tests/grading.py
from nbgrader.api import Gradebook

from autograder.assignment import release
from autograder.sandbox.kernel_launcher import sandbox_tier

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's autoflush warnings
# on the worker that grades the examples once (conftest.examples_graded), as tests/e2e/test_grader.py's
EXAMPLES_WORKER = pytest.mark.xdist_group("examples_graded")
# Tries the class gradebook from the folder nbgrader autogrades in, and wherever a course may be.
FORGE_GRADEBOOK = '''
import glob, sqlite3
for path in ["../../../gradebook.db", *glob.glob("/tmp/**/course/gradebook.db", recursive=True)]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        db.execute("update grade set auto_score = 0")
        db.commit()
        print("FORGED", path)
    except Exception as error:
        print("refused", path, error)
'''


def nbgrader(course, *arguments, succeeds=True):
    """``nbgrader ARGUMENTS`` run by hand in ``course`` with the kit's .venv/bin on PATH (it must succeed, or
    fail when not ``succeeds``); its CompletedProcess."""
    env = dict(os.environ, PATH=f"{release.REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    run = subprocess.run(["nbgrader", *arguments], cwd=course, env=env, capture_output=True, text=True, timeout=900)
    assert (run.returncode == 0) == succeeds, f"nbgrader {' '.join(arguments)} exited {run.returncode} in " \
                                              f"{course}:\n{run.stdout}\n{run.stderr[-4000:]}"
    return run


def gradebook_of(course):
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="hw2")


def scores(course):
    """{student: {grade_id: (auto_score, manual_score, needs_manual_grade)}} of the course's gradebook."""
    with gradebook_of(course) as gb:
        return {s.student_id: {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                               for notebook in s.notebooks for g in notebook.grades}
                for s in gb.find_assignment(release.ASSIGNMENT).submissions}


def copy_of(examples_graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(examples_graded[0], out, symlinks=True)
    return out


@EXAMPLES_WORKER
def test_nbgrader_autograde_and_feedback_by_hand_give_the_kits_scores_and_page(examples_graded, tmp_path):
    out = copy_of(examples_graded, tmp_path)
    course, rows = out / "course", examples_graded[1]
    with gradebook_of(course) as gb:  # graded by hand in formgrader before
        answer = gb.find_grade("answer_sigmoid_stability", release.NOTEBOOK, release.ASSIGNMENT, "bob")
        answer.manual_score, answer.needs_manual_grade = 2, False  # as formgrader saves a score
        gb.find_comment("answer_dL_dg", release.NOTEBOOK, release.ASSIGNMENT, "bob").manual_comment = "see page 3"
        gb.db.commit()
    before = scores(course)

    autograde = nbgrader(course, "autograde", release.ASSIGNMENT, "--student", "bob", "--force")
    assert "grades as ./kit grade does: sandboxed kernel" in autograde.stderr or sandbox_tier() != "full", \
        f"nbgrader autograde should say how it grades; it printed:\n{autograde.stderr[-3000:]}"
    after = scores(course)
    assert after == before, "nbgrader autograde by hand should leave the gradebook as ./kit grade wrote it, " \
        f"hand grades included; bob's grades changed: " \
        f"{ {g: (before['bob'][g], v) for g, v in after['bob'].items() if before['bob'][g] != v} }"
    with gradebook_of(course) as gb:
        bob = gb.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, "bob")
        auto = round(sum(g.auto_score or 0 for g in bob.grades if g.cell_type == "code"), 2)
        assert auto == float(rows["bob"]["auto_score"]) == 29.62, f"bob: the gradebook says {auto}, grades.csv " \
                                                                  f"{rows['bob']['auto_score']}"
        assert gb.find_comment("answer_dL_dg", release.NOTEBOOK, release.ASSIGNMENT, "bob").manual_comment == \
            "see page 3", "the hand comment should be kept"

    nbgrader(course, "generate_feedback", release.ASSIGNMENT, "--student", "bob", "--force")
    page = (course / "feedback" / "bob" / release.ASSIGNMENT / f"{release.NOTEBOOK}.html").read_text()
    assert not hidden_test_code(page), f"the feedback nbgrader made shows hidden test code: {hidden_test_code(page)[:3]}"
    assert "Likely cause" in page and "<math " in page and "graded by hand later" in page, \
        "nbgrader's generate_feedback should make the kit's page (the checks' messages, MathML, parts graded by hand)"

    regraded, stdout = grade(EXAMPLES, out, "--workers", "1")
    assert "0 to grade" in stdout, f"./kit grade should find nothing to grade after the hand run:\n{stdout}"
    assert regraded["bob"]["auto_score"] == rows["bob"]["auto_score"] and \
        regraded["bob"]["answer_sigmoid_stability"] == "2", "grades.csv should hold the hand run's scores"
    assert {s: r for s, r in regraded.items() if s != "bob"} == {s: r for s, r in rows.items() if s != "bob"}


@EXAMPLES_WORKER
@pytest.mark.skipif(sandbox_tier() == "none", reason="isolation needs root (without it, SECURITY.md)")
def test_a_hostile_notebook_autograded_by_hand_reaches_no_other_students_grade(examples_graded, tmp_path):
    out = copy_of(examples_graded, tmp_path)
    course = out / "course"
    hostile = nbformat.read(EXAMPLES / "erin.ipynb", as_version=4)
    attacks.at_top(FORGE_GRADEBOOK)(hostile)
    submitted = course / "submitted" / "mallory" / release.ASSIGNMENT
    submitted.mkdir(parents=True)
    nbformat.write(hostile, submitted / f"{release.NOTEBOOK}.ipynb")
    before = scores(course)

    nbgrader(course, "autograde", release.ASSIGNMENT, "--student", "mallory")
    after = scores(course)
    assert {s: g for s, g in after.items() if s != "mallory"} == before, "a hand-graded notebook changed others' grades"
    assert sum(g[0] or 0 for g in after["mallory"].values()) == 0, "the blank notebook should earn nothing"
    ran = nbformat.read(course / "autograded" / "mallory" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb", 4)
    printed = "".join(o.get("text", "") for cell in ran.cells if cell.cell_type == "code" for o in cell.outputs)
    assert "refused ../../../gradebook.db" in printed and "FORGED" not in printed, printed[:2000]


@EXAMPLES_WORKER
def test_after_the_master_changed_nbgrader_refuses_by_hand_and_touches_nothing(examples_graded, tmp_path):
    """Until ./kit grade has made the course again, nbgrader's autograde by hand refuses (never its stock
    pipeline, nor the kit's against another master) and leaves the autograded notebook and the gradebook."""
    course = copy_of(examples_graded, tmp_path) / "course"
    (course / "master_version").write_text("an-earlier-version")
    before = scores(course)
    run = nbgrader(course, "autograde", release.ASSIGNMENT, "--student", "bob", "--force", succeeds=False)
    assert "the master changed since this course was made" in run.stderr, run.stderr[-3000:]
    assert (course / "autograded" / "bob" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb").exists()
    assert scores(course) == before
