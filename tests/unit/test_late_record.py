"""The late policy is recorded with the grades: given once, kept by every later run, changed only on
purpose (classrun/late_record.py), and what a change did is printed (classrun/grade.py)."""
import json

import pytest

from autograder.classrun import grade, late_record
from autograder.intake.late import LatePolicy, parse_time

DUE = parse_time("2026-10-01T23:59-07:00")


def _given(tmp_path, percent=10.0, times="student,submitted_at\nalice,2026-10-03T10:00:00-07:00\n",
           base="possible"):
    times_file = tmp_path / "times.csv"
    times_file.write_text(times)
    return late_record.given(LatePolicy(DUE, percent, 15.0, 5.0, base),
                             {"alice": parse_time("2026-10-03T10:00-07:00")}, times_file)


def test_a_policy_given_once_is_in_force_for_every_later_run_without_options(tmp_path):
    out = tmp_path / "out"
    first, replaced = late_record.settle(out, _given(tmp_path))
    assert replaced is None and (out / late_record.FILE).exists()
    later, replaced = late_record.settle(out, None)
    assert later == first and replaced is None, "a run without the options keeps the recorded policy"
    assert later.times["alice"] == parse_time("2026-10-03T10:00-07:00")
    assert "due 2026-10-01T23:59:00-07:00, 10% of the points possible per day" in later.describe()
    assert "times.csv" in later.describe()


def test_the_same_options_again_change_nothing(tmp_path):
    out = tmp_path / "out"
    first, _ = late_record.settle(out, _given(tmp_path))
    again, replaced = late_record.settle(out, _given(tmp_path))
    assert again == first and replaced is None


def test_another_policy_is_refused_without_the_option_and_replaces_with_it(tmp_path):
    out = tmp_path / "out"
    first, _ = late_record.settle(out, _given(tmp_path))
    with pytest.raises(late_record.PolicyConflict, match="--change-late-policy"):
        late_record.settle(out, _given(tmp_path, percent=20))
    assert late_record.settle(out, None)[0] == first, "a refused change leaves the record as it was"
    new, replaced = late_record.settle(out, _given(tmp_path, percent=20), change=True)
    assert replaced == first and new.policy.percent_per_day == 20
    assert late_record.settle(out, None)[0] == new


def test_an_edited_times_file_is_another_policy(tmp_path):
    out = tmp_path / "out"
    late_record.settle(out, _given(tmp_path))
    with pytest.raises(late_record.PolicyConflict):
        late_record.settle(out, _given(tmp_path, times="student,submitted_at\nalice,2026-10-02T10:00:00-07:00\n"))


def test_the_option_alone_removes_the_policy(tmp_path):
    out = tmp_path / "out"
    first, _ = late_record.settle(out, _given(tmp_path))
    removed, replaced = late_record.settle(out, None, change=True)
    assert removed is None and replaced == first and not (out / late_record.FILE).exists()


def test_no_options_and_no_record_is_no_policy(tmp_path):
    assert late_record.settle(tmp_path / "out", None) == (None, None)


def test_submissions_without_a_time_and_times_of_nobody_are_listed(tmp_path):
    from autograder.intake.collect import Submission

    recorded, _ = late_record.settle(tmp_path / "out", _given(tmp_path))  # times for alice only
    submissions = [Submission("alice", tmp_path / "a.ipynb"), Submission("frank", tmp_path / "f.ipynb"),
                   Submission("gale", tmp_path / "g.ipynb", marked_late=True),
                   Submission("hu", tmp_path / "h.ipynb", submitted_at=DUE)]
    assert recorded.gaps(submissions) == (["frank"], [])
    assert recorded.gaps(submissions[1:]) == (["frank"], ["alice"])


def test_a_new_file_whose_time_is_still_the_times_files_for_the_earlier_one_is_named(tmp_path):
    """A resubmission keeps the recorded time given for the earlier file: a run that takes the recorded times
    (with or without the options again) names the students who sent new files; new times given on purpose do not."""
    out = tmp_path / "out"
    assert late_record.settle(out, _given(tmp_path))[0].times_from_before(["alice"], None) == [], "times given now"
    before = late_record.read(out)
    for options in (None, _given(tmp_path)):  # a later run, without the options or with the same ones
        in_force, _ = late_record.settle(out, options)
        assert in_force.times_from_before(["alice", "bob"], before) == ["alice"]  # bob has no recorded time
    new_times = _given(tmp_path, times="student,submitted_at\nalice,2026-10-02T10:00:00-07:00\n")
    new_times = late_record.RecordedPolicy(new_times.policy, {"alice": parse_time("2026-10-02T10:00-07:00")},
                                           new_times.times_file, new_times.times_sha256)
    in_force, _ = late_record.settle(out, new_times, change=True)
    assert in_force.times_from_before(["alice"], before) == []


def test_another_base_is_another_policy_and_the_record_keeps_it(tmp_path):
    out = tmp_path / "out"
    late_record.settle(out, _given(tmp_path))
    with pytest.raises(late_record.PolicyConflict, match="10% of the points possible.*10% of the score"):
        late_record.settle(out, _given(tmp_path, base="score"))
    late_record.settle(out, _given(tmp_path, base="score"), change=True)
    assert json.loads((out / late_record.FILE).read_text())["policy"]["base"] == "score", \
        "where a feedback page can read it"
    assert late_record.settle(out, None)[0].policy.base == "score"


def test_a_record_made_before_the_base_was_an_option_keeps_its_penalties_of_the_score(tmp_path):
    out = tmp_path / "out"
    late_record.settle(out, _given(tmp_path))
    record = json.loads((out / late_record.FILE).read_text())
    del record["policy"]["base"]
    (out / late_record.FILE).write_text(json.dumps(record))
    recorded, _ = late_record.settle(out, None)
    assert recorded.policy.base == "score" and "10% of the score per day" in recorded.describe()
    with pytest.raises(late_record.PolicyConflict):  # the new default changes grades: only on purpose
        late_record.settle(out, _given(tmp_path))


def _row(student, final, penalty, days):
    return {"student": student, "final": final, "late_penalty": penalty, "late_days": days}


def test_a_change_of_policy_lists_finals_and_the_penalties_of_students_not_fully_graded():
    before = [_row("alice", 30, 9, 2), _row("bob", "", 9, 2), _row("carl", "", "", 2), _row("dan", 40, 0, 0)]
    after = [_row("alice", 33, 6, 1), _row("bob", "", 6, 1), _row("carl", "", "", 1), _row("dan", 40, 0, 0)]
    assert grade.late_changes(before, after) == (
        "alice 30 -> 33, bob penalty 9 -> 6 (final once graded by hand), carl penalty a percent of the score (2 days "
        "late) -> a percent of the score (1 day late) (final once graded by hand)")
    assert grade.late_changes(before, before) == "no final score changed"
    removed = [_row("bob", "", "", ""), _row("dan", 40, "", "")]
    assert grade.late_changes([_row("bob", "", 0, 0), _row("dan", 40, 0, 0)], removed) == "no final score changed"
