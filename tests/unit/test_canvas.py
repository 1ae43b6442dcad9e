"""./kit canvas (autograder/outputs/canvas.py): a roster or grades.csv that cannot be used stops it with the
file, line and column and writes nothing; a student whose row cannot be exported gets an empty cell (Canvas
leaves their grade as it is) and a warning, and everyone else is exported."""
import csv

import pytest

from autograder.outputs import canvas

GRADES = ("student,name,status,total,max,final\n1001,lovelaceada,graded,50,60,45\n1002,turingalan,graded,40,60,40\n"
          "1003,hopper,error,0,60,0\n")
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
    (GRADES.replace("final", "score"), ROSTER, "grades.csv line 1: needs the columns student and status and max and "
                                               "final; it has no final"),
    (GRADES, ROSTER.replace("1003,s3", "1002,s3"), "roster.csv line 5, column 2 (ID): '1002' is also on line 4"),
    (GRADES + "1001,again,graded,1,60,1\n", ROSTER, "grades.csv line 5, column 1 (student): '1001' is also on line 2"),
    (GRADES.replace("graded,50,60", "graded,50,sixty"), ROSTER, "grades.csv line 2, column 5 (max): 'sixty' is not a "
                                                                "number"),
])
def test_files_canvas_would_get_wrong_data_from_stop_the_export(tmp_path, capsys, grades, roster, message):
    out = out_folder(tmp_path, grades, roster)
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--roster", str(out / "roster.csv")])
    assert message in capsys.readouterr().err
    assert not (out / "canvas.csv").exists()


def test_a_score_that_is_not_a_number_costs_only_that_student_s_cell(tmp_path, capsys):
    out = out_folder(tmp_path, grades=GRADES.replace("graded,40,60,40", "graded,40,60,=1+1"))
    canvas.main([str(out), "--roster", str(out / "roster.csv"), "--assignment", "hw2 (77)"])
    assert exported(out)[2:] == [["Lovelace, Ada", "1001", "s1", "ada", "Mon", "45"],
                                 ["Turing, Alan", "1002", "s2", "alan", "Tue", ""],
                                 ["'@Hopper, Grace", "1003", "s3", "grace", "Tue", ""]]
    assert capsys.readouterr().err == (f"WARNING: 1002: left without a score: {out / 'grades.csv'} line 3, column 6 "
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


def test_without_a_roster_every_graded_student_is_exported_by_id(tmp_path):
    out = out_folder(tmp_path, grades=GRADES + "=cmd,\"=cmd|' /C calc'!A0\",graded,29.62,60,29.62\n")
    path, unknown = canvas.write_canvas_csv(out)
    assert unknown == [] and exported(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw2"], ["    Points Possible", "", "", "", "", "60"],
        ["lovelaceada", "1001", "", "", "", "45"], ["turingalan", "1002", "", "", "", "40"],
        ["hopper", "1003", "", "", "", ""], ["'=cmd|' /C calc'!A0", "'=cmd", "", "", "", "29.62"]]


def test_the_assignment_column_cannot_take_a_column_canvas_has(tmp_path, capsys):
    out = out_folder(tmp_path)
    with pytest.raises(SystemExit):
        canvas.main([str(out), "--assignment", "ID"])
    assert "--assignment 'ID' is one of Canvas's own columns" in capsys.readouterr().err
