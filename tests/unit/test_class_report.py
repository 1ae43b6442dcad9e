"""The class report (autograder/outputs/report.py) on small output folders written here: the grouping of
diagnostic messages, its tables, and rows or entries it cannot read. Parts and points come from the master."""
import csv
import html
import json
import re

from autograder.assignment import master
from autograder.outputs import report

COLUMNS_AFTER_PARTS = ["auto_score", "auto_max", "needs_manual_grade", "total", "max", "submitted_at", "late_days",
                       "late_penalty", "final", "reason", "review"]
BUG = ("2 of 9 cases failed; public case a batch of {n}: logistic_loss: dL_dg for a batch of {n} is wrong in {k} of "
       "{n} entries (rtol=1e-05, atol=1e-09); at index ({k}, 0) expected {expected}, got {got} (Likely cause: {cause})")


def _row(student, status="graded", lost=(), **columns):
    """A grades.csv row of the master's parts: every autograded point but those of the parts in ``lost``."""
    model = master.read()
    scores = {p.grade_id: (0 if p.grade_id in lost or p.by_hand else p.points) for p in model.parts}
    auto = sum(scores[p.grade_id] for p in model.auto)
    row = {"student": student, "name": "", "status": status, **scores, "auto_score": auto,
           "auto_max": model.auto_points, "total": auto, "max": model.auto_points + model.hand_points,
           "final": auto, "reason": "", "review": ""}
    return {**row, **columns}


def _entry(reasons=None, seconds=10.0, status="graded"):
    return {"status": status, "reasons": reasons or {}, "seconds": seconds, "review": [], "version": "v"}


def _write_out(tmp_path, rows, ledger):
    """An output folder with grades.csv and results.json as the grader writes them."""
    out = tmp_path / "out"
    out.mkdir()
    columns = ["student", "name", "status", *[p.grade_id for p in master.read().parts], *COLUMNS_AFTER_PARTS]
    with open(out / "grades.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.json").write_text(json.dumps(ledger))
    return out


def _section(page, heading):
    """The HTML of ``page`` from the <h2> ``heading`` to the next <h2>."""
    return page.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


def _rows_of(section):
    """The rows of the first table in ``section`` (HTML), as lists of unescaped cell texts."""
    return [[html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", section)[1:]]


def test_messages_of_one_bug_group_whatever_their_numbers_and_hint():
    one = BUG.format(n=7, k=3, expected=0.25, got=1.75, cause="the mean was taken twice")
    other = BUG.format(n=64, k=12, expected=-3e-05, got=-0.00192, cause="dL_dg was divided by n")
    assert report.message_kind(one) == report.message_kind(other)
    assert report.message_kind(one) != report.message_kind(one.replace("is wrong", "has the wrong shape"))


def test_the_report_counts_full_points_and_groups_the_class_bugs(tmp_path):
    part = master.read().auto[0].grade_id
    bug = {part: BUG.format(n=7, k=3, expected=0.25, got=1.75, cause="x")}
    same_bug = {part: BUG.format(n=9, k=1, expected=0.5, got=2.5, cause="y")}
    out = _write_out(tmp_path, [_row("ann"), _row("ben", lost=[part]), _row("cat", lost=[part]),
                                _row("<dan>", status="failed", reason="the notebook is not JSON")],
                     {"ann": _entry(seconds=3.0), "ben": _entry(bug, seconds=30.0), "cat": _entry(same_bug)})
    page = report.write_report(out).read_text()
    assert [part, "1/3", "33%"] in _rows_of(_section(page, "Pass rate of every test cell"))
    assert [[part, "2", bug[part], "ben, cat"]] == _rows_of(_section(page, "Most frequent diagnostic messages"))
    assert [row[0] for row in _rows_of(_section(page, "Slowest submissions"))] == ["ben", "cat", "ann"]
    assert _rows_of(_section(page, "Could not be graded")) == [["<dan>", "the notebook is not JSON"]]
    assert "<dan>" not in page, "a student id is untrusted text: escaped"
    assert "4 submissions: 3 graded, 1 with every autograded point" in page


def test_an_odd_row_or_ledger_entry_is_left_out_and_the_others_reported(tmp_path):
    part = master.read().auto[0].grade_id
    rows = [_row("ann"), _row("ben", **{part: "n/a"}), _row("cat"), _row("dan"), _row("eve")]
    ledger = {"ann": _entry(), "ben": _entry(), "cat": "graded", "dan": _entry({part: ["a", "list"]}),
              "eve": _entry(seconds="slow")}
    page = report.write_report(_write_out(tmp_path, rows, ledger)).read_text()
    left_out = dict(_rows_of(_section(page, "Left out of this report")))
    assert sorted(left_out) == ["ben", "cat", "dan", "eve"], left_out
    assert "n/a" in left_out["ben"] and "slow" in left_out["eve"]
    assert "4 submissions: 4 graded, 4 with every autograded point" in page, "ben's row is left out, not the rest"


def test_parts_still_to_grade_by_hand_are_left_out_of_the_means_not_counted_as_zero(tmp_path):
    """The issue: before any hand grading the report said "class mean 0.00" for every hand-graded part."""
    hand = [p for p in master.read().parts if p.by_hand]
    graded, waiting = hand[0], hand[1]
    blank = {p.grade_id: "" for p in hand}
    rows = [_row("ann", **{**blank, graded.grade_id: graded.points}, final=""),
            _row("ben", **{**blank, graded.grade_id: 0}, final=""), _row("cat", **blank, final="")]
    page = report.write_report(_write_out(tmp_path, rows, {s: _entry() for s in ("ann", "ben", "cat")})).read_text()
    means = {row[0]: row[1:] for row in _rows_of(_section(page, "Points per part"))}
    assert means[graded.grade_id] == [f"{graded.points / 2:.2f}", f"{graded.points:g}", "2/3"], "ann's and ben's"
    assert means[waiting.grade_id] == ["not graded yet", f"{waiting.points:g}", "0/3"]
    assert "3 graded, 3 with every autograded point, 3 with parts still to grade by hand (no final score yet)" in page


def test_the_report_states_the_late_policy_and_its_base(tmp_path):
    out = _write_out(tmp_path, [_row("ann", late_days=1)], {"ann": _entry()})
    assert "No late policy" in report.write_report(out).read_text()
    policy = {"due": "2026-10-01T23:59:00-07:00", "percent_per_day": 10, "cap_percent": 50, "grace_minutes": 0,
              "base": "possible"}
    (out / "late_policy.json").write_text(json.dumps({"policy": policy, "times": {}}))
    assert "1 late" in (page := report.write_report(out).read_text())
    assert "Late policy: due 2026-10-01T23:59:00-07:00, 10% of the points possible per day" in page
    (out / "late_policy.json").write_text(json.dumps({"policy": {**policy, "base": "score"}}))
    assert "10% of the score per day" in report.write_report(out).read_text()
    (out / "late_policy.json").write_text("{not json")
    assert "cannot be read" in report.write_report(out).read_text(), "said, and the report is written"
