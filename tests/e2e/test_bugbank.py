"""The bug bank (qa/): every mutant loses exactly its points, every variant none.

Most entries run through the fast path (the notebook's own test cells, master's hidden tests
included, in one fresh kernel); a few go through the real grading pipeline, once, in one
`autograder.classrun.grade` run shared by the pytest-xdist workers; and one submission is graded twice to
show grading is deterministic.
"""
import difflib
import fcntl
import json
import os
import re

import pytest

from qa import bank, bugbank, report

FULL_MUTANTS = ["sigmoid_naive_overflow", "biases_not_updated", "ragged_cache"]
FULL_VARIANTS = ["cache_dict", "loops"]
DETERMINISM = "sigmoid_naive_overflow"  # fails a cell, warns, prints: plenty that could vary


def _cells(grade_ids):
    return sorted(grade_ids, key=list(report.points()).index)


def _explain(results):
    return "\n".join(f"  {g}: " + (f"-{loss.points:g} {loss.message.splitlines()[0][:300]}" if loss else "passed")
                     for g, loss in results.items())


@pytest.mark.parametrize("name", [m.name for m in bank.MUTANTS])
def test_mutant_loses_exactly_its_points(name):
    mutant = bank.BY_NAME[name]
    results = bugbank.run_fast(bugbank.notebook_for(mutant))
    failed = report.failed_cells(results)
    assert failed == mutant.fails, (
        f"{name} ({mutant.description}): {report.verdict(mutant, failed)}\n"
        f"expected to fail {_cells(mutant.fails)}, failed {_cells(failed)}\n{_explain(results)}")
    _, undocumented, unnamed = report.charged_outside(mutant, results)
    assert undocumented == 0, f"{name} costs {undocumented:g} points in cells that do not depend on its function:\n" \
                              f"{_explain(results)}"
    assert unnamed == 0, f"{name} costs {unnamed:g} points outside its own cell without naming its function as the " \
                         f"cause:\n{_explain(results)}"
    if mutant.fails:
        first = report.first_failing(failed)
        assert mutant.message in results[first].message, (
            f"{name}: the student should read {mutant.message!r} in {first}, which says:\n{results[first].message}")
    for grade_id, message in mutant.messages.items():
        assert message in results[grade_id].message, (
            f"{name}: the student should read {message!r} in {grade_id}, which says:\n{results[grade_id].message}")


@pytest.mark.parametrize("name", [v.name for v in bank.VARIANTS])
def test_variant_keeps_every_point(name):
    variant = bank.BY_NAME[name]
    results = bugbank.run_fast(bugbank.notebook_for(variant))
    failed = report.failed_cells(results)
    assert not failed, f"{name} ({variant.description}) lost points:\n{_explain(results)}"


# --- the real pipeline -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """One `autograder.classrun.grade` run of FULL_MUTANTS + FULL_VARIANTS, shared by the xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, common to all workers
    root = shared / "bugbank-full"
    with open(shared / "bugbank-full.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker grades, the other waits and reads
        done = root / "results.json"
        if not done.exists():
            names = FULL_MUTANTS + FULL_VARIANTS
            results = bugbank.grade_full({n: bugbank.notebook_for(bank.BY_NAME[n]) for n in names}, root)
            done.write_text(json.dumps(results))
    return json.loads(done.read_text())


@pytest.mark.parametrize("name", FULL_MUTANTS + FULL_VARIANTS)
def test_real_pipeline_grades_the_bank_exactly(full_run, name):
    """./kit grade's pipeline: the same cells lose points as through the fast path, grades.csv keeps
    fractional points and gives a reason that names the function (never a bare exception), and the
    feedback lists every case passed and failed."""
    entry = bank.BY_NAME[name]
    result = full_run[name]
    total = sum(report.points().values())
    assert result["status"] == "graded", f"{name}: {result['status']} {result['reason']}"
    failed = set(result["failed"])
    assert "Graded by the grader: " in result["feedback"] and "passed  public: " in result["feedback"], \
        "the feedback should list the cases of every test cell"
    if isinstance(entry, bank.Variant):
        assert not failed and float(result["auto_score"]) == total, f"{name}: {result['auto_score']}/{total:g}, " \
                                                                     f"{result['reason']}"
        return
    assert failed == entry.fails, f"{name}: expected to fail {_cells(entry.fails)}, failed {_cells(failed)}: {result['reason']}"
    lost = sum(loss[0] for loss in result["losses"].values() if loss)
    assert float(result["auto_score"]) == pytest.approx(total - lost, abs=0.011), result["row"]
    for grade_id in failed:
        reason = result["losses"][grade_id][1]
        assert not report.BARE_EXCEPTION.match(reason), \
            f"{name}: {grade_id}'s reason in grades.csv is not explained: {reason}"
    first = report.first_failing(failed)
    assert entry.message in result["losses"][first][1], \
        f"{name}: grades.csv should say {entry.message!r} for {first}: {result['losses'][first][1]}"
    assert "FAILED  " in result["feedback"], f"{name}: the feedback should list the failed cases"


# Parts of a feedback page that differ from run to run by nature: the wall time the notebook prints,
# and the temporary file name (with the kernel's process id) that ipykernel puts in warnings.
VOLATILE = [(re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+\d{2}:?\d{2}|Z)?"), "<timestamp>"),
            (re.compile(r"\b\d+(\.\d+)? ?s\b"), "<seconds>"),
            (re.compile(r"/tmp/ipykernel_\d+/\d+\.py"), "<cell file>")]


def _normalised(text):
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    # a print's text and its newline may reach the notebook as one stream output or two: blank
    # lines and trailing spaces are layout, not feedback
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def test_grading_twice_gives_identical_scores_and_feedback(full_run, tmp_path):
    first = full_run[DETERMINISM]
    again = bugbank.grade_full({DETERMINISM: bugbank.notebook_for(bank.BY_NAME[DETERMINISM])}, tmp_path,
                               workers=1)[DETERMINISM]
    assert again["row"] == first["row"], f"grades.csv rows differ:\n{first['row']}\n{again['row']}"
    assert first["feedback"], "no feedback page was written"
    before, after = _normalised(first["feedback"]), _normalised(again["feedback"])
    diff = "\n".join(difflib.unified_diff(before, after, "first grading", "second grading", lineterm="", n=1))
    assert before == after, f"the feedback text differs between two gradings:\n{diff[:4000]}"
