"""The bug bank (autograder/bugbank.py): every mutant loses exactly its points, every variant none.

Most entries run through the fast path (the notebook's own test cells, master's hidden tests
included, in one fresh kernel); a few go through the real grading pipeline, once, in one
`autograder.grade` run shared by the pytest-xdist workers; and one submission is graded twice to
show grading is deterministic.
"""
import difflib
import fcntl
import json
import re

import pytest

from autograder import bugbank

FULL_MUTANTS = ["sigmoid_naive_overflow", "biases_not_updated", "ragged_cache"]
FULL_VARIANTS = ["cache_dict", "loops"]
DETERMINISM = "sigmoid_naive_overflow"  # fails a cell, warns, prints: plenty that could vary


def _cells(grade_ids):
    return sorted(grade_ids, key=list(bugbank.points()).index)


def _explain(results):
    return "\n".join(f"  {g}: {(m or 'passed').splitlines()[0][:300]}" for g, m in results.items())


def test_bank_is_well_formed():
    names = [e.name for e in bugbank.MUTANTS + bugbank.VARIANTS]
    assert len(names) == len(set(names)), "names must be unique"
    assert len(bugbank.MUTANTS) >= 20, f"the issue asks for at least 20 mutants, the bank has {len(bugbank.MUTANTS)}"
    assert sum(bugbank.points().values()) == 39, bugbank.points()
    for mutant in bugbank.MUTANTS:
        assert mutant.fails <= set(bugbank.points()), f"{mutant.name}: unknown grade ids {mutant.fails - set(bugbank.points())}"
        assert mutant.message or not mutant.fails, f"{mutant.name}: no message for the student"
    for entry in bugbank.MUTANTS + bugbank.VARIANTS:
        assert entry.mutations, f"{entry.name}: no mutations"
        bugbank.notebook_for(entry)  # raises if a mutation no longer applies to the master's code


@pytest.mark.parametrize("name", [m.name for m in bugbank.MUTANTS])
def test_mutant_loses_exactly_its_points(name):
    mutant = bugbank.BY_NAME[name]
    results = bugbank.run_fast(bugbank.notebook_for(mutant))
    failed = bugbank.failed_cells(results)
    assert failed == mutant.fails, (
        f"{name} ({mutant.description}): {bugbank.verdict(mutant, failed)}\n"
        f"expected to fail {_cells(mutant.fails)}, failed {_cells(failed)}\n{_explain(results)}")
    if mutant.fails:
        first = bugbank.first_failing(failed)
        assert mutant.message in results[first], (
            f"{name}: the student should read {mutant.message!r} in {first}, which says:\n{results[first]}")


@pytest.mark.parametrize("name", [v.name for v in bugbank.VARIANTS])
def test_variant_keeps_every_point(name):
    variant = bugbank.BY_NAME[name]
    results = bugbank.run_fast(bugbank.notebook_for(variant))
    failed = bugbank.failed_cells(results)
    lost = sum(bugbank.points()[g] for g in failed)
    assert not failed, f"{name} ({variant.description}) lost {lost:g} points:\n{_explain(results)}"


# --- the real pipeline -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(tmp_path_factory, worker_id):
    """One `autograder.grade` run of FULL_MUTANTS + FULL_VARIANTS, shared by the xdist workers."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent  # the session's folder, common to all workers
    root = shared / "bugbank-full"
    with open(shared / "bugbank-full.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker grades, the other waits and reads
        done = root / "results.json"
        if not done.exists():
            names = FULL_MUTANTS + FULL_VARIANTS
            results = bugbank.grade_full({n: bugbank.notebook_for(bugbank.BY_NAME[n]) for n in names}, root)
            done.write_text(json.dumps(results))
    return json.loads(done.read_text())


@pytest.mark.parametrize("name", FULL_MUTANTS + FULL_VARIANTS)
def test_real_pipeline_grades_the_bank_exactly(full_run, name):
    entry = bugbank.BY_NAME[name]
    result = full_run[name]
    assert result["status"] == "graded", f"{name}: {result['status']} {result['reason']}"
    failed = set(result["failed"])
    if isinstance(entry, bugbank.Variant):
        assert not failed and result["auto_score"] == "39", f"{name}: {result['auto_score']}/39, {result['reason']}"
        return
    assert failed == entry.fails, f"{name}: expected to fail {_cells(entry.fails)}, failed {_cells(failed)}: {result['reason']}"
    lost = sum(bugbank.points()[g] for g in entry.fails)
    assert float(result["auto_score"]) == 39 - lost, f"{name}: {result['auto_score']}, expected {39 - lost:g}"
    first = bugbank.first_failing(failed)
    assert f"{first}: CheckFailed" in result["reason"], result["reason"]
    shown = result["messages"].get(first) or ""
    assert entry.message in shown, f"{name}: the student should read {entry.message!r} in {first}, which says:\n{shown}"
    assert shown.splitlines()[0].split(": ", 1)[1] in result["feedback"], f"{name}: the message is not in the feedback"


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
    again = bugbank.grade_full({DETERMINISM: bugbank.notebook_for(bugbank.BY_NAME[DETERMINISM])}, tmp_path,
                               workers=1)[DETERMINISM]
    assert again["row"] == first["row"], f"grades.csv rows differ:\n{first['row']}\n{again['row']}"
    assert first["feedback"], "no feedback page was written"
    before, after = _normalised(first["feedback"]), _normalised(again["feedback"])
    diff = "\n".join(difflib.unified_diff(before, after, "first grading", "second grading", lineterm="", n=1))
    assert before == after, f"the feedback text differs between two gradings:\n{diff[:4000]}"
