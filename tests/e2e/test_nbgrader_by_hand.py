"""nbgrader's own commands, run by hand in the class course ./kit grade made (OUT/course, whose nbgrader_config.py
autograder/classrun/nbgrader_commands.py writes): a hostile notebook graded there reaches no other student's grade,
and after the master changed they refuse. That they grade as ./kit grade does (the same scores for every student,
hand grades kept, the kit's feedback page, a later ./kit grade consistent with them) is shown with the other
front-ends in tests/e2e/test_front_ends.py."""
import os
import shutil
import subprocess

import attacks  # tests/attacks.py
import nbformat
import pytest
from grading import EXAMPLES  # tests/grading.py
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
