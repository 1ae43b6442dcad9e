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
    again = Ledger(tmp_path)
    assert again.get("ann")["status"] == "graded" and again.get("ann")["seconds"] == 1.23
    assert again.get("bob")["reason"] == "not JSON" and again.get("carl") == {}
    assert json.loads((tmp_path / "results.json").read_text()) == again.entries
    assert not list(tmp_path.glob("*.tmp")), "the ledger is written aside and moved into place"


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
