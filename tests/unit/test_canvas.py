"""./kit canvas (autograder/outputs/canvas.py): a roster or grades.csv that cannot be used stops it with the
file, line and column and writes nothing; a student whose row cannot be exported gets an empty cell (Canvas
leaves their grade as it is) and a warning, and everyone else is exported. Grades not ready for Canvas (parts
still to grade by hand, students without a Canvas user id, a roster that lacks graded students) stop it too,
saying who and how to go on; --partial uploads the autograded points alone, in a column of its own."""
import csv

import pytest

from autograder.assignment import master
from autograder.outputs import canvas

AUTO = master.read().auto[0].grade_id  # an autograded part and a part graded by hand, of the master
HAND = next(part.grade_id for part in master.read().parts if part.by_hand)
GRADES = (f"student,name,canvas_id,status,{AUTO},{HAND},auto_score,auto_max,total,max,final,auto_final\n"
          "1001,lovelaceada,1001,graded,30,20,30,40,50,60,45,27\n1002,turingalan,1002,graded,30,10,30,40,40,60,40,30\n"
          "1003,hopper,1003,error,,,0,40,0,60,0,0\n")
ROSTER = ("Student,ID,SIS User ID,SIS Login ID,Section,hw2 (77)\n    Points Possible,,,,,60\n"
          "\"Lovelace, Ada\",1001,s1,ada,Mon,\n\"Turing, Alan\",1002,s2,alan,Tue,\n\"@Hopper, Grace\",1003,s3,grace,Tue,\n")


def out_folder(tmp_path, grades=GRADES, roster=ROSTER):
    (tmp_path / "grades.csv").write_text(grades)
    (tmp_path / "roster.csv").write_text(roster)
    return tmp_path


def exported(tmp_path):
    with open(tmp_path / "canvas.csv", newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_a_roster_row_without_its_id_names_its_line_and_nothing_is_written(tmp_path, capsys):
    """The issue: a roster row with missing columns crashed ./kit canvas with None.strip()."""
    out = out_folder(tmp_path, roster=ROSTER + "Bob\n")
    (out / "canvas.csv").write_text("the previous export\n")
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--roster", str(out / "roster.csv")])
    assert capsys.readouterr().err.strip().endswith(
        f"error: {out / 'roster.csv'} line 6: 1 field, no ID (column 2); expected 6 fields as in the header")
    assert (out / "canvas.csv").read_text() == "the previous export\n"


@pytest.mark.parametrize("grades, roster, message", [
    (GRADES.replace("final,", "score,"), ROSTER, "grades.csv line 1: needs the columns student and status and max and "
                                                 "final; it has no final"),
    (GRADES, ROSTER.replace("1003,s3", "1002,s3"), "roster.csv line 5, column 2 (ID): '1002' is also on line 4"),
    (GRADES + "1001,again,1001,graded,1,0,1,40,1,60,1,1\n", ROSTER, "grades.csv line 5, column 1 (student): '1001' is also on line 2"),
    (GRADES.replace("50,60,45", "50,sixty,45"), ROSTER, "grades.csv line 2, column 10 (max): 'sixty' is not a "
                                                        "number"),
])
def test_files_canvas_would_get_wrong_data_from_stop_the_export(tmp_path, capsys, grades, roster, message):
    out = out_folder(tmp_path, grades, roster)
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--roster", str(out / "roster.csv")])
    assert message in capsys.readouterr().err
    assert not (out / "canvas.csv").exists()


def test_a_score_that_is_not_a_number_costs_only_that_student_s_cell(tmp_path, capsys):
    out = out_folder(tmp_path, grades=GRADES.replace("40,60,40,30", "40,60,=1+1,30"))
    canvas.main([str(out), "--roster", str(out / "roster.csv"), "--assignment", "hw2 (77)"])
    assert exported(out)[2:] == [["Lovelace, Ada", "1001", "s1", "ada", "Mon", "45"],
                                 ["Turing, Alan", "1002", "s2", "alan", "Tue", ""],
                                 ["'@Hopper, Grace", "1003", "s3", "grace", "Tue", ""]]
    assert capsys.readouterr().err == (f"WARNING: 1002: left without a score: {out / 'grades.csv'} line 3, column 11 "
                                       "(final): '=1+1' is not a number\n")


def test_an_unexpected_failure_for_one_student_is_recorded_against_that_student(tmp_path, monkeypatch):
    score = canvas._score

    def fails_for_turing(table, row, column):
        if row.values["student"] == "1002":
            raise KeyError("something nobody foresaw")
        return score(table, row, column)

    monkeypatch.setattr(canvas, "_score", fails_for_turing)
    export = canvas.read_export(out_folder(tmp_path), tmp_path / "roster.csv")
    assert [(row["ID"], row["score"]) for row in export.rows] == [("1001", 45), ("1002", ""), ("1003", "")]
    assert export.problems == ["1002: left without a score (the export failed: KeyError: 'something nobody foresaw')"]


def test_without_a_roster_every_student_is_exported_by_canvas_user_id(tmp_path):
    out = out_folder(tmp_path, grades=GRADES + "=cmd,\"=cmd|' /C calc'!A0\",1004,graded,2,1,2,40,29.62,60,29.62,2\n")
    path, unknown = canvas.write_canvas_csv(out)
    assert unknown == [] and exported(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2"], ["    Points Possible", "", "", "", "", "60"],
        ["lovelaceada", "1001", "", "", "", "45"], ["turingalan", "1002", "", "", "", "40"],
        ["hopper", "1003", "", "", "", ""], ["'=cmd|' /C calc'!A0", "1004", "", "", "", "29.62"]]


def test_students_without_a_canvas_user_id_stop_the_export_without_a_roster(tmp_path, capsys):
    """The issue: without a roster the ID column held the folder name, which Canvas cannot match."""
    out = out_folder(tmp_path, grades=GRADES.replace("1001,lovelaceada,1001,", "1001,lovelaceada,,")
                     .replace("1003,hopper,1003", "1003,hopper,"))  # e.g. from folders named so
    with pytest.raises(SystemExit) as stopped:
        canvas.main([str(out)])
    error = capsys.readouterr().err
    assert stopped.value.code != 0 and "no Canvas user id for 1001, 1003" in error and "--roster" in error, error
    assert not (out / "canvas.csv").exists()
    canvas.main([str(out), "--roster", str(out / "roster.csv")])  # the roster has the ids: how to go on
    assert exported(out)[3] == ["Turing, Alan", "1002", "s2", "alan", "Tue", "40"]


def test_a_roster_that_has_none_of_the_graded_students_stops_the_export(tmp_path, capsys):
    """The issue: a roster that matched nobody gave an empty column and exit 0."""
    out = out_folder(tmp_path, grades=GRADES.replace("1001,", "alice,", 1).replace("1002,", "bob,", 1))
    for options in ([], ["--skip-unmatched"]):
        with pytest.raises(SystemExit) as stopped:
            canvas.main([str(out), "--roster", str(out / "roster.csv"), *options])
        error = capsys.readouterr().err
        assert stopped.value.code != 0 and "has none of the 2 graded students (its IDs: 1001, 1002, 1003; " \
            "grades.csv's: alice, bob)" in error, error
    assert not (out / "canvas.csv").exists()


def test_graded_students_the_roster_lacks_stop_the_export_unless_left_out_on_purpose(tmp_path, capsys):
    out = out_folder(tmp_path, roster=ROSTER.replace("\"Turing, Alan\",1002,s2,alan,Tue,\n", ""))
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--roster", str(out / "roster.csv")])
    error = capsys.readouterr().err
    assert "lacks graded students: 1002" in error and "--skip-unmatched" in error, error
    assert not (out / "canvas.csv").exists()
    canvas.main([str(out), "--roster", str(out / "roster.csv"), "--skip-unmatched"])
    assert "not in the roster, left out: 1002" in capsys.readouterr().out
    assert [row[1] for row in exported(out)[2:]] == ["1001", "1003"]


def test_parts_still_to_grade_by_hand_stop_the_export_naming_students_and_parts(tmp_path, capsys):
    """The issue: before any hand grading ./kit canvas wrote alice's autograded points as her grade."""
    out = out_folder(tmp_path, grades=GRADES.replace(",20,30,40,50,60,45,", ",,30,40,30,60,,")
                     .replace(",10,30,40,40,60,40,", ",,30,40,30,60,,"))
    for options in ([], ["--score", "total"]):
        with pytest.raises(SystemExit) as stopped:
            canvas.main([str(out), "--roster", str(out / "roster.csv"), *options])
        error = capsys.readouterr().err
        assert stopped.value.code != 0 and f"parts still to grade by hand (1001, 1002: {HAND})" in error, error
        assert f"./kit formgrade {out}" in error and "--partial" in error, error
        assert not (out / "canvas.csv").exists()


def test_partial_exports_the_autograded_points_in_a_column_of_their_own(tmp_path, capsys):
    out = out_folder(tmp_path, grades=GRADES.replace(",10,30,40,40,60,40,", ",,30,40,30,60,,"))
    canvas.main([str(out), "--roster", str(out / "roster.csv"), "--assignment", "hw2 (77)", "--partial"])
    assert "'hw2 (autograded only)' holds the autograded points alone" in capsys.readouterr().out
    rows = exported(out)
    assert rows[:2] == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2 (autograded only)"],
                        ["    Points Possible", "", "", "", "", "40"]]  # the autograded points possible
    assert [row[-1] for row in rows[2:]] == ["27", "30", ""]  # auto_final: after the late penalty
    canvas.main([str(out), "--roster", str(out / "roster.csv"), "--partial", "--score", "total"])
    assert [row[-1] for row in exported(out)[2:]] == ["30", "30", ""]  # auto_score: before it


@pytest.mark.parametrize("assignment, column", [
    ("hw2 (1234)", "hw2 (autograded only)"), ("hw2", "hw2 (autograded only)"),
    ("Week 2 (draft)", "Week 2 (draft) (autograded only)"), ("hw (2) (1234)", "hw (2) (autograded only)")])
def test_the_partial_column_is_a_title_canvas_never_reads_as_the_assignment_s_id(assignment, column):
    """Canvas's importer takes an id only from "(digits)" at the end of a column's name, else a title."""
    assert canvas.partial_column(assignment) == column
    assert not canvas.CANVAS_ID_AT_END.match(column)


def test_the_assignment_column_cannot_take_a_column_canvas_has(tmp_path, capsys):
    out = out_folder(tmp_path)
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--assignment", "ID"])
    assert "--assignment 'ID' is one of Canvas's own columns" in capsys.readouterr().err
