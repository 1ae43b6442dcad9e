"""The class report: one HTML page (and its PNGs) an instructor reads after grading.

    python -m autograder.outputs.report OUT      # (re)writes OUT/report/index.html from OUT/grades.csv and results.json

Sections: score histograms, points per part, the pass rate of every test cell, the most frequent
diagnostic messages (which bugs the class made, and who), the slowest submissions, and the lists of
submissions flagged for review and of those that could not be graded, the count of late submissions
and the late policy in force (OUT/late_policy.json, with the base of its penalty), and the pairs of
similar solutions (OUT/similarity.json, autograder/outputs/similarity.py). Student ids, messages and
code are untrusted text: everything is escaped. A row of grades.csv or an entry of results.json that is
not as the grader writes it (a hand edit, a file of another version) is left out of the statistics and
listed; it never stops the report. A part still to grade by hand (blank in grades.csv) is left out of
its mean, never counted as 0.
"""
import argparse
import csv
import html
import json
import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from autograder.assignment import master  # noqa: E402
from autograder.intake import late  # noqa: E402
from autograder.outputs import similarity  # noqa: E402

GRADED = ("graded", "partial")
STYLE = """body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}.num{text-align:right}"""


def _number(value):
    """A grades.csv cell as a float ('' and a missing cell are 0); ValueError when it is not a number."""
    return float(value or 0)


def _unreadable_row(row, parts):
    """Why the report cannot use a grades.csv row ({column: str}), or '' when it can."""
    if not isinstance(row.get("status"), str):
        return "grades.csv: no status"
    for column in ("auto_score", "auto_max", "total", "max", "late_days", *(name for name, _, _ in parts)):
        try:
            _number(row.get(column))
        except (TypeError, ValueError):
            return f"grades.csv: {column} is {row.get(column)!r}, not a number"
    return ""


def _unreadable_entry(entry):
    """Why the report cannot use an entry of results.json, or '' when it can."""
    if not isinstance(entry, dict):
        return f"results.json: the entry is a {type(entry).__name__}, not a mapping"
    reasons = entry.get("reasons", {})
    if not isinstance(reasons, dict) or not all(isinstance(why, str) for why in reasons.values()):
        return "results.json: its reasons are not messages by cell"
    seconds = entry.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))):
        return f"results.json: its seconds are {seconds!r}, not a number"
    return ""


def _read(out):
    """(rows of grades.csv, {student: entry} of results.json, [(student, why)] of the rows and entries
    left out because the report cannot read them)."""
    with open(out / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    ledger = json.loads((out / "results.json").read_text())
    parts = _parts(rows)
    row_problems = [(row, _unreadable_row(row, parts)) for row in rows]
    entry_problems = [(student, entry, _unreadable_entry(entry)) for student, entry in ledger.items()]
    odd = [(str(row.get("student")), why) for row, why in row_problems if why] + [
        (student, why) for student, _, why in entry_problems if why]
    rows = [row for row, why in row_problems if not why]
    ledger = {student: entry for student, entry, why in entry_problems if not why}
    stamp = out / "course" / "master_version"  # what the course was made from (autograder/classrun/grade.py)
    if stamp.exists():  # a regrade that was interrupted leaves entries of another master: not mixed in
        ledger = {student: entry for student, entry in ledger.items()
                  if entry.get("version") == stamp.read_text().strip()}
    return rows, ledger, odd


def _parts(rows):
    """Graded parts in notebook order: (grade id, maximum, automatic?) from the master (a part of grades.csv
    that the master no longer has is left out)."""
    present = set(rows[0]) if rows else set()
    return [(part.grade_id, part.points, not part.by_hand) for part in master.read().parts if part.grade_id in present]


def message_kind(message):
    """A diagnostic message with its numbers and quoted values blanked, so that the same bug groups."""
    text = re.sub(r"\(Likely cause: .*?\)$|\bLikely cause: .*$", "", message)  # one bug, whichever hint it got
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "(…)", text)
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", text).strip()[:240]


def _histogram(rows, path):
    figure, axes = plt.subplots(figsize=(7, 3.5))
    graded = [r for r in rows if r["status"] in GRADED]
    maximum = _number(graded[0]["max"]) if graded else 60
    bins = range(0, int(maximum) + 2)
    if graded:
        axes.hist([[_number(r["auto_score"]) for r in graded], [_number(r["total"]) for r in graded]], bins=bins,
                  label=["autograded points", "total so far (auto + manual)"])
        axes.legend()
    else:  # an empty histogram would draw axes around nothing, from -0.04 to 0.04
        axes.set(xlim=(0, maximum), ylim=(0, 1))
        axes.text(maximum / 2, 0.5, "no graded submission yet", ha="center", va="center")
    axes.set(title=f"Scores of {len(graded)} graded submissions", xlabel="points", ylabel="students")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _part_means(graded, parts):
    """{grade id: (class mean or None, maximum, how many of ``graded`` have it graded)} over the rows of
    ``graded`` whose cell of the part is not blank (a part still to grade by hand is not a 0)."""
    means = {}
    for name, maximum, _ in parts:
        scores = [_number(r.get(name)) for r in graded if (r.get(name) or "").strip()]
        means[name] = (sum(scores) / len(scores) if scores else None, maximum, len(scores))
    return means


def _policy(out):
    """The late policy in force for ``out``: one sentence for the report."""
    path = out / late.RECORD_FILE
    try:
        recorded = json.loads(path.read_text())["policy"] if path.exists() else None
        return f"Late policy: {html.escape(late.LatePolicy.from_json(recorded).describe())}." if recorded else \
            "No late policy: nothing is late."
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"The late policy in {html.escape(str(path))} cannot be read ({html.escape(str(error))})."


def _parts_chart(means, path):
    figure, axes = plt.subplots(figsize=(8, 0.32 * len(means) + 1.2))
    names = list(means)
    axes.barh(names, [means[n][1] for n in names], color="#ddd", label="maximum")
    axes.barh(names, [means[n][0] or 0 for n in names], color="#4878a8", label="class mean (of those graded)")
    axes.invert_yaxis()
    axes.set(title="Points per part: class mean against maximum", xlabel="points", ylabel="graded cell")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _table(header, rows, numeric=()):
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class=\"num\">{html.escape(str(v))}</td>" if i in numeric else
                                    f"<td>{html.escape(str(v))}</td>" for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>" if rows else "<p>None.</p>"


def write_report(out):
    """Write OUT/report/index.html and its PNGs from OUT's grades.csv and results.json; return the page."""
    out = Path(out)
    rows, ledger, odd = _read(out)
    folder = out / "report"
    folder.mkdir(exist_ok=True)
    graded = [r for r in rows if r["status"] in GRADED]
    parts = _parts(rows)
    means = _part_means(graded, parts)
    pass_rates = [(name, sum(_number(r.get(name)) >= maximum for r in graded), len(graded))
                  for name, maximum, automatic in parts if automatic]
    messages = defaultdict(list)
    for student, entry in sorted(ledger.items()):
        for grade_id, message in entry.get("reasons", {}).items():
            messages[(grade_id, message_kind(message))].append((student, message))
    frequent = sorted(messages.items(), key=lambda item: -len(item[1]))[:15]
    slowest = sorted((e for e in ledger.items() if e[1].get("seconds")), key=lambda e: -e[1]["seconds"])[:10]
    flagged = [(r["student"], r.get("review", "")) for r in rows if r.get("review")]
    failed = [(r["student"], r.get("reason", "")) for r in rows if r["status"] not in GRADED]
    pairs = similarity.read_pairs(out)
    _histogram(rows, folder / "scores.png")
    _parts_chart(means, folder / "parts.png")

    passed = sum(_number(r["auto_score"]) >= _number(r["auto_max"]) for r in graded)
    late_rows = [r for r in rows if _number(r.get("late_days")) > 0]
    waiting = [r for r in graded if not (r.get("final") or "").strip()]
    sections = [
        f"<h1>hw2: class report</h1><p>{len(rows)} submissions: {len(graded)} graded, "
        f"{passed} with every autograded point, {len(waiting)} with parts still to grade by hand (no final score "
        f"yet), {len(late_rows)} late (penalty in the column <code>final</code>), "
        f"{len(flagged)} flagged for review, {len(failed)} could not be graded. Details per student: <code>grades.csv</code>; feedback: <code>feedback/</code>.</p>"
        f"<p>{_policy(out)}</p>",
        "<h2>Scores</h2><img src=\"scores.png\" alt=\"histogram of scores\">",
        "<h2>Points per part</h2><img src=\"parts.png\" alt=\"class mean points per part\"><p>The mean of the "
        "students graded on the part: parts still to grade by hand are left out.</p>" + _table(
            ["part", "class mean", "maximum", "graded"],
            [(n, "not graded yet" if m is None else f"{m:.2f}", f"{x:g}", f"{k}/{len(graded)}")
             for n, (m, x, k) in means.items()], (1, 2, 3)),
        "<h2>Pass rate of every test cell</h2>" + _table(
            ["test cell", "full points", "pass rate"],
            [(n, f"{k}/{t}", f"{100 * k / t:.0f}%" if t else "-") for n, k, t in pass_rates], (1, 2)),
        "<h2>Most frequent diagnostic messages</h2><p>Which bugs the class made: messages of failed cells, "
        "grouped with their numbers blanked.</p>" + _table(
            ["cell", "students", "message (first seen)", "who"],
            [(g, len(s), s[0][1], ", ".join(x for x, _ in s)) for (g, _), s in frequent], (1,)),
        "<h2>Slowest submissions</h2>" + _table(
            ["student", "seconds", "status"], [(s, f"{e['seconds']:.1f}", e.get("status", "")) for s, e in slowest],
            (1,)),
        "<h2>Flagged for review</h2><p>Signs of tampering (SECURITY.md): they earned nothing by it, but "
        "deserve a look.</p>" + _table(["student", "why"], flagged),
        "<h2>Could not be graded</h2>" + _table(["student", "reason"], failed),
        "<h2>Left out of this report</h2><p>Rows of grades.csv and entries of results.json that are not as the "
        "grader writes them.</p>" + _table(["student", "why"], odd),
        "<h2>Similar solutions</h2><p>Pairs whose solution cells share much code (copydetect's winnowing, "
        "variable names filtered out, the released skeleton ignored): a lead for a person to read, no grade "
        "changes.</p>" + (similarity.pairs_html(pairs) if pairs is not None else "<p>Not computed (run ./kit grade, "
                          "or python -m autograder.outputs.similarity).</p>")
        + similarity.left_out_html(similarity.read_left_out(out)),
    ]
    page = folder / "index.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>hw2 class report</title>"
                    f"<style>{STYLE}</style></head><body>{''.join(sections)}</body></html>")
    return page


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the grader's output folder (holds grades.csv and results.json)")
    print(write_report(parser.parse_args(argv).out))


if __name__ == "__main__":
    main()
