"""A Gradescope autograder built from the same master, grading with the same pipeline.

    python -m autograder.lms.gradescope build [--out hw2_gradescope.zip]   # ./kit gradescope: the zip to upload
    python -m autograder.lms.gradescope run --root /autograder              # what run_autograder does

The zip holds Gradescope's ``setup.sh`` and ``run_autograder`` and the grader's files (this package with
the hidden reference, the master, the student files). ``run`` grades the one notebook in
ROOT/submission with the grading core (autograder.grading.core.grade, the function ``./kit grade``'s
workers call: the same public and hidden cases, nbgrader, the sandbox in the strongest tier the container allows:
the container tier under Docker's default capabilities, see SECURITY.md;
no class course) and writes ROOT/results/results.json in Gradescope's format:
two tests per autograded cell, its public cases (visible) and its hidden cases (after_published),
each worth its share of the cell's points (adding up to the cell's score in ./kit grade), with the checks'
messages as output, and the total as ``score``; the top-level output, which students see at once, gives the
public cases' points only. The review notes (signs of tampering) go in a test hidden from the student. Written answers and plots are left to
Gradescope's own hand grading.

With a late policy (``build --late``: the rate, cap, grace and base of ``./kit grade``'s late options, carried in
the zip as late_policy.json), a late submission loses what ``./kit grade`` takes off its ``auto_final``: the due
date is Gradescope's own (the student's extension first), the time the submission's, both from
ROOT/submission_metadata.json.
"""
import argparse
import json
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.assignment import master, release
from autograder.grading import core, environment
from autograder.grading.core import NOT_SUBMITTED
from autograder.grading.options import GradingOptions
from autograder.grading.verdict import CellVerdict
from autograder.intake import collect, late
from autograder.sandbox import kernel_launcher, kernel_user

# what the zip carries besides setup.sh and run_autograder (paths in this repository)
GRADER_FILES = ["autograder", "hw2.py", "hw2_checks.py", "data", "solutions/master.ipynb", "assignment.ipynb",
                "generated/hidden_reference.pkl", "generated/releases.json", "requirements.txt"]
SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source, when it builds the autograder's image.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install -r /autograder/source/requirements.txt
"""
RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; AUTOGRADER_ROOT and PYTHON let a test run it elsewhere.
set -euo pipefail
ROOT=${AUTOGRADER_ROOT:-/autograder}
cd "$ROOT/source"
exec "${PYTHON:-/autograder/venv/bin/python}" -m autograder.lms.gradescope run --root "$ROOT"
"""
VISIBILITY = {"public": "visible", "hidden": "after_published"}
LATE_RATES = "late_policy.json"  # in the zip: the late policy but its due date, which Gradescope's metadata gives
METADATA = "submission_metadata.json"  # in ROOT: Gradescope's submission time and due dates


def build(out, late_rates=None):
    """Write the autograder zip to ``out``; return its path. ``late_rates``: a late policy but its due date
    (dict: percent_per_day, cap_percent, grace_minutes, base), or None for no late penalty."""
    out = Path(out)
    tracked = set(subprocess.run(["git", "ls-files"], cwd=release.REPO, capture_output=True, text=True,
                                 check=True).stdout.splitlines())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in [("setup.sh", SETUP), ("run_autograder", RUN_AUTOGRADER)]:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable
            zipped.writestr(info, text)
        for name in sorted(tracked):
            if any(name == entry or name.startswith(entry + "/") for entry in GRADER_FILES):
                zipped.write(release.REPO / name, name)
        if late_rates:
            zipped.writestr(LATE_RATES, json.dumps(late_rates, indent=1))
    return out


def late_policy(rates, metadata):
    """(the LatePolicy, the submission time) of a submission, from the zip's ``rates`` (dict, as build takes
    them) and Gradescope's ``metadata`` (its submission_metadata.json as a dict): the due date is the latest
    of the submitters' own (an extension), else the assignment's. ValueError when the metadata lacks a time."""
    assignment = metadata.get("assignment") or {}
    own = [user["assignment"]["due_date"] for user in metadata.get("users") or []
           if isinstance(user, dict) and (user.get("assignment") or {}).get("due_date")]
    due = max(map(late.parse_time, own)) if own else late.parse_time(assignment["due_date"])
    policy = late.LatePolicy(due, rates["percent_per_day"], rates["cap_percent"], rates["grace_minutes"],
                             rates["base"])
    return policy, late.parse_time(metadata["created_at"])


def with_late_penalty(output, policy, submitted_at):
    """results.json ``output`` with the late penalty of ``policy`` (intake.late.LatePolicy) for a submission
    at ``submitted_at`` taken off its score, as ./kit grade's auto_final: a test hidden until publication holds
    the points (they depend on the hidden cases when the score caps them); the output students see at once
    says the days and the percent only."""
    possible = master.read().auto_points
    penalty = policy.penalty(output["score"], possible, submitted_at)
    if not penalty.days:
        return output
    output["tests"].append({"name": "late penalty", "score": -penalty.points, "max_score": 0.0,
                            "visibility": "after_published",
                            "output": f"Submitted {penalty.days} day(s) late (due {policy.due.isoformat()}): "
                                      f"{penalty.percent:g}% of {late.BASES[policy.base]}, {penalty.points:g} points"})
    output["score"] = round(output["score"] - penalty.points, 2)
    output["output"] += (f" Submitted {penalty.days} day(s) after the due date: {penalty.percent:g}% of "
                         f"{late.BASES[policy.base]} comes off the autograded score.")
    return output


def tests_of(verdicts, missing, reasons):
    """Gradescope's tests for the autograded cells: public and hidden cases apart, each with its share
    of the cell's points (the two add up to the cell's score in ./kit grade exactly: CellVerdict.score).
    verdicts: {grade_id: CellVerdict as a dict}; missing: {grade_id: [cells]}; reasons: {grade_id: why
    it lost points}."""
    tests = []
    for part in master.read().auto:
        number = f"{part.grade_id}"
        if part.grade_id not in verdicts:
            tests.append({"name": f"{part.grade_id}", "number": number, "score": 0.0, "max_score": part.points,
                          "visibility": "visible", "output": reasons.get(part.grade_id, "the cell did not run")})
            continue
        verdict = CellVerdict(**verdicts[part.grade_id])
        for kind in ("public", "hidden"):
            cases = [case for case in verdict.cases if case.part == kind]
            if not cases:
                continue
            lines = [f"{'passed' if case.failure is None else 'FAILED'}: {case.description}" +
                     (f"\n{case.failure}" if case.failure else "") for case in cases]
            if part.grade_id in missing:
                lines.insert(0, NOT_SUBMITTED.format(cells=", ".join(map(repr, missing[part.grade_id]))))
            if verdict.stopped or verdict.required_failed:
                lines.insert(0, f"The cell earns no points: {verdict.stopped or verdict.required_failed}")
            if verdict.cause and kind == "hidden":  # it counts other cells' hidden cases too
                lines.insert(0, verdict.cause[0].upper() + verdict.cause[1:] + ".")
            tests.append({"name": f"{part.grade_id} ({kind} cases)", "number": number,
                          "score": verdict.score(part.points, kind),
                          "max_score": _share(part.points, verdict, kind), "visibility": VISIBILITY[kind],
                          "output": "\n".join(lines)})
    return tests


def _share(points, verdict, kind):
    """The points of ``verdict``'s cases of ``kind`` out of the cell's ``points``, rounded as scores are; the
    hidden cases take the remainder."""
    public = round(points * sum(case.part == "public" for case in verdict.cases) / len(verdict.cases), 2)
    return public if kind == "public" else round(points - public, 2)


def results(bundle, seconds):
    """Gradescope's results.json for ``bundle`` (the grading core's ResultBundle) graded in ``seconds``: the
    total ("score") is ./kit grade's autograded score; what students see before grades are published (the
    top-level output and the visible tests) holds the public cases' points only, never the hidden cases'."""
    model = master.read()
    if not bundle.success:
        return {"score": 0.0, "execution_time": round(seconds), "tests": [],
                "output": f"This notebook could not be graded: {bundle.error}"}
    tests = tests_of(bundle.verdicts, bundle.missing, bundle.reasons)
    if bundle.review:  # for the instructor only
        tests.append({"name": "review: signs of tampering", "score": 0.0, "max_score": 0.0, "visibility": "hidden",
                      "output": "\n".join(bundle.review)})
    visible = [test for test in tests if test["visibility"] == "visible"]
    hidden_points = sum(test["max_score"] for test in tests if test["visibility"] == "after_published")
    return {"score": round(sum(test["score"] for test in tests), 2), "execution_time": round(seconds), "tests": tests,
            "output": f"Public cases: {sum(t['score'] for t in visible):.4g} of {sum(t['max_score'] for t in visible):.4g} "
                      f"points. The hidden cases ({hidden_points:.4g} points) count too, and show after grades are "
                      f"published. Written answers and plots ({model.hand_points:g} points) are graded by hand."}


def run(root):
    """Grade ROOT/submission with the grading core and write ROOT/results/results.json."""
    root = Path(root)
    started = time.perf_counter()
    (root / "results").mkdir(parents=True, exist_ok=True)
    tier = kernel_launcher.sandbox_tier()
    print(kernel_launcher.TIER_LINES[tier], flush=True)
    problem = _close_to_kernels(root) if tier == "container" else None
    with tempfile.TemporaryDirectory() as work:  # 0700: closed to the kernel's user
        work = Path(work)
        submission = collect.check(collect.from_folder("student", root / "submission"), root / "submission")
        problem = problem or submission.problem
        if not problem:
            grading = GradingOptions(tier=tier).for_workers(1)
            environment.isolate_grading_process(grading)  # as the class run's workers are
            bundle = core.grade(submission.path.read_bytes(), "student", environment.prepare(work, grading), grading,
                                work / "student")
            output = results(bundle, time.perf_counter() - started)
            if bundle.success and (root / "source" / LATE_RATES).exists():
                try:
                    policy, submitted_at = late_policy(json.loads((root / "source" / LATE_RATES).read_text()),
                                                       json.loads((root / METADATA).read_text()))
                except (OSError, ValueError, KeyError, TypeError) as error:  # no metadata, no due date
                    print(f"late penalty: none taken, {METADATA} gives no due date and time "
                          f"({type(error).__name__}: {error})", flush=True)
                else:
                    output = with_late_penalty(output, policy, submitted_at)
        else:
            output = {"score": 0.0, "execution_time": round(time.perf_counter() - started), "tests": [],
                      "output": f"This submission could not be graded: {problem}"}
    (root / "results" / "results.json").write_text(json.dumps(output, indent=1))
    return output


def _close_to_kernels(root):
    """The container tier: ROOT/source (the grader, the master, the hidden reference) and ROOT/results
    made 0700 root, ROOT passable (o+x, so that a Python installation under it, /autograder/venv, can be
    run); why grading cannot go on safely (str), or None."""
    for folder in [root / "source", root / "results"]:
        folder.chmod(0o700)
    root.chmod(root.stat().st_mode | 0o001)
    unreadable = kernel_user.unreadable_python()
    if unreadable:
        return f"the autograder's Python installation is not readable by the kernel's user ({', '.join(unreadable)})"
    exposed = kernel_user.readable_by_kernel_user([root / "source", root / "results", release.MASTER,
                                                       release.HIDDEN_REFERENCE])
    return f"the kernel's user could read {', '.join(exposed)}" if exposed else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the autograder zip to upload to Gradescope")
    make.add_argument("--out", type=Path, default=Path("hw2_gradescope.zip"), help="default: hw2_gradescope.zip")
    rates = make.add_argument_group("late work (Gradescope's due date and each student's extension count)")
    rates.add_argument("--late", action="store_true", help="take a late penalty off late submissions' scores")
    late.add_rate_arguments(rates)
    grade = commands.add_parser("run", help="grade ROOT/submission into ROOT/results/results.json")
    grade.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    if args.command == "build":
        rates = {"percent_per_day": args.late_percent_per_day, "cap_percent": args.late_cap,
                 "grace_minutes": args.grace_minutes, "base": args.late_base} if args.late else None
        print(f"wrote {build(args.out, rates)}: upload it as the assignment's autograder (Ubuntu base image)")
        if rates:
            print(f"late penalty: {rates['percent_per_day']:g}% of {late.BASES[rates['base']]} per day or part of a "
                  f"day after Gradescope's due date (a student's extension counts), at most {rates['cap_percent']:g}%, "
                  f"{rates['grace_minutes']:g} minutes' grace")
    else:
        output = run(args.root)
        print(f"wrote {args.root / 'results' / 'results.json'} ({len(output['tests'])} tests)")


if __name__ == "__main__":
    main()
