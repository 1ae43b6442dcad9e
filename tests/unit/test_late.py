"""The late policy's inputs (autograder/intake/late.py, autograder/intake/tables.py): a times file, --due and
the policy's numbers give errors that name the file, line and column (or the option) and what was expected;
nothing is graded with half a times file."""
import argparse
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.intake import late
from autograder.intake.tables import TableError, read_table

DUE = late.parse_time("2026-10-01T23:59:00-07:00")
EXPECTED = "is not a date and time in ISO 8601 with its zone, e.g. 2026-10-01T23:59:00-07:00"


def times_file(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "times.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_bad_date_names_its_file_line_column_and_student(tmp_path):
    """The issue: one bad date stopped ./kit grade with "Invalid isoformat string", naming nothing."""
    path = times_file(tmp_path, "student,submitted_at\nalice,2026-10-02T08:00:00-07:00\nbob,not-a-date\n")
    with pytest.raises(TableError) as raised:
        late.read_times(path)
    assert str(raised.value) == f"{path} line 3, column 2 (submitted_at): 'not-a-date' (student 'bob') {EXPECTED}"


def test_every_problem_of_a_times_file_is_listed_at_once(tmp_path):
    path = times_file(tmp_path, "student,submitted_at\r\nalice,2026-10-02\r\n,2026-10-02\r\nalice,2026-10-03\r\n"
                                "carol\r\n\"dave\nsmith\",yesterday\r\n")
    with pytest.raises(TableError) as raised:
        late.read_times(path)
    assert raised.value.problems == [f"{path} line 5: 1 field, no submitted_at (column 2); expected 2 fields as in "
                                     "the header"]
    path = times_file(tmp_path, "student,submitted_at\r\nalice,2026-10-02\r\n,2026-10-02\r\nalice,2026-10-03\r\n"
                                "\"dave\nsmith\",yesterday\r\n")
    with pytest.raises(TableError) as raised:
        late.read_times(path)
    assert raised.value.problems == [
        f"{path} line 3, column 1 (student): empty; expected the student's id",
        f"{path} line 4, column 1 (student): 'alice' already has a time on line 2; keep one",
        f"{path} line 5, column 2 (submitted_at): 'yesterday' (student 'dave\\nsmith') {EXPECTED}"]


def test_a_times_file_from_a_spreadsheet_is_read(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark; rows without a time and blank lines are left out."""
    path = times_file(tmp_path, "\ufeffstudent,submitted_at,note\r\nalice,2026-10-02T08:00:00-07:00,ok\r\n"
                                "bob,,\r\n\r\n")
    assert late.read_times(path) == {"alice": DUE + timedelta(hours=8, minutes=1)}


@pytest.mark.parametrize("content, message", [
    ("who,when\nalice,2026-10-02\n", " line 1: needs the columns student and submitted_at; it has no student and "
                                     "no submitted_at (its columns: 'who', 'when')"),
    ("student,student,submitted_at\n", " line 1: the column 'student' appears twice; keep one"),
    ("", ": the file is empty; expected a header line with the columns student and submitted_at"),
    ("student,submitted_at\nalice,2026-10-02,extra\n", " line 2: 3 fields where the header has 2 (a comma in a "
                                                       "value that is not in quotes?)"),
])
def test_the_shape_of_a_times_file_is_checked_first(tmp_path, content, message):
    path = times_file(tmp_path, content)
    with pytest.raises(TableError) as raised:
        late.read_times(path)
    assert str(raised.value) == f"{path}{message}"


def test_a_file_that_is_not_utf8_or_not_there_says_so(tmp_path):
    path = times_file(tmp_path, "student,submitted_at\nzoë,2026-10-02\n", encoding="latin-1")
    with pytest.raises(TableError, match=r"times\.csv line 2: byte 0xeb is not UTF-8 text; save it from the "
                                         "spreadsheet as CSV UTF-8"):
        late.read_times(path)
    with pytest.raises(TableError, match=r"missing\.csv: cannot be read \(No such file or directory\)"):
        late.read_times(tmp_path / "missing.csv")


def test_many_problems_are_counted_beyond_the_first_ten(tmp_path):
    path = times_file(tmp_path, "student,submitted_at\n" + "".join(f"s{n},never\n" for n in range(25)))
    with pytest.raises(TableError) as raised:
        late.read_times(path)
    assert len(raised.value.problems) == 25 and str(raised.value).endswith("... and 15 more")


def test_a_record_that_spans_lines_is_placed_at_its_first_line(tmp_path):
    path = times_file(tmp_path, 'Student,ID\n"Lovelace,\nAda",1001\nTuring\n')
    table = read_table(path, required=("Student",))
    assert [(row.line, row.values) for row in table.rows] == [(2, {"Student": "Lovelace,\nAda", "ID": "1001"}),
                                                              (4, {"Student": "Turing", "ID": ""})]
    assert table.place(table.rows[1], "ID") == f"{path} line 4, column 2 (ID)"


@pytest.mark.parametrize("arguments, message", [
    (["--due", "not-a-date"], f"argument --due: 'not-a-date' {EXPECTED}"),
    (["--late-cap", "200"], "argument --late-cap: '200' is not a number from 0 to 100"),
    (["--late-percent-per-day", "nan"], "argument --late-percent-per-day: 'nan' is not a number at least 0"),
    (["--grace-minutes", "-5"], "argument --grace-minutes: '-5' is not a number at least 0"),
])
def test_the_policy_s_options_are_checked_as_they_are_read(capsys, arguments, message):
    parser = argparse.ArgumentParser(prog="grade")
    late.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(arguments)
    assert capsys.readouterr().err.strip().endswith(f"grade: error: {message}")


def test_a_valid_policy_is_read_from_its_options():
    parser = argparse.ArgumentParser()
    late.add_arguments(parser)
    policy = late.from_arguments(parser.parse_args(["--due", "2026-10-01 23:59 -07:00", "--late-cap", "50"]))
    assert policy == late.LatePolicy(DUE, 10.0, 50.0, 0.0)


@settings(max_examples=500, derandomize=True, database=None, deadline=None)
@given(st.one_of(st.text(), st.from_regex(r"20\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(:[0-5]\d(\.\d{1,12})?)? ?"
                                          r"(Z|[+-][01]\d:?[0-5]\d)?", fullmatch=True)))
def test_any_text_is_a_time_with_a_zone_or_a_value_error(text):
    try:
        parsed = late.parse_time(text)
    except ValueError:
        return
    assert isinstance(parsed, datetime) and parsed.tzinfo is not None


def test_a_header_with_spaces_and_empty_columns_from_a_spreadsheet_is_read(tmp_path):
    path = times_file(tmp_path, "student, submitted_at ,,\nalice,2026-10-02T08:00:00-07:00,,\n")
    assert late.read_times(path) == {"alice": DUE + timedelta(hours=8, minutes=1)}


def test_the_penalty_is_a_percent_of_the_points_possible_by_default_as_canvas_takes_it():
    policy = late.LatePolicy(DUE, percent_per_day=10, cap_percent=25, grace_minutes=15)
    assert policy.base == "possible"
    # 40 of 60 points: every day costs 10% of the 60 points possible, whatever the score
    assert policy.penalty(40, 60, DUE + timedelta(minutes=14)) == late.Penalty(0, 0, 0)          # within the grace
    assert policy.penalty(40, 60, DUE + timedelta(minutes=16)) == late.Penalty(1, 10, 6)         # 10% of 60 = 6
    assert policy.penalty(40, 60, DUE + timedelta(days=1, hours=1)) == late.Penalty(2, 20, 12)   # 20% of 60 = 12
    assert policy.penalty(40, 60, DUE + timedelta(days=5)) == late.Penalty(5, 25, 15)            # capped: 25% of 60
    assert policy.penalty(4, 60, DUE + timedelta(days=5)) == late.Penalty(5, 25, 4), "never more than the score"
    # hand parts still to grade (no score yet): the penalty is known all the same, as hand grading cannot change it
    assert policy.penalty(None, 60, DUE + timedelta(minutes=16)) == late.Penalty(1, 10, 6)


def test_a_penalty_of_the_score_waits_for_the_score():
    policy = late.LatePolicy(DUE, percent_per_day=10, cap_percent=25, grace_minutes=15, base="score")
    assert policy.penalty(40, 60, DUE + timedelta(minutes=16)) == late.Penalty(1, 10, 4)         # 10% of 40 = 4
    assert policy.penalty(40, 60, DUE + timedelta(days=5)) == late.Penalty(5, 25, 10)            # 25% of 40 = 10
    assert policy.penalty(None, 60, DUE + timedelta(minutes=16)) == late.Penalty(1, 10, None)    # not known yet
    assert policy.penalty(None, 60, DUE) == late.Penalty(0, 0, 0), "on time costs nothing, score or not"


def test_the_base_is_an_option_stated_with_the_policy():
    parser = argparse.ArgumentParser(prog="grade")
    late.add_arguments(parser)
    due = ["--due", "2026-10-01 23:59 -07:00"]
    assert late.from_arguments(parser.parse_args(due)).base == "possible"
    policy = late.from_arguments(parser.parse_args([*due, "--late-base", "score"]))
    assert policy.base == "score" and "10% of the score per day" in policy.describe()
    assert "10% of the points possible per day" in late.LatePolicy(DUE, 10).describe()
    with pytest.raises(SystemExit):
        parser.parse_args([*due, "--late-base", "total"])
    with pytest.raises(ValueError, match="expected one of possible, score"):
        late.LatePolicy(DUE, 10, base="total")


def test_a_policy_is_recorded_with_its_base_and_an_older_record_keeps_the_score_it_was_made_with():
    policy = late.LatePolicy(DUE, 10, 50, 5, base="possible")
    assert late.LatePolicy.from_json(policy.to_json()) == policy
    older = {key: value for key, value in policy.to_json().items() if key != "base"}  # written before the option
    assert late.LatePolicy.from_json(older).base == "score"
