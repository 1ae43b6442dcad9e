"""Every front-end grades as ./kit grade does (issue 24): the same autograded score for the five bundled examples
and two notebooks written as students would (tests/notebooks: frank correct in a style of his own, grace with three
bugs), through

- ``./kit grade`` (conftest.examples_graded for the examples; frank and grace graded into a copy of its OUT, an
  incremental run that grades only them),
- nbgrader's own ``nbgrader autograde hw2 --force`` by hand in that class course (OUT/course, whose
  nbgrader_config.py autograder/classrun/nbgrader_commands.py writes), every student in one command,
- Gradescope's ``run_autograder`` from the zip ``./kit gradescope --late`` writes, run as Gradescope runs it (the zip
  unpacked into ROOT/source, the submission in ROOT/submission, Gradescope's submission_metadata.json), one at a
  time beside the hand run,
- formgrader's autograde button: tests/e2e/test_browser.py presses it for bob only. The button is the by-hand path:
  its handler calls nbgrader's NbGraderAPI.autograde, which runs the same nbgrader Autograde app in the Jupyter
  server's process, configured by the same OUT/course/nbgrader_config.py; pressing it for every student would grade
  them all a third time (a minute and more) to show what the by-hand run shows.

The runs are made once (the module fixture ``front_ends``) on the worker that grades the examples, and the other
checks of the by-hand and Gradescope front-ends use them: hand grades kept, the kit's feedback page, a later
./kit grade consistent with the hand run; Gradescope's documented format, the late policy, visibility, an unreadable
notebook's message and the zip's contents.
"""
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from grading import EXAMPLES, enter_hand_grade, grade, hidden_test_code  # tests/grading.py
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.assignment import master, release
from autograder.lms import gradescope
from autograder.sandbox.kernel_launcher import sandbox_tier

pytestmark = [pytest.mark.xdist_group("examples_graded"),  # on the worker that grades the examples once
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]  # nbgrader's autoflush warnings
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NEW = {"frank": NOTEBOOKS / "frank.ipynb", "grace": NOTEBOOKS / "grace.ipynb"}
STUDENTS = {**{path.stem: path for path in sorted(EXAMPLES.glob("*.ipynb"))}, **NEW}
UNREADABLE = "carol"  # broken JSON: no front-end grades her, each says why

# Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
VISIBILITIES = ["hidden", "after_due_date", "after_published", "visible"]
SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "visibility": {"enum": VISIBILITIES}, "stdout_visibility": {"enum": VISIBILITIES},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {"score": {"type": "number"}, "max_score": {"type": "number"}, "name": {"type": "string"},
                           "number": {"type": "string"}, "output": {"type": "string"},
                           "visibility": {"enum": VISIBILITIES}},
            "required": ["score", "max_score", "name", "output", "visibility"], "additionalProperties": False}},
    },
    "required": ["tests", "output", "execution_time"], "additionalProperties": False,
}
LATE_RATES = {"percent_per_day": 10.0, "cap_percent": 50.0, "grace_minutes": 15.0, "base": "possible"}
DUE = "2026-10-01T23:59:00.000000-07:00"
ON_TIME, LATE = "2026-10-01T23:00:00.000000-07:00", "2026-10-03T09:00:00.000000-07:00"  # LATE: a day and a part
LATE_STUDENT = "bob"
HAND_GRADE = ("bob", "answer_sigmoid_stability", 2, "see page 3")  # given in formgrader before the hand run


@dataclass
class FrontEnds:
    out: Path  # a copy of examples_graded's OUT, frank and grace graded into it, then autograded by hand
    kit: dict  # student -> ./kit grade's grades.csv row
    kit_after_hand_run: tuple  # (grades.csv rows by student, stdout) of ./kit grade run again after the hand run
    gradebook_before: dict  # scores(course) as ./kit grade left it, the hand grade included
    by_hand: subprocess.CompletedProcess  # nbgrader autograde hw2 --force
    gradebook_after: dict  # scores(course) after it
    feedback: subprocess.CompletedProcess  # nbgrader generate_feedback hw2 --student bob --force
    archive: Path  # the Gradescope zip
    gradescope: dict  # student -> (run_autograder's exit status, its output, results.json or None)


def nbgrader(course, *arguments):
    """``nbgrader ARGUMENTS`` run by hand in ``course`` with the kit's .venv/bin on PATH: its CompletedProcess."""
    env = dict(os.environ, PATH=f"{release.REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["nbgrader", *arguments], cwd=course, env=env, capture_output=True, text=True, timeout=1800)


def scores(course):
    """{student: {grade_id: (auto_score, manual_score, needs_manual_grade)}} of the course's gradebook."""
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="hw2") as gb:
        warnings.simplefilter("ignore", SAWarning)
        return {s.student_id: {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                               for notebook in s.notebooks for g in notebook.grades}
                for s in gb.find_assignment(release.ASSIGNMENT).submissions}


def autograded(grades):
    """The autograded score of one student's gradebook ``grades`` (as ``scores`` gives them), to 0.01."""
    auto_parts = {part.grade_id for part in master.read().auto}
    return round(sum(auto or 0 for grade_id, (auto, _, _) in grades.items() if grade_id in auto_parts), 2)


def make_stale(course):
    """Every autograded score in the course's gradebook set to 0, as if graded before a fix: what the hand run
    writes is then seen."""
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="hw2") as gb:
        warnings.simplefilter("ignore", SAWarning)
        for submission in gb.find_assignment(release.ASSIGNMENT).submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.auto_score is not None:
                        grade.auto_score = 0
        gb.db.commit()


def run_autograder(archive, root, notebook, submitted_at):
    """Gradescope's run of ``archive`` on ``notebook`` submitted at ``submitted_at`` (str), in ``root``: (exit
    status, output, results.json as a dict or None)."""
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(root / "source")
    (root / "submission_metadata.json").write_text(json.dumps(
        {"created_at": submitted_at, "users": [{"id": 1, "name": root.name}],
         "assignment": {"due_date": DUE, "late_due_date": None}}))
    (root / "source" / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    shutil.copyfile(notebook, root / "submission" / "assignment.ipynb")
    run = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                         timeout=1800, env={**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable})
    results = root / "results" / "results.json"
    return run.returncode, run.stdout + run.stderr, json.loads(results.read_text()) if results.exists() else None


def by_hand(course):
    """The hand grade given in formgrader, then every autograded score made stale, ``nbgrader autograde hw2
    --force`` run by hand, and the hand-graded student's feedback made by hand: (the gradebook before, the
    autograde run, the gradebook after, the feedback run)."""
    student, grade_id, score, comment = HAND_GRADE
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="hw2") as gb:
        warnings.simplefilter("ignore", SAWarning)
        enter_hand_grade(gb, student, grade_id, score)
        gb.find_comment("answer_dL_dg", release.NOTEBOOK, release.ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()
    before = scores(course)
    make_stale(course)
    run = nbgrader(course, "autograde", release.ASSIGNMENT, "--force")
    after = scores(course)
    return before, run, after, nbgrader(course, "generate_feedback", release.ASSIGNMENT, "--student", student, "--force")


@pytest.fixture(scope="module")
def front_ends(examples_graded, tmp_path_factory):
    folder = tmp_path_factory.mktemp("front-ends")
    submissions, out = folder / "submissions", folder / "out"
    submissions.mkdir()
    for student, path in STUDENTS.items():
        shutil.copyfile(path, submissions / f"{student}.ipynb")
    shutil.copytree(examples_graded[0], out, symlinks=True)
    kit, stdout = grade(submissions, out, "--workers", "2")
    assert f"{len(STUDENTS)} submissions: {len(NEW)} to grade" in stdout, \
        f"./kit grade should grade only the new notebooks into a copy of the examples' OUT:\n{stdout}"
    archive = gradescope.build(folder / "hw2_gradescope.zip", LATE_RATES)
    # two at a time: the hand run (one process, a kernel with one BLAS thread) beside Gradescope's runs one after
    # another (each kernel with the machine's BLAS threads, as on Gradescope)
    with ThreadPoolExecutor(2) as pool:
        hand = pool.submit(by_hand, out / "course")
        runs = pool.submit(lambda: {student: run_autograder(archive, folder / "gradescope" / student, path,
                                                            LATE if student == LATE_STUDENT else ON_TIME)
                                    for student, path in STUDENTS.items()})
        before, run, after, feedback = hand.result()
        gradescope_runs = runs.result()
    again = grade(submissions, out, "--workers", "1")
    return FrontEnds(out, kit, again, before, run, after, feedback, archive, gradescope_runs)


def test_every_front_end_gives_kit_grades_score(front_ends):
    assert front_ends.by_hand.returncode == 0, f"nbgrader autograde hw2 --force by hand failed:\n" \
                                               f"{front_ends.by_hand.stdout}\n{front_ends.by_hand.stderr[-4000:]}"
    for student, (status, log, _) in front_ends.gradescope.items():
        assert status == 0, f"Gradescope's run_autograder failed for {student}:\n{log[-4000:]}"
    mismatches = []
    for student in STUDENTS:
        row = front_ends.kit[student]
        if student == UNREADABLE:
            continue
        kit = float(row["auto_score"])
        results = front_ends.gradescope[student][2]
        scores_of = {
            "nbgrader autograde by hand": autograded(front_ends.gradebook_after.get(student, {})),
            "Gradescope's run_autograder": round(sum(test["score"] for test in results["tests"]
                                                     if test["name"] != "late penalty"), 2)}
        mismatches += [f"{student}: {front_end} gives {score}, ./kit grade {kit}"
                       for front_end, score in scores_of.items() if score != kit]
    assert not mismatches, "every front-end should give ./kit grade's autograded score:\n" + "\n".join(mismatches)
    assert front_ends.gradebook_after == front_ends.gradebook_before, \
        "nbgrader autograde by hand should write back, part by part, the grades ./kit grade wrote (hand grades " \
        "included): " + "; ".join(
            f"{student} {grade_id}: ./kit grade {kit}, by hand {front_ends.gradebook_after.get(student, {}).get(grade_id)}"
            for student, grades in front_ends.gradebook_before.items() for grade_id, kit in grades.items()
            if front_ends.gradebook_after.get(student, {}).get(grade_id) != kit)


def test_an_unreadable_notebook_is_graded_by_no_front_end_and_each_says_why(front_ends):
    row = front_ends.kit[UNREADABLE]
    assert row["status"] == "error" and "not valid notebook JSON" in row["reason"], row
    assert UNREADABLE not in front_ends.gradebook_after, "nbgrader by hand should have nothing of carol to grade"
    results = front_ends.gradescope[UNREADABLE][2]
    assert "not valid notebook JSON" in results["output"] and results["tests"] == [] and results["score"] == 0, results


def test_the_students_notebooks_get_what_they_earn(front_ends):
    """frank, correct in a style of his own, gets full marks; grace loses the points of her three bugs only."""
    frank, grace = front_ends.kit["frank"], front_ends.kit["grace"]
    assert frank["status"] == "graded" and frank["auto_score"] == frank["auto_max"], \
        f"frank's correct notebook should get every autograded point: {frank['auto_score']}/{frank['auto_max']}; " \
        f"{frank['reason']}"
    lost = {part.grade_id for part in master.read().auto if float(grace[part.grade_id]) < part.points}
    assert lost == {"test_logistic_loss", "test_nn_finite_difference_checker", "test_test_batch_loss"}, \
        f"grace's bugs are in logistic_loss, the network checker and the test batch's loss; she lost points in " \
        f"{sorted(lost)}: {grace['reason']}"
    assert 0 < float(grace["auto_score"]) < float(grace["auto_max"])


def test_nbgrader_by_hand_keeps_hand_grades_and_makes_the_kits_feedback(front_ends):
    student, grade_id, score, comment = HAND_GRADE
    assert "grades as ./kit grade does: sandboxed kernel" in front_ends.by_hand.stderr or sandbox_tier() != "full", \
        f"nbgrader autograde should say how it grades; it printed:\n{front_ends.by_hand.stderr[-3000:]}"
    assert front_ends.gradebook_after[student][grade_id][1] == score, "the hand score should be kept"
    course = front_ends.out / "course"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="hw2") as gb:
        warnings.simplefilter("ignore", SAWarning)
        assert gb.find_comment("answer_dL_dg", release.NOTEBOOK, release.ASSIGNMENT, student).manual_comment == \
            comment, "the hand comment should be kept"

    assert front_ends.feedback.returncode == 0, front_ends.feedback.stderr[-4000:]
    page = (course / "feedback" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.html").read_text()
    assert not hidden_test_code(page), f"the feedback nbgrader made shows hidden test code: {hidden_test_code(page)[:3]}"
    assert "Likely cause" in page and "<math " in page and "graded by hand later" in page, \
        "nbgrader's generate_feedback should make the kit's page (the checks' messages, MathML, parts graded by hand)"

    regraded, stdout = front_ends.kit_after_hand_run
    assert "0 to grade" in stdout, f"./kit grade should find nothing to grade after the hand run:\n{stdout}"
    assert regraded[student]["auto_score"] == front_ends.kit[student]["auto_score"] and \
        regraded[student][grade_id] == str(score), "grades.csv should hold the hand run's scores"
    assert {s: r for s, r in regraded.items() if s != student} == \
        {s: r for s, r in front_ends.kit.items() if s != student}


def test_gradescope_results_follow_gradescopes_format_and_the_late_policy(front_ends):
    possible = master.read().auto_points
    for student, (_, _, results) in front_ends.gradescope.items():
        jsonschema.validate(results, SCHEMA)
        assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"]), student
    bob = front_ends.gradescope[LATE_STUDENT][2]
    assert abs(sum(t["max_score"] for t in bob["tests"]) - possible) < 0.05
    assert {t["visibility"] for t in bob["tests"]} == {"visible", "after_published"}
    assert bob["output"].startswith("Public cases: ") and f"{bob['score']:.4g}" not in bob["output"]
    # a day and a part late (Gradescope's due date and bob's time): 20% of the autograded points possible
    kit = float(front_ends.kit[LATE_STUDENT]["auto_score"])
    assert bob["score"] == round(kit - round(0.2 * possible, 2), 2), f"bob late: {bob['score']}, ./kit grade {kit}"
    assert not [t for s, (_, _, r) in front_ends.gradescope.items() if s != LATE_STUDENT for t in r["tests"]
                if t["name"] == "late penalty"], "only bob was late"
    sigmoid = next(t for t in bob["tests"] if t["name"] == "test_sigmoid_activation (public cases)")
    assert "Likely cause" in sigmoid["output"] and sigmoid["score"] < sigmoid["max_score"]
    with zipfile.ZipFile(front_ends.archive) as zipped:
        names = zipped.namelist()
    assert {"setup.sh", "run_autograder", "generated/hidden_reference.pkl", "solutions/master.ipynb"} <= set(names)
    assert not [name for name in names if name.startswith(("tests/", "examples/", "output/"))]
