"""The attack bank (tests/attacks.py) through the real pipeline, in one batch with two honest students.

Every attack ends as SECURITY.md says: no unearned point, flagged for review where its code shows
it, the batch completes, the honest students' scores and the gradebook are untouched, and no
submitted or instructor file changes.
"""
import json
import re
from html.parser import HTMLParser

import attacks
import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.assignment import master, release
from autograder.grading import review
from autograder.grading.options import IPC_TMPFS_MB
from autograder.sandbox.kernel_launcher import sandbox_tier
from qa import bank, bugbank

# every test here on the worker that builds the attack batch (./kit test runs pytest --dist loadgroup, which
# needs pytest 8: pytest 9's node ids defeat xdist 3.8's groups): the other worker goes on with the rest
# of the suite instead of waiting for the batch
pytestmark = pytest.mark.xdist_group("attack_batch")

# the README's example table: what the honest students get when graded alone
AUTOGRADED_MAX = master.read().auto_points
HONEST = {"alice": AUTOGRADED_MAX, "bob": 29.62}
ISSUE_LIST = {"allclose_true", "input_transformer", "always_equal", "fake_checks_module", "sniff_grader",
              "edited_metadata", "duplicated_grade_ids", "fork_bomb", "memory_bomb", "infinite_import",
              "huge_file", "self_destruct", "read_secrets", "fake_output", "prefilled_json",
              # round 2 (issue 15)
              "display_hook_score", "script_everywhere", "huge_replies", "output_flood", "leak_hidden",
              "checker_is_backprop", "pasted_loss", "call_the_handler",
              # found by a red-team run of round 2
              "fake_training", "many_parts", "answer_flood"}
# what an attack on a correct notebook must lose (its trick made its own work wrong), and why
# {attack: {cell: (the most it may keep, what its reason says)}}: a trick that breaks some cases of a cell
# costs those cases (partial credit); a trick that fakes a function costs all of them
MUST_LOSE = {"checker_is_backprop": {"test_nn_finite_difference_checker": (0, "my_nn_finite_difference_checker raised")},
             "leak_hidden": {"test_flatten_images": (0, "is wrong in")},
             "huge_replies": {"test_sigmoid_activation": (2.9, "more than")},
             "answer_flood": {"test_flatten_images": (0.9, "more than")}}
# review reasons that show the grader saw what the attack did (not only words in its code)
FLAGGED_FOR = {"display_hook_score": "a result was displayed in a test cell",
               "script_everywhere": "held HTML with script",
               "huge_replies": "broke the protocol",
               "call_the_handler": "called the grader's request handler",
               "answer_flood": "broke the protocol"}
MB = 1024 * 1024


@pytest.fixture(scope="module", autouse=True)
def _needs_sandbox():
    if sandbox_tier() != "full":
        pytest.fail("the attack bank needs the full grading sandbox (root on Linux with namespaces); "
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
    assert auto <= honest and row["auto_max"] == AUTOGRADED_MAX, (
        f"{attack.name} ({attack.description}): got {auto}/{row['auto_max']} automatic points, its own work "
        f"earns at most {honest}/{AUTOGRADED_MAX:g}; reasons: {row['reason'][:500]}")
    if attack.flagged:
        assert row["review"], f"{attack.name} ({attack.description}) is not flagged for review in grades.csv"
    if auto < honest:
        assert row["reason"], f"{attack.name} lost points without a reason in grades.csv"


@pytest.mark.parametrize("attack", sorted(MUST_LOSE))
def test_attack_loses_the_cells_its_trick_breaks(attack_batch, attack):
    row = attack_batch.rows[attack]
    for cell, (most, why) in MUST_LOSE[attack].items():
        assert row[cell] <= most, f"{attack}: {cell} should score at most {most}, got {row[cell]}; reasons: " \
                                  f"{row['reason'][:800]}"
        assert why in row["reason"], f"{attack}: the reason for {cell} should mention {why!r}: {row['reason'][:800]}"


@pytest.mark.parametrize("attack", sorted(FLAGGED_FOR))
def test_review_flags_what_happened(attack_batch, attack):
    assert FLAGGED_FOR[attack] in attack_batch.rows[attack]["review"], (
        f"{attack}: review should say {FLAGGED_FOR[attack]!r}, it says {attack_batch.rows[attack]['review'][:800]!r}")


class ActiveContent(HTMLParser):
    """What in a page could run: script elements (but the feedback template's MathJax), frames, objects,
    event-handler attributes, javascript: links."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        mathjax = tag == "script" and ("mathjax" in (attrs.get("src") or "") or attrs.get("type") == "text/x-mathjax-config")
        if tag in ("script", "iframe", "object", "embed", "frame") and not mathjax:
            self.found.append(f"<{tag} {attrs}>")
        self.found += [f"<{tag} {name}={value!r}>" for name, value in attrs.items()
                       if name.startswith("on") or value and "javascript:" in value.lower()]


def active_content(html):
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


def test_no_submission_puts_script_into_feedback(attack_batch):
    for page in sorted((attack_batch.out / "feedback").glob("*.html")):
        found = active_content(page.read_text())
        assert not found, f"{page.name} holds content that runs in a browser: {found[:5]}"
    notebook = nbformat.read(attack_batch.out / "course" / "autograded" / "script_everywhere" / release.ASSIGNMENT /
                             f"{release.NOTEBOOK}.ipynb", as_version=4)
    for cell in notebook.cells:
        shown = [cell.source] if cell.cell_type != "code" else \
            [v for o in cell.outputs for k, v in o.get("data", {}).items() if k != "text/plain"]
        for text in shown:
            assert not active_content(text if isinstance(text, str) else ""), \
                f"the autograded notebook, which formgrader renders, holds script: {text[:300]!r}"
        assert not any("javascript" in k for o in cell.get("outputs", []) for k in o.get("data", {})), \
            "a JavaScript output reached the autograded notebook"


def test_output_is_bounded_and_says_so(attack_batch):
    autograded = attack_batch.out / "course" / "autograded" / "output_flood" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    feedback = attack_batch.out / "feedback" / "output_flood.html"
    assert autograded.stat().st_size < 12 * MB and feedback.stat().st_size < 12 * MB, (
        f"300 MB of output should be cut to the grader's bounds; the autograded notebook has "
        f"{autograded.stat().st_size / MB:.0f} MB, the feedback {feedback.stat().st_size / MB:.0f} MB")
    assert "[output truncated" in feedback.read_text(), "the feedback should say where output was cut"


def test_no_hidden_answer_or_helper_reaches_feedback(attack_batch, hidden_cases):
    page = attack_batch.out / "feedback" / "leak_hidden.html"
    text = page.read_text()
    assert "LEAKED" in text, "the leak_hidden attack should print what it saved"
    assert "np.sin(x)" not in text and "def sine_weighted" not in text, \
        "the source of a hidden test's helper reached the kernel and the feedback"
    expected = hidden_cases["flatten_images"][0]["flat"]
    shown = [repr(float(v))[:12] for v in expected.ravel()[:50] if repr(float(v))[:12] in text]
    assert not shown, f"hidden expected values reached the feedback: {shown[:5]}"
    assert "expected:" not in attack_batch.rows["leak_hidden"]["reason"], attack_batch.rows["leak_hidden"]["reason"]


def test_links_and_hostile_names_are_error_rows(attack_batch):
    rows = attack_batch.rows
    for student in ["eve", "frank"]:
        assert rows[student]["status"] == "error" and "symbolic link" in rows[student]["reason"], rows[student]
    csv_text = (attack_batch.out / "grades.csv").read_text()
    assert "root:" not in csv_text, "a linked file's text reached grades.csv"
    for name in attacks.HOSTILE_NAMES:
        student = name.removesuffix(".ipynb")
        assert rows[student]["status"] == "error", f"{student!r} should be refused, got {rows[student]}"
    import csv as csv_module
    with open(attack_batch.out / "grades.csv", newline="") as file:
        fields = [field for row in csv_module.reader(file) for field in row]
    formulas = [f for f in fields if f[:1] in ("=", "+", "@", "\t", "\r") or f.startswith("-") and not _number(f)]
    assert not formulas, f"grades.csv fields a spreadsheet would run: {formulas[:5]}"
    assert not any(ord(c) < 32 and c not in "\r\n" for c in csv_text), "control characters in grades.csv"


def _number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_honest_students_are_untouched(attack_batch):
    for student, points in HONEST.items():
        row = attack_batch.rows[student]
        assert (row["status"], row["auto_score"], row["review"]) == ("graded", points, ""), (
            f"{student} graded among the attacks: expected graded, {points}/{AUTOGRADED_MAX:g} and no review flag, got "
            f"{row['status']}, {row['auto_score']}/{AUTOGRADED_MAX:g}, review {row['review']!r}")


def test_gradebook_holds_every_student_and_its_scores(attack_batch):
    with Gradebook(f"sqlite:///{attack_batch.out / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        students = {s.id for s in gradebook.students}
        assert students >= set(HONEST), f"students missing from the gradebook: {set(HONEST) - students}"
        for student, points in HONEST.items():
            submission = gradebook.find_submission(release.ASSIGNMENT, student)
            assert submission.code_score == pytest.approx(points, abs=0.01), (
                f"the gradebook has {submission.code_score} code points for {student}, expected {points}")


def test_no_file_changed(attack_batch):
    changed = [path for path, same in attack_batch.unchanged.items() if not same]
    assert not changed, f"grading the attacks changed or deleted: {changed}"


def test_secrets_were_out_of_reach(attack_batch):
    notebook = nbformat.read(attack_batch.out / "course" / "autograded" / "read_secrets" / release.ASSIGNMENT /
                             f"{release.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "nothing found" in printed and "FOUND" not in printed, (
        f"student code could see instructor or other students' files: {printed[:1000]}")


def test_the_ipc_folder_cannot_fill_the_disk(attack_batch):
    notebook = nbformat.read(attack_batch.out / "course" / "autograded" / "ipc_flood" / release.ASSIGNMENT /
                             f"{release.NOTEBOOK}.ipynb", as_version=4)
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


@pytest.mark.parametrize("name", [v.name for v in bank.VARIANTS] + ["alice", "bob", "dave", "master"])
def test_correct_work_is_never_flagged(name, released_course, tmp_path):
    """Every correct variant of the bug bank, the honest examples and the master: nothing to review."""
    if name == "master":
        path = release.MASTER
    elif name in ("alice", "bob", "dave"):
        path = attacks.EXAMPLES / f"{name}.ipynb"
    else:
        path = tmp_path / "submission.ipynb"
        nbformat.write(bugbank.notebook_for(bank.BY_NAME[name]), path)
    released = released_course.release / f"{release.NOTEBOOK}.ipynb"
    assert review.review_reasons(path, released) == [], f"{name} is honest work but was flagged"


def test_every_graded_cell_is_decided_outside_the_kernel(tmp_path):
    """A test cell's points never rest on code run in the student's kernel alone (SECURITY.md): the
    master has a hidden part in every test cell, and a master without one is refused."""
    release.check_master()
    master = nbformat.read(release.MASTER, as_version=4)
    cell = next(c for c in master.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_relu_activation")
    cell.source = cell.source.split("### BEGIN HIDDEN TESTS")[0]
    nbformat.write(master, tmp_path / "master.ipynb")
    with pytest.raises(release.MasterError, match="test_relu_activation"):
        release.check_master(tmp_path / "master.ipynb")


def test_points_of_an_earlier_release_are_not_tampering(tmp_path):
    """A notebook downloaded before the instructor changed points matches that release (releases.json)."""
    notebook = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_relu_activation")
    cell.metadata.nbgrader["points"] = 7
    earlier = review.release_record(notebook)
    nbformat.write(notebook, tmp_path / "old.ipynb")
    released = release.REPO / "assignment.ipynb"
    assert any("points 2 -> 7" in reason for reason in review.review_reasons(tmp_path / "old.ipynb", released))
    assert review.review_reasons(tmp_path / "old.ipynb", released, [earlier]) == []
