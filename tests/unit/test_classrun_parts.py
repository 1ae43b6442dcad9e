"""The class run's bookkeeping without grading: the ledger and a report that fails alone."""
import json
from pathlib import Path

from autograder.classrun import grade
from autograder.classrun.ledger import Ledger
from autograder.intake.collect import Submission


def _submission(tmp_path, student):
    path = tmp_path / f"{student}.ipynb"
    path.write_text("{}")
    return Submission(student, path)


def test_the_ledger_records_each_entry_and_a_new_run_reads_it_back(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.record(_submission(tmp_path, "ann"), "v1", status="graded", reasons={"test_x": "why"}, seconds=1.234)
    ledger.record(_submission(tmp_path, "bob"), "v1", status="error", reason="not JSON")
    again = Ledger(tmp_path)  # a run killed before it wrote results.json: the journal holds both entries
    assert again.get("ann")["status"] == "graded" and again.get("ann")["seconds"] == 1.23
    assert again.get("bob")["reason"] == "not JSON" and again.get("carl") == {}
    again.save()
    assert json.loads((tmp_path / "results.json").read_text()) == again.entries == Ledger(tmp_path).entries
    assert not (tmp_path / "results.journal").exists(), "saved whole, the journal is emptied"
    assert not list(tmp_path.glob("*.tmp")), "the ledger is written aside and moved into place"


def test_a_journal_line_cut_short_by_a_crash_is_left_out(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.record(_submission(tmp_path, "ann"), "v1", status="graded")
    with open(tmp_path / "results.journal", "a") as journal:
        journal.write('["bob", {"status": "gra')  # the coordinator killed mid-line
    assert set(Ledger(tmp_path).entries) == {"ann"}, "bob is graded again"


def test_recording_costs_the_same_for_the_last_student_as_for_the_first(tmp_path):
    """Each entry appends one line; results.json is written whole only now and then (SAVE_SECONDS)."""
    ledger = Ledger(tmp_path)
    for number in range(200):
        ledger.record(_submission(tmp_path, f"s{number:03d}"), "v1", status="graded", reasons={"test_x": "why " * 50})
    lines = (tmp_path / "results.journal").read_text().splitlines()
    assert len(lines) == 200 and not (tmp_path / "results.json").exists()


def test_the_ledger_knows_which_file_the_gradebook_holds_through_errors(tmp_path):
    """Hand grades are given for the file merged last (classrun.hand_grades.expire): an error merges nothing."""
    ledger, first = Ledger(tmp_path), _submission(tmp_path, "ann")
    assert ledger.merged("ann") is None
    ledger.record(first, "v1", status="graded")
    merged = first.sha256
    first.path.write_text('{"cells": []}')  # the student sends another file, which cannot be graded
    ledger.record(first, "v1", status="error", reason="not a notebook")
    assert ledger.get("ann")["sha256"] == first.sha256 != merged and ledger.merged("ann") == merged
    ledger.record(first, "v1", status="partial")
    assert Ledger(tmp_path).merged("ann") == first.sha256
    legacy = {"sha256": "abc", "status": "graded"}  # a ledger written before merged_sha256 was recorded
    ledger.entries["bob"], ledger.entries["carl"] = legacy, {**legacy, "status": "error"}
    assert (ledger.merged("bob"), ledger.merged("carl")) == ("abc", None)


def test_a_report_that_fails_is_said_and_the_run_goes_on(capsys):
    def broken(out):
        raise KeyError("odd entry")

    assert grade._report_stage("class report", broken, Path("out")) is None
    assert "class report could not be written (KeyError" in capsys.readouterr().err
    assert grade._report_stage("class report", lambda out: out / "report", Path("out")) == Path("out/report")


def test_the_terminal_calls_no_total_final_while_parts_wait_for_hand_grades(capsys):
    from autograder.outputs.terminal import print_summary

    common = {"auto_max": 39, "max": 60, "review": "", "reason": ""}
    print_summary([{**common, "student": "ann", "status": "graded", "auto_score": 39, "needs_manual_grade": 9,
                    "final": "", "late_days": 2, "late_penalty": 9},
                   {**common, "student": "ben", "status": "graded", "auto_score": 30, "needs_manual_grade": 0,
                    "final": 45, "late_days": 0, "late_penalty": 0},
                   {**common, "student": "cal", "status": "graded", "auto_score": 30, "needs_manual_grade": 9,
                    "final": "", "late_days": 1, "late_penalty": ""}], Path("out"))
    printed = capsys.readouterr().out
    table = {line.split()[0]: line.split() for line in printed.splitlines() if line.startswith(("ann", "ben", "cal"))}
    assert table["ann"][:5] == ["ann", "graded", "39/39", "9", "not"] and table["ben"][4] == "45", printed
    assert "late: 2 (ann -9, cal 1 day (a percent of the score: known once graded by hand))" in printed
    assert "blank in grades.csv, and so is the final ('not yet')" in printed


def test_the_run_s_first_line_counts_only_what_there_is_with_plurals():
    """Issue 23: a first run said "1 already graded, unreadable or left as they are"."""
    assert grade.batch_line(2, 1, 0, 1, 0, [], "2 workers") == "2 submissions: 1 to grade, 1 unreadable (an error row) (2 workers)"
    assert grade.batch_line(1, 1, 0, 0, 0, [], "1 worker") == "1 submission: 1 to grade (1 worker)"
    assert grade.batch_line(6, 1, 2, 2, 1, ["bob"], "2 workers") == ("6 submissions: 1 to grade (asked: bob), 2 already graded and "
                                                            "unchanged, 2 unreadable (an error row each), 1 left as it is "
                                                            "(2 workers)")


def test_late_penalties_go_into_the_class_gradebook_and_none_clears_one(tmp_path, monkeypatch):
    """nbgrader's own place for a late penalty (SubmittedNotebook.late_submission_penalty), which formgrader and the
    feedback page read; a student never graded is left out."""
    import nbgrader.api
    from nbgrader.api import Gradebook

    from autograder.assignment import release
    from autograder.classrun.class_course import ClassCourse

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "unit-test")  # no alembic command needed
    course = ClassCourse(tmp_path, "v")
    course.root.mkdir()
    with Gradebook(course.db_url) as gradebook:
        gradebook.add_assignment(release.ASSIGNMENT)
        gradebook.update_or_create_notebook(release.NOTEBOOK, release.ASSIGNMENT)
        for student in ("ann", "ben"):
            gradebook.add_student(student)
            gradebook.add_submission(release.ASSIGNMENT, student)
    course.record_late_penalties({"ann": 9.0, "ben": None, "cal": 3.0})
    course.record_late_penalties({"ann": 6.0})

    def penalty(student):
        with course.gradebook() as gradebook:
            return gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student).late_submission_penalty
    assert (penalty("ann"), penalty("ben")) == (6.0, None)
    course.record_late_penalties({"ann": None})
    assert penalty("ann") is None
