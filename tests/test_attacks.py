"""The attack bank (tests/attacks.py) through the real pipeline, in one batch with two honest students.

Every attack ends as SECURITY.md says: no unearned point, flagged for review where its code shows
it, the batch completes, the honest students' scores and the gradebook are untouched, and no
submitted or instructor file changes.
"""
import json
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

import attacks
from autograder import bugbank, course, review
from autograder.grade import IPC_TMPFS_MB
from autograder.kernel_launcher import sandbox_available

# the README's example table: what the honest students get when graded alone
HONEST = {"alice": 39, "bob": 26}
ISSUE_LIST = {"allclose_true", "input_transformer", "always_equal", "fake_checks_module", "sniff_grader",
              "edited_metadata", "duplicated_grade_ids", "fork_bomb", "memory_bomb", "infinite_import",
              "huge_file", "self_destruct", "read_secrets", "fake_output", "prefilled_json"}


@pytest.fixture(scope="module", autouse=True)
def _needs_sandbox():
    if not sandbox_available():
        pytest.fail("the attack bank needs the grading sandbox (root on Linux with namespaces); "
                    "see SECURITY.md", pytrace=False)


def test_bank_covers_the_issue():
    names = [a.name for a in attacks.ATTACKS]
    assert len(names) == len(set(names)) and len(names) >= 15, f"need 15 distinct attacks, have {names}"
    assert ISSUE_LIST <= set(names), f"attacks the issue asks for are missing: {ISSUE_LIST - set(names)}"


@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=lambda a: a.name)
def test_attack_earns_nothing(attack_batch, attack):
    row = attack_batch.rows[attack.name]
    honest = 0 if attack.base == "erin" else HONEST["alice"]
    auto = row["auto_score"] if row["status"] in ("graded", "partial") else 0
    assert row["status"] is not None, f"{attack.name}: no result; the batch did not finish it"
    assert auto <= honest and row["auto_max"] == 39, (
        f"{attack.name} ({attack.description}): got {auto}/{row['auto_max']} automatic points, its own work "
        f"earns at most {honest}/39; reasons: {row['reason'][:500]}")
    if attack.flagged:
        assert row["review"], f"{attack.name} ({attack.description}) is not flagged for review in grades.csv"
    if auto < honest:
        assert row["reason"], f"{attack.name} lost points without a reason in grades.csv"


def test_honest_students_are_untouched(attack_batch):
    for student, points in HONEST.items():
        row = attack_batch.rows[student]
        assert (row["status"], row["auto_score"], row["review"]) == ("graded", points, ""), (
            f"{student} graded among the attacks: expected graded, {points}/39 and no review flag, got "
            f"{row['status']}, {row['auto_score']}/39, review {row['review']!r}")


def test_gradebook_holds_every_student_and_its_scores(attack_batch):
    with Gradebook(f"sqlite:///{attack_batch.out / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        students = {s.id for s in gradebook.students}
        assert students >= set(HONEST), f"students missing from the gradebook: {set(HONEST) - students}"
        for student, points in HONEST.items():
            submission = gradebook.find_submission(course.ASSIGNMENT, student)
            assert submission.code_score == points, (
                f"the gradebook has {submission.code_score} code points for {student}, expected {points}")


def test_no_file_changed(attack_batch):
    changed = [path for path, same in attack_batch.unchanged.items() if not same]
    assert not changed, f"grading the attacks changed or deleted: {changed}"


def test_secrets_were_out_of_reach(attack_batch):
    notebook = nbformat.read(attack_batch.out / "course" / "autograded" / "read_secrets" / course.ASSIGNMENT /
                             f"{course.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "nothing found" in printed and "FOUND" not in printed, (
        f"student code could see instructor or other students' files: {printed[:1000]}")


def test_the_ipc_folder_cannot_fill_the_disk(attack_batch):
    notebook = nbformat.read(attack_batch.out / "course" / "autograded" / "ipc_flood" / course.ASSIGNMENT /
                             f"{course.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    written = re.search(r"WROTE (\d+) MB", printed)
    assert written, f"the ipc_flood attack did not report what it wrote: {printed[:1000]}"
    assert int(written.group(1)) <= IPC_TMPFS_MB, (
        f"a kernel wrote {written.group(1)} MB into its ipc folder; the grader caps it at {IPC_TMPFS_MB} MB "
        "(a tmpfs in the worker's mount namespace)")


def test_ledger_says_why(attack_batch):
    ledger = json.loads((attack_batch.out / "results.json").read_text())
    for attack in attacks.ATTACKS:
        entry = ledger[attack.name]
        if attack.flagged:
            assert entry["review"], f"results.json has no review reasons for {attack.name}"


@pytest.mark.parametrize("name", [v.name for v in bugbank.VARIANTS] + ["alice", "bob", "dave", "master"])
def test_correct_work_is_never_flagged(name, released_course, tmp_path):
    """Every correct variant of the bug bank, the honest examples and the master: nothing to review."""
    if name == "master":
        path = course.MASTER
    elif name in ("alice", "bob", "dave"):
        path = attacks.EXAMPLES / f"{name}.ipynb"
    else:
        path = tmp_path / "submission.ipynb"
        nbformat.write(bugbank.notebook_for(bugbank.BY_NAME[name]), path)
    released = released_course.release / f"{course.NOTEBOOK}.ipynb"
    assert review.review_reasons(path, released) == [], f"{name} is honest work but was flagged"


def test_every_graded_cell_is_decided_outside_the_kernel(master_notebook):
    """A test cell's points never rest on code run in the student's kernel alone (SECURITY.md)."""
    from autograder.hidden_tests import split

    graded = [c for c in master_notebook.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    without = [c.metadata.nbgrader["grade_id"] for c in graded if not split(c.source)[1].strip()]
    assert graded and not without, f"graded cells without hidden tests (run outside the kernel): {without}"
