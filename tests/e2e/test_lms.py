"""Where courses live: the late policy (autograder/intake/late.py), times and late marks read from Canvas and
Gradescope exports (autograder/intake/collect.py), and the gradebook CSV Canvas imports (autograder/outputs/canvas.py)."""
import csv
import shutil
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest

from autograder.assignment import master, release
from autograder.intake import collect, late
from autograder.outputs import canvas

DUE = late.parse_time("2026-10-01T23:59:00-07:00")
ALICE = release.REPO / "examples" / "submissions" / "alice.ipynb"


@pytest.mark.parametrize("text", ["2026-10-01T23:59:00-07:00", "2026-10-01 23:59 -07:00",
                                  "2026-10-02T06:59:00Z", "2026-10-01 23:59:00.000000000 -07:00"])
def test_times_are_read_with_their_zone(text):
    assert late.parse_time(text) == DUE


def test_the_policy_charges_every_day_or_part_of_a_day_after_the_grace_period_up_to_the_cap():
    policy = late.LatePolicy(DUE, percent_per_day=10, cap_percent=25, grace_minutes=15)
    # 40 of 60 points; the percent is of the 60 points possible (the default base)
    assert policy.penalty(40, 60, DUE + timedelta(minutes=14), False) == late.Penalty(0, 0, 0)
    assert policy.penalty(40, 60, DUE + timedelta(minutes=16), False) == late.Penalty(1, 10, 6)         # 10% of 60
    assert policy.penalty(40, 60, DUE + timedelta(days=1, hours=1), False) == late.Penalty(2, 20, 12)   # 20% of 60
    assert policy.penalty(40, 60, DUE + timedelta(days=5), False) == late.Penalty(5, 25, 15)            # 25% of 60
    assert policy.penalty(40, 60, None, True).days == 1 and policy.penalty(40, 60, None, False).days == 0


def test_a_times_file_needs_its_columns(tmp_path):
    (tmp_path / "times.csv").write_text("student,submitted_at\nalice,2026-10-02T08:00:00-07:00\nbob,\n")
    assert late.read_times(tmp_path / "times.csv") == {"alice": DUE + timedelta(hours=8, minutes=1)}
    (tmp_path / "bad.csv").write_text("who,when\nalice,2026-10-02\n")
    with pytest.raises(ValueError, match="student and submitted_at"):
        late.read_times(tmp_path / "bad.csv")


def test_canvas_late_marks_and_gradescope_times_are_read(tmp_path):
    download = tmp_path / "canvas.zip"
    with zipfile.ZipFile(download, "w") as zipped:
        zipped.write(ALICE, "lovelaceada_1001_5001_assignment.ipynb")
        zipped.write(ALICE, "turingalan_LATE_1002_5002_assignment.ipynb")
    found = {s.student_id: s for s in collect.find_submissions(download, tmp_path / "unpacked")}
    assert (found["1001"].marked_late, found["1002"].marked_late) == (False, True)
    export = tmp_path / "gradescope"
    (export / "submission_77").mkdir(parents=True)
    shutil.copyfile(ALICE, export / "submission_77" / "assignment.ipynb")
    (export / "submission_metadata.yml").write_text(
        "submission_77:\n  :submitters:\n  - :name: Ada\n    :sid: '1001'\n"
        "  :created_at: 2026-10-02 01:30:00.123456789 -07:00\n")
    [submission] = collect.find_submissions(export, tmp_path / "unpacked")
    assert submission.submitted_at == DUE + timedelta(hours=1, minutes=31, microseconds=123456)


def _grades(tmp_path, rows):
    columns = ["student", "name", "canvas_id", "status", "total", "max", "final"]
    with open(tmp_path / "grades.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(rows)


def test_canvas_csv_matches_students_by_canvas_id_and_takes_names_from_the_roster(tmp_path):
    _grades(tmp_path, [{"student": "1001", "name": "lovelaceada", "status": "graded", "total": 50, "max": 60, "final": 45},
                       {"student": "1002", "name": "turingalan", "status": "error", "total": 0, "max": 60, "final": 0},
                       {"student": "1009", "name": "nobody", "status": "graded", "total": 9, "max": 60, "final": 9}])
    (tmp_path / "roster.csv").write_text(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,hw2 (77)\n"
        "    Points Possible,,,,,60\n"
        "\"Lovelace, Ada\",1001,s1,ada,Mon,\n\"Turing, Alan\",1002,s2,alan,Tue,\n\"=cmd, Eve\",1003,s3,eve,Tue,\n")
    with pytest.raises(canvas.ExportRefused, match="lacks graded students: 1009"):
        canvas.write_canvas_csv(tmp_path, tmp_path / "roster.csv", "hw2 (77)")
    path, unknown = canvas.write_canvas_csv(tmp_path, tmp_path / "roster.csv", "hw2 (77)", skip_unmatched=True)
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2 (77)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "60"]
    assert rows[2:] == [["Lovelace, Ada", "1001", "s1", "ada", "Mon", "45"],   # after the late penalty
                        ["Turing, Alan", "1002", "s2", "alan", "Tue", ""],     # not graded: left as it is
                        ["'=cmd, Eve", "1003", "s3", "eve", "Tue", ""]]        # no submission; a formula quoted
    assert unknown == ["1009"]


def test_the_graded_examples_are_exported_for_canvas(examples_graded, tmp_path):
    """End to end from ./kit grade's output (hand parts not graded yet, students named by their files): ./kit canvas
    stops and says how to go on; with a roster and --partial it uploads the autograded points (the Canvas-style zip
    itself: test_canvas_late_marks_and_gradescope_times_are_read)."""
    out = tmp_path / "out"
    shutil.copytree(examples_graded[0], out, symlinks=True)
    (tmp_path / "roster.csv").write_text("Student,ID,SIS User ID,SIS Login ID,Section,hw2 (77)\n"
                                         "    Points Possible,,,,,60\n"
                                         "\"Lovelace, Ada\",alice,s1,ada,Mon,\n\"Turing, Alan\",carol,s2,alan,Tue,\n")

    def kit_canvas(*options):
        return subprocess.run([sys.executable, "-m", "autograder.outputs.canvas", str(out), *options], cwd=release.REPO,
                              capture_output=True, text=True, timeout=120)

    run = kit_canvas()
    assert run.returncode != 0 and "no Canvas user id for alice, bob, carol, dave, erin" in run.stderr, run.stderr
    assert "parts still to grade by hand (alice, bob, dave: answer_sigmoid_stability" in run.stderr, run.stderr
    assert not (out / "canvas.csv").exists()
    run = kit_canvas("--roster", str(tmp_path / "roster.csv"), "--assignment", "hw2 (77)", "--partial",
                     "--skip-unmatched")
    assert run.returncode == 0 and "not in the roster, left out: bob, dave, erin" in run.stdout, run.stdout + run.stderr
    with open(out / "canvas.csv", newline="") as file:
        exported = list(csv.reader(file))
    auto_points = f"{master.read().auto_points:g}"  # alice earns every autograded point
    assert exported[0][-1] == "hw2 (autograded only)" and exported[1][-1] == auto_points, exported
    assert exported[2:] == [["Lovelace, Ada", "alice", "s1", "ada", "Mon", auto_points],
                            ["Turing, Alan", "carol", "s2", "alan", "Tue", ""]]


@pytest.mark.xdist_group("examples_graded")
def test_nbgraders_own_commands_work_in_the_course_folder(examples_graded, tmp_path):
    """The course's nbgrader_config.py puts the exchange inside OUT: nbgrader list and export work there."""
    out = tmp_path / "out"
    shutil.copytree(examples_graded[0], out, symlinks=True)
    course = out / "course"
    for command in (["list"], ["export", "--to", str(tmp_path / "export.csv")]):
        run = subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, f"nbgrader {command[0]} failed in {course}:\n{run.stdout}\n{run.stderr}"
    exported = (tmp_path / "export.csv").read_text()
    assert "alice" in exported and "bob" in exported
