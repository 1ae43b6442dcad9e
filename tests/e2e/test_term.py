"""An instructor's term, scripted (issue 23): on a copy of the bundled examples graded once
(conftest.examples_graded), each step as the README tells an instructor to take it:

1. a late policy (--due, --late-percent-per-day, --late-cap, --times: bob is two days late);
2. a regrade request (--student erin) without the policy's options again;
3. hand grading in the gradebook as formgrader does it (every part waiting for a hand grade, and bob's
   test_backward_pass set by hand), then ./kit grade again: nothing graded again, the feedback made again;
4. bob's fixed notebook (the master's backward_pass in place of his): graded, and the hand score of that
   cell dropped, since it judged code that is gone;
5. the Canvas export with a roster.

What each run prints is kept: no grade changes without a line saying so. At the end grades.csv, canvas.csv,
the feedback pages and the gradebook (what formgrader shows) agree. Expected numbers come from the master
model and the fixture's grades, never literals.
"""
import csv
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from grading import EXAMPLES, enter_hand_grade, grade  # tests/grading.py
from nbgrader.api import Gradebook

from autograder.assignment import master, release
from autograder.build import examples

pytestmark = pytest.mark.xdist_group("examples_graded")  # on the worker that grades the examples (--dist loadgroup)

MODEL = master.read()
POSSIBLE = sum(part.points for part in MODEL.parts)
LATE = "bob"  # late, hand graded at half marks, an autograded cell set by hand, then a fixed notebook
FIXED = "backward_pass"  # one of bob's two bugs (autograder/build/examples.py), fixed in his second file
OVERRIDDEN = next(part for part in MODEL.auto if part.grade_id == f"test_{FIXED}")
OVERRIDE = OVERRIDDEN.points / 2  # the instructor's hand score on that cell: more than the grader gave, not all
REGRADED = "erin"  # asks for a regrade (an unchanged file: the same grades)
HAND_SHARE = {"alice": 1, "bob": 0.5, "dave": 1, "erin": 0}  # of each hand part's points, given in formgrader
DUE, RATE, CAP = "2026-10-01T23:59-07:00", 10, 50
TIMES = {"alice": "2026-10-01T20:00:00-07:00", "bob": "2026-10-03T02:59:00-07:00",  # bob: 27 hours late
         "carol": "2026-10-01T23:00:00-07:00", "dave": "2026-10-01T12:00:00-07:00", "erin": "2026-09-30T09:00:00-07:00"}
DAYS_LATE = 2  # days or parts of days after the due time
PENALTY = min(CAP, DAYS_LATE * RATE) / 100 * POSSIBLE  # the default base: a percent of the points possible
ASSIGNMENT_COLUMN = "hw2 (77)"


@dataclass
class Run:
    """One ./kit grade: what it printed, grades.csv's rows after it (by student), the feedback pages."""
    stdout: str
    rows: dict
    feedback: dict


@dataclass
class Term:
    out: Path
    graded: dict  # grades.csv's rows before the term (conftest.examples_graded)
    runs: dict  # step name -> Run
    hand: dict  # student -> {grade_id: the hand score entered}
    canvas: list  # canvas.csv's rows
    canvas_stdout: str
    gradebook: dict  # student -> (the submission's score, its late penalty, {grade_id: manual score}), at the end


def _feedback(out):
    return {page.stem: page.read_text() for page in (out / "feedback").glob("*.html")}


def _grade_by_hand(out, override_for):
    """As formgrader does: every part waiting for a hand grade gets its HAND_SHARE of its points, and bob's
    OVERRIDDEN cell the OVERRIDE; returns {student: {grade_id: score}}."""
    entered = {}
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        for student, share in HAND_SHARE.items():
            notebook = gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student)
            waiting = {g.name: g.max_score for g in notebook.grades if g.needs_manual_grade and g.manual_score is None}
            entered[student] = {grade_id: points * share for grade_id, points in waiting.items()}
        entered[override_for][OVERRIDDEN.grade_id] = OVERRIDE
        for student, scores in entered.items():
            for grade_id, score in scores.items():
                enter_hand_grade(gradebook, student, grade_id, score)
    return entered


def _gradebook(out, students):
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        found = {}
        for student in students:
            submission = gradebook.find_submission(release.ASSIGNMENT, student)
            manual = {g.name: g.manual_score for notebook in submission.notebooks for g in notebook.grades}
            found[student] = (submission.score, submission.late_submission_penalty, manual)
        return found


@pytest.fixture(scope="module")
def term(examples_graded, tmp_path_factory):
    graded, graded_rows, _, _ = examples_graded
    root = tmp_path_factory.mktemp("term")
    out, submissions = root / "out", root / "submissions"
    shutil.copytree(graded, out, symlinks=True)
    shutil.copytree(EXAMPLES, submissions)
    (root / "times.csv").write_text("student,submitted_at\n" + "".join(f"{s},{t}\n" for s, t in TIMES.items()))
    runs = {}

    def kit_grade(step, *options):
        rows, stdout = grade(submissions, out, "--workers", "2", *options)
        runs[step] = Run(stdout, rows, _feedback(out))

    kit_grade("late policy", "--due", DUE, "--late-percent-per-day", str(RATE), "--late-cap", str(CAP),
              "--times", str(root / "times.csv"))
    kit_grade("regrade request", "--student", REGRADED)
    hand = _grade_by_hand(out, LATE)
    kit_grade("hand grades")
    fixed = {f: changes for f, changes in examples.MUTATIONS[LATE].items() if f != FIXED}  # his other bug stays
    released, solutions = (nbformat.read(p, as_version=4) for p in (release.REPO / "assignment.ipynb", release.MASTER))
    nbformat.write(examples.completed(released, solutions, fixed), submissions / f"{LATE}.ipynb")
    kit_grade("resubmission")
    (root / "roster.csv").write_text(
        f"Student,ID,SIS User ID,SIS Login ID,Section,{ASSIGNMENT_COLUMN}\n    Points Possible,,,,,{POSSIBLE:g}\n"
        + "".join(f'"{s.title()}, A.",{s},s{i},{s},Mon,\n' for i, s in enumerate(sorted(TIMES))))
    run = subprocess.run([sys.executable, "-m", "autograder.outputs.canvas", str(out), "--roster",
                          str(root / "roster.csv"), "--assignment", ASSIGNMENT_COLUMN], cwd=release.REPO,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"./kit canvas failed:\n{run.stdout}\n{run.stderr}"
    with open(out / "canvas.csv", newline="") as file:
        canvas = list(csv.DictReader(file))
    return Term(out, graded_rows, runs, hand, canvas, run.stdout, _gradebook(out, HAND_SHARE))


def printed(stdout):
    """The terminal table's graded rows: {student: (auto, parts still to grade by hand, final)}."""
    table = {}
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] in TIMES and fields[1] in ("graded", "partial"):
            table[fields[0]] = (fields[2], fields[3], "not yet" if fields[4] == "not" else fields[4])
    return table


def scores(row):
    """The parts' scores of a grades.csv ``row``: {grade_id: float}, blank parts (not graded yet) left out."""
    return {part.grade_id: float(row[part.grade_id]) for part in MODEL.parts if row[part.grade_id] != ""}


def feedback_score(page):
    """The score in a feedback page's heading (float), and whether it is only 'so far'."""
    found = re.search(r"\(Score( so far)?: ([0-9.]+) / ([0-9.]+)", page)
    assert found and float(found[3]) == POSSIBLE, page[:2000]
    return float(found[2]), bool(found[1])


def test_the_late_policy_is_applied_to_the_graded_class_and_printed(term):
    run = term.runs["late policy"]
    assert "5 submissions: 0 to grade" in run.stdout, run.stdout
    assert f"late policy: due 2026-10-01T23:59:00-07:00, {RATE}% of the points possible per day or part of a day, " \
           f"at most {CAP}%" in run.stdout and "times of 5 students" in run.stdout, run.stdout
    assert f"late: 1 ({LATE} -{PENALTY:g})" in run.stdout, run.stdout
    assert "no submission time" not in run.stdout and "names students with no submission" not in run.stdout
    bob = run.rows[LATE]
    assert (bob["late_days"], bob["late_penalty"], bob["final"]) == (f"{DAYS_LATE}", f"{PENALTY:g}", ""), bob
    auto_penalty = min(CAP, DAYS_LATE * RATE) / 100 * sum(part.points for part in MODEL.auto)  # what --partial takes
    assert float(bob["auto_final"]) == pytest.approx(float(term.graded[LATE]["auto_score"]) - auto_penalty), bob
    assert all(row["late_days"] == "0" for student, row in run.rows.items() if student != LATE), run.rows
    assert printed(run.stdout)[LATE][2] == "not yet", "hand parts to grade: no final yet"


def test_a_regrade_request_keeps_the_recorded_policy_and_says_it(term):
    before, run = term.runs["late policy"], term.runs["regrade request"]
    assert f"5 submissions: 1 to grade (asked: {REGRADED})" in run.stdout, run.stdout
    assert any(line.startswith("late policy: due 2026-10-01T23:59:00-07:00") for line in run.stdout.splitlines()[:3]), \
        "every run prints the policy in force, first (after the sandbox tier)"
    assert f"late: 1 ({LATE} -{PENALTY:g})" in run.stdout, run.stdout
    assert run.rows == before.rows, "the regrade of an unchanged file changed grades, or the policy was dropped"


def test_hand_grades_reach_grades_csv_and_feedback_without_grading_again(term):
    run, before = term.runs["hand grades"], term.runs["regrade request"]
    assert "5 submissions: 0 to grade" in run.stdout, run.stdout
    assert f"feedback made again for {len(HAND_SHARE)} students whose hand grades or late penalty changed" in run.stdout, \
        run.stdout
    assert "parts still to grade by hand" not in run.stdout, run.stdout
    graded_by_grader = term.graded[LATE][OVERRIDDEN.grade_id]
    assert float(graded_by_grader) < OVERRIDE < OVERRIDDEN.points, "the override must change bob's grade"
    for student in HAND_SHARE:
        row = run.rows[student]
        expected = scores(before.rows[student]) | term.hand[student]
        assert scores(row) == pytest.approx(expected), student
        total = sum(expected.values())
        penalty = PENALTY if student == LATE else 0
        assert (float(row["total"]), float(row["final"])) == pytest.approx((total, total - penalty)), row
        assert printed(run.stdout)[student] == (row["auto_score"] + "/" + row["auto_max"], "0", row["final"]), \
            f"{student}'s new final is not printed:\n{run.stdout}"
        page = run.feedback[student]
        assert feedback_score(page) == (pytest.approx(total - penalty), False), student
        assert "graded by hand later" not in page and page != before.feedback[student]
    points = OVERRIDDEN.points
    assert f"set by hand: {OVERRIDE:g}/{points:g}; the grader gave {graded_by_grader}/{points:g}" \
        in run.feedback[LATE], "an autograded cell scored by hand says so in the feedback"


def test_a_fixed_notebook_is_graded_and_the_hand_score_of_its_cell_expires_with_a_line_saying_so(term):
    run, before = term.runs["resubmission"], term.runs["hand grades"]
    assert "5 submissions: 1 to grade, 3 already graded and unchanged, 1 unreadable" in run.stdout, run.stdout
    dropped = (f"{LATE}: {OVERRIDDEN.grade_id}: the hand grade {OVERRIDE:g}/{OVERRIDDEN.points:g} was dropped: it was "
               f"given for an earlier file, and the grader's {OVERRIDDEN.points:g}/{OVERRIDDEN.points:g} for this file "
               "stands")
    assert dropped in run.stdout and dropped.removeprefix(f"{LATE}: ") in run.rows[LATE]["reason"], run.stdout
    for grade_id, score in term.hand[LATE].items():
        if grade_id != OVERRIDDEN.grade_id:  # written answers and plots: kept, and said
            kept = f"{LATE}: {grade_id}: the hand grade {score:g}/{score / HAND_SHARE[LATE]:g} was given for an " \
                   "earlier file; kept"
            assert kept in run.stdout, run.stdout
    assert "feedback made again for 1 student whose hand grades or late penalty changed\n" in run.stdout, run.stdout
    assert f"late policy: {LATE} sent a new file; the time the times file gave for the earlier file still counts" \
        in run.stdout, "a resubmission keeps the recorded time, and the run says so"
    bob = run.rows[LATE]
    assert float(bob[OVERRIDDEN.grade_id]) == OVERRIDDEN.points, "the grader's verdict on the fixed code stands"
    assert {g: s for g, s in scores(bob).items() if g in term.hand[LATE] and g != OVERRIDDEN.grade_id} == \
        {g: s for g, s in term.hand[LATE].items() if g != OVERRIDDEN.grade_id}, "the hand grades of answers stay"
    total = sum(scores(bob).values())
    assert (float(bob["total"]), float(bob["final"])) == pytest.approx((total, total - PENALTY)), bob
    assert float(bob["final"]) > float(before.rows[LATE]["final"]), "the fix earns points"
    assert printed(run.stdout)[LATE][2] == bob["final"], f"bob's new final is not printed:\n{run.stdout}"
    assert {s: r for s, r in run.rows.items() if s != LATE} == {s: r for s, r in before.rows.items() if s != LATE}
    page = run.feedback[LATE]
    assert "set by hand" not in page and feedback_score(page) == (pytest.approx(total - PENALTY), False)
    assert term.gradebook[LATE][2][OVERRIDDEN.grade_id] is None, "formgrader still shows the dropped hand score"


def test_grades_csv_canvas_feedback_and_the_gradebook_agree_at_the_end(term):
    """grades.csv's final is what Canvas gets and what the feedback shows; formgrader (nbgrader's gradebook) holds the
    score before the late penalty and the penalty itself, in nbgrader's own place for it."""
    rows, feedback = term.runs["resubmission"].rows, term.runs["resubmission"].feedback
    assert f"wrote {term.out / 'canvas.csv'}" in term.canvas_stdout, term.canvas_stdout
    assert term.canvas[0][ASSIGNMENT_COLUMN] == f"{POSSIBLE:g}", term.canvas[0]
    exported = {row["ID"]: row[ASSIGNMENT_COLUMN] for row in term.canvas[1:]}
    assert exported["carol"] == "", "an ungraded file leaves Canvas's grade as it is"
    for student in HAND_SHARE:
        row, penalty = rows[student], PENALTY if student == LATE else 0
        final, total = float(row["final"]), float(row["total"])
        assert final == pytest.approx(total - penalty) and float(exported[student]) == final, (row, exported)
        score, penalty_in_gradebook, _ = term.gradebook[student]
        assert score == pytest.approx(total), f"formgrader shows {score} for {student}, grades.csv {total}"
        assert feedback_score(feedback[student]) == (pytest.approx(final), False), student
        assert (penalty_in_gradebook or 0) == pytest.approx(penalty), (student, penalty_in_gradebook)
        assert ("Late submission penalty" in feedback[student]) == bool(penalty), student
