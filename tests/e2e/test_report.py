"""The class report (autograder/outputs/report.py): what an instructor reads after grading."""
import csv
import json

import pytest

from autograder.assignment import master
from autograder.outputs import report

SECTIONS = ["Scores", "Points per part", "Pass rate of every test cell", "Most frequent diagnostic messages",
            "Slowest submissions", "Flagged for review", "Could not be graded", "Similar solutions"]


def _section(page, title):
    return page.split(f"<h2>{title}</h2>", 1)[1].split("<h2>", 1)[0]


def _write_grades_csv(folder, row, part_score):
    """A grades.csv of one student: ``row`` and ``part_score`` in every graded part of the master."""
    model = master.read()
    parts = [part.grade_id for part in model.parts]
    with open(folder / "grades.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, ["student", "status", *parts, "auto_score", "auto_max", "total", "max",
                                       "reason", "review"])
        writer.writeheader()
        writer.writerow({**{p: part_score for p in parts}, "auto_max": model.auto_points,
                         "max": model.auto_points + model.hand_points, **row})


@pytest.mark.xdist_group("attack_batch")  # on the worker that builds it: the other goes on meanwhile
def test_report_of_a_graded_batch(attack_batch):
    page = report.write_report(attack_batch.out).read_text()
    missing = [title for title in SECTIONS if f"<h2>{title}</h2>" not in page]
    assert not missing, f"the report lacks the sections {missing}"
    flagged = {name for name, row in attack_batch.rows.items() if row["review"]}
    shown = _section(page, "Flagged for review")
    assert flagged and all(f"<td>{name}</td>" in shown for name in flagged), (
        f"flagged students missing from the report: {[n for n in flagged if n not in shown]}")
    # the score attacks all return zeros from flatten_images: one message, many students
    same_bug = [n for n, r in attack_batch.rows.items() if "the result for three random (28, 28) images is wrong" in r["reason"]]
    messages = _section(page, "Most frequent diagnostic messages")
    assert f'<td class="num">{len(same_bug)}</td>' in messages and len(same_bug) >= 5, (
        f"{len(same_bug)} students share the flatten_images message; the report should count them together")
    for image in ["scores.png", "parts.png"]:
        data = (attack_batch.out / "report" / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, f"{image} is not a real plot"


def test_report_escapes_student_text(tmp_path):
    hostile = "<script>alert(1)</script>"
    _write_grades_csv(tmp_path, {"student": hostile, "status": "graded", "auto_score": 0, "total": 0, "reason": "x",
                                 "review": "<img src=x onerror=1>"}, 0)
    (tmp_path / "results.json").write_text(json.dumps({hostile: {
        "status": "graded", "seconds": 1.0, "review": ["<img src=x onerror=1>"],
        "reasons": {"test_flatten_images": "CheckFailed: <b>bold</b>"}}}))
    page = report.write_report(tmp_path).read_text()
    assert hostile not in page and "<img src=x" not in page and "<b>bold" not in page, (
        "student ids and messages must be escaped in the report")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_batch_with_nothing_graded_says_so(tmp_path, monkeypatch):
    """Only error rows: the histogram says there is nothing to show instead of axes around nothing."""
    shown = []
    monkeypatch.setattr(report.plt.Axes, "text", lambda self, x, y, text, **kw: shown.append(text))
    _write_grades_csv(tmp_path, {"student": "carol", "status": "error", "auto_score": "", "total": "",
                                 "reason": "not valid notebook JSON", "review": ""}, "")
    (tmp_path / "results.json").write_text(json.dumps({"carol": {"status": "error", "reason": "not valid JSON"}}))
    report.write_report(tmp_path)
    assert "no graded submission yet" in shown, shown
    assert (tmp_path / "report" / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
