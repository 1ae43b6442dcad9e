"""End-to-end tests of the class grader (autograder.classrun.grade) through nbgrader's real pipeline."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from grading import EXAMPLES, digests, grade, hidden_test_code  # tests/grading.py
from nbgrader.api import Gradebook

from autograder.assignment import master, release
from autograder.build import examples as make_examples
from autograder.classrun.ledger import Ledger
from autograder.intake import collect

# the tests of the examples graded once (conftest.examples_graded) on one worker (./kit test: pytest
# --dist loadgroup), so that its other tests go on meanwhile
EXAMPLES_WORKER = pytest.mark.xdist_group("examples_graded")
AUTOGRADED_MAX = master.read().auto_points
GRADED_CELLS = len(master.read().parts)


def copies_of_alice(tmp_path, students):
    """A folder of submissions: a copy of alice's notebook for each of ``students``."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student in students:
        shutil.copyfile(EXAMPLES / "alice.ipynb", folder / f"{student}.ipynb")
    return folder


@EXAMPLES_WORKER
def test_bundled_examples_get_the_expected_scores(examples_graded):
    _, rows, stdout, _ = examples_graded
    expected = {"alice": ("graded", f"{AUTOGRADED_MAX:g}"), "bob": ("graded", "29.62"), "carol": ("error", "0"),
                "dave": ("partial", f"{AUTOGRADED_MAX:g}"), "erin": ("graded", "0")}
    got = {student: (row["status"], row["auto_score"]) for student, row in rows.items()}
    assert got == expected, f"expected (status, autograded score) {expected}, got {got}"
    assert all(row["auto_max"] == f"{AUTOGRADED_MAX:g}" for row in rows.values())
    assert "student" in stdout and "alice" in stdout, f"no summary table printed:\n{stdout}"


@EXAMPLES_WORKER
def test_every_lost_point_has_a_reason(examples_graded):
    _, rows, _, _ = examples_graded
    bob = rows["bob"]
    # partial credit: the sigmoid overflows only on the extreme cases; sum for mean is right for a batch of 1
    for part, points, cause in [("test_sigmoid_activation", "2.33", "overflow"),
                                ("test_backward_pass", "1.29", "summed over the batch")]:
        assert bob[part] == points, f"bob's {part}: expected {points} points, got {bob[part]}"
        assert re.search(f"{part}: \\d+ of \\d+ cases failed", bob["reason"]) and cause in bob["reason"], \
            f"bob's reason should explain {part} ({cause!r}); got {bob['reason']!r}"
    assert "not valid notebook JSON" in rows["carol"]["reason"] or "not a readable" in rows["carol"]["reason"], \
        f"carol's broken JSON should be explained, got {rows['carol']['reason']!r}"
    assert "plot_loss: KernelDied" in rows["dave"]["reason"], \
        f"dave's dying kernel should be named with its cell, got {rows['dave']['reason']!r}"


@EXAMPLES_WORKER
def test_submissions_are_never_modified(examples_graded):
    _, _, _, before = examples_graded
    assert digests(EXAMPLES) == before, "grading changed the submitted files"


@EXAMPLES_WORKER
def test_gradebook_is_consistent(examples_graded):
    out, rows, _, _ = examples_graded
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:
        students = sorted(s.id for s in gb.students)
        assert students == ["alice", "bob", "dave", "erin"], f"students in the gradebook: {students}"
        for student in students:
            submission = gb.find_submission("hw2", student)
            grades = [g for nb in submission.notebooks for g in nb.grades]
            assert len(grades) == GRADED_CELLS, f"{student}: expected {GRADED_CELLS} grades, got {len(grades)}"
            auto = sum(g.score for g in grades if g.cell_type == "code")
            assert round(auto, 2) == float(rows[student]["auto_score"]), \
                f"{student}: gradebook says {auto}, grades.csv says {rows[student]['auto_score']}"


@EXAMPLES_WORKER
def test_feedback_has_messages_and_plots_but_no_hidden_test_code(examples_graded):
    out, _, _, _ = examples_graded
    files = sorted((out / "feedback").glob("*.html"))
    assert [f.stem for f in files] == ["alice", "bob", "dave", "erin"], f"feedback files: {files}"
    for file in files:
        leaked = hidden_test_code(file.read_text())
        assert not leaked, f"{file.name} contains hidden test code: {leaked[:3]}"
    bob = (out / "feedback" / "bob.html").read_text()
    assert "Likely cause" in bob and "data:image/png;base64" in bob, \
        "bob's feedback should keep the checks' diagnostic messages and the plots"
    assert "<math " in bob and "MathJax.Hub" not in bob, "formulas should be MathML made here, not MathJax's"


@EXAMPLES_WORKER
def test_regrading_is_idempotent_and_resumes_only_what_is_missing(examples_graded, tmp_path):
    out, rows, _, _ = examples_graded
    resumed = tmp_path / "resumed"
    shutil.copytree(out, resumed, symlinks=True)
    ledger = json.loads((resumed / "results.json").read_text())
    del ledger["erin"]  # as if the run had been interrupted before erin was merged
    (resumed / "results.json").write_text(json.dumps(ledger))
    again, stdout = grade(EXAMPLES, resumed, "--workers", "2")
    assert "1 to grade" in stdout, f"only erin should be graded again; the command said:\n{stdout}"
    assert again == rows, "grading again changed the results"


@EXAMPLES_WORKER
def test_one_student_is_graded_again_on_request(examples_graded, tmp_path):
    """--student ID regrades that student (a regrade request) and leaves every other entry as it was. (erin, the
    quickest to grade: that a notebook graded alone gets the score the batch gave, bob's included, is shown by
    tests/e2e/test_front_ends.py, where nbgrader by hand and Gradescope grade each notebook alone.)"""
    out, rows, _, _ = examples_graded
    again = tmp_path / "again"
    shutil.copytree(out, again, symlinks=True)
    before = json.loads((again / "results.json").read_text())
    regraded, stdout = grade(EXAMPLES, again, "--workers", "1", "--student", "erin")
    assert "1 to grade (asked: erin)" in stdout, stdout
    after = json.loads((again / "results.json").read_text())
    assert {s: e for s, e in after.items() if s != "erin"} == {s: e for s, e in before.items() if s != "erin"}, \
        "other students' entries changed"
    assert regraded == rows, "grading erin again changed the results"
    run = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(EXAMPLES), "--out", str(again),
                          "--student", "nobody"], cwd=release.REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "no submission for nobody" in run.stderr, run.stderr


@EXAMPLES_WORKER
def test_a_late_policy_gives_raw_score_penalty_and_final_without_grading_again(examples_graded, tmp_path):
    """alice, graded by hand at half marks, is late; bob, on time, still waits for his hand grades."""
    out, rows, _, _ = examples_graded
    again = tmp_path / "late"
    shutil.copytree(out, again, symlinks=True)
    model = master.read()
    with Gradebook(f"sqlite:///{again / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:  # as formgrader
        for part in (p for p in model.parts if p.by_hand):
            hand = gradebook.find_grade(part.grade_id, release.NOTEBOOK, release.ASSIGNMENT, "alice")
            hand.manual_score, hand.needs_manual_grade = part.points / 2, False
        gradebook.db.commit()
    (tmp_path / "times.csv").write_text("student,submitted_at\nalice,2026-10-03T10:00:00-07:00\n"
                                        "bob,2026-10-01T23:59:30-07:00\n")
    late, stdout = grade(EXAMPLES, again, "--due", "2026-10-01T23:59-07:00", "--late-percent-per-day", "10",
                         "--late-cap", "15", "--grace-minutes", "5", "--times", str(tmp_path / "times.csv"))
    assert "0 to grade" in stdout and "late: 1 (alice -9" in stdout, stdout
    assert "10% of the points possible per day" in stdout, "the policy line states the penalty's base"
    alice, bob = late["alice"], late["bob"]
    # alice: 39 autograded + 21 / 2 by hand = 49.5 of 60; 1 day 10 hours late = 2 days, 20% capped at 15%;
    # of the 60 points possible (the default base, as Canvas's): 9 points, final 49.5 - 9 = 40.5 (of her score, 49.5,
    # it would have been 7.425); her autograded points alone (--partial): 39 - 15% of 39 = 39 - 5.85 = 33.15
    assert (alice["total"], alice["late_days"], alice["late_penalty"], alice["final"], alice["auto_final"]) == \
        ("49.5", "2", "9", "40.5", "33.15"), alice
    # bob: 30 s late, within the 5 minutes' grace; his hand parts not graded yet: blank, and so is his final
    assert (bob["late_days"], bob["late_penalty"], bob["final"], bob["answer_cache"]) == ("0", "0", "", ""), bob
    # nbgrader's own place for the penalty: formgrader and the feedback page show the same final
    with Gradebook(f"sqlite:///{again / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        penalties = {student: gradebook.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student)
                     .late_submission_penalty for student in ("alice", "bob")}
    assert penalties == {"alice": 9, "bob": None}, penalties
    page = (again / "feedback" / "alice.html").read_text()
    assert "Late submission penalty (Score: -9.0)" in page and "Score: 40.5 / 60.0" in page
    assert "whose hand grades or late penalty changed" in stdout, stdout
    report = (again / "report" / "index.html").read_text()
    assert "1 late" in report and "10% of the points possible per day" in report
    assert "alice and dave:" in report, \
        "the class report should list the similar solutions (the examples are made from one solution)"

    # the policy is recorded with the grades: a regrade request without the options keeps it (erin's: the
    # quickest to grade again)
    regraded, stdout = grade(EXAMPLES, again, "--workers", "1", "--student", "erin")
    assert "late policy: due 2026-10-01T23:59:00-07:00" in stdout, stdout
    assert (regraded["alice"]["late_penalty"], regraded["alice"]["final"]) == ("9", "40.5"), regraded["alice"]
    # another policy only on purpose, and who it changes is printed
    options = ["--late-percent-per-day", "10", "--late-cap", "15", "--grace-minutes", "5", "--times",
               str(tmp_path / "times.csv")]
    refused = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(EXAMPLES), "--out", str(again),
                              "--due", "2026-10-02T23:59-07:00", *options], cwd=release.REPO, capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 2 and "--change-late-policy" in refused.stderr, refused.stderr
    changed, stdout = grade(EXAMPLES, again, "--due", "2026-10-02T23:59-07:00", *options, "--change-late-policy")
    # alice now 10 hours late = 1 day: 10% of 60 = 6, final 49.5 - 6 = 43.5
    assert "the late policy changed: alice 40.5 -> 43.5" in stdout, stdout
    assert (changed["alice"]["late_days"], changed["alice"]["final"]) == ("1", "43.5"), changed["alice"]
    assert "Score: 43.5 / 60.0" in (again / "feedback" / "alice.html").read_text(), "the feedback follows the policy"


def test_tampered_and_noisy_correct_submission_keeps_full_marks(tmp_path):
    """Deleted and edited test cells are restored from the gradebook; stderr output costs nothing.
    Graded without the sandbox: the fallback of a machine where the grader is not root."""
    student = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    master = nbformat.read(release.MASTER, as_version=4)
    notebook = make_examples.completed(student, master, {
        "relu_activation": [("    out = np.maximum(s, 0)\n",
                             "    import sys\n    print('debugging relu', file=sys.stderr)\n    out = np.maximum(s, 0)\n")]})
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
    notebook.cells.remove(by_id["test_relu_activation"])
    by_id["test_sigmoid_activation"].source = "pass  # nothing to see here"
    notebook.cells.append(nbformat.from_dict(json.loads(json.dumps(by_id["test_training"]))))
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(notebook, folder / "frank.ipynb")
    rows, _ = grade(folder, tmp_path / "out", "--workers", "1", "--no-sandbox")
    frank = rows["frank"]
    assert (frank["status"], frank["auto_score"]) == ("graded", f"{AUTOGRADED_MAX:g}"), \
        f"expected full autograded marks, got {frank['status']} {frank['auto_score']}: {frank['reason']}"
    assert frank["test_relu_activation"] == "2" and frank["test_sigmoid_activation"] == "3", frank
    assert "not isolated" in frank["review"], frank["review"]  # --no-sandbox: the tier "none"


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b'{"cells": [', "not valid notebook JSON"),
    (json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(), "no cells"),
])
def test_unreadable_notebooks_get_a_clear_problem(tmp_path, content, problem):
    path = tmp_path / "zoe.ipynb"
    path.write_bytes(content)
    (found,) = collect.find_submissions(tmp_path, tmp_path / "unpacked")
    assert problem in found.problem, f"expected a problem mentioning {problem!r}, got {found.problem!r}"


def test_huge_notebooks_are_reported_whatever_their_name(tmp_path, monkeypatch):
    monkeypatch.setattr(collect, "MAX_NOTEBOOK_MB", 0)
    shutil.copyfile(EXAMPLES / "alice.ipynb", tmp_path / "yan.ipynb")
    (tmp_path / "xia").mkdir()
    shutil.copyfile(EXAMPLES / "alice.ipynb", tmp_path / "xia" / "Assignment (1).ipynb")
    found = {s.student_id: s.problem for s in collect.find_submissions(tmp_path, tmp_path / "unpacked")}
    assert "over the 0 MB limit" in found["yan"] and "over the 0 MB limit" in found["xia"], found


def test_canvas_and_gradescope_zips_name_students(tmp_path):
    import zipfile
    canvas = tmp_path / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as z:
        z.write(EXAMPLES / "alice.ipynb", "smithalice_LATE_1234_987_assignment-1.ipynb")
        z.write(EXAMPLES / "bob.ipynb", "jonesbob_5678_988_assignment.ipynb")
    found = {s.student_id: (s.name, s.problem) for s in collect.find_submissions(canvas, tmp_path / "u1")}
    assert found == {"1234": ("smithalice", ""), "5678": ("jonesbob", "")}, found
    gradescope = tmp_path / "gradescope.zip"
    with zipfile.ZipFile(gradescope, "w") as z:
        z.write(EXAMPLES / "alice.ipynb", "assignment_1_export/submission_111/assignment.ipynb")
        z.writestr("assignment_1_export/submission_metadata.yml",
                   "submission_111:\n  :submitters:\n  - :name: Alice Smith\n    :sid: a123\n")
    found = {s.student_id: (s.name, s.problem) for s in collect.find_submissions(gradescope, tmp_path / "u2")}
    assert found == {"a123": ("Alice Smith", "")}, found


def test_the_one_notebook_of_a_student_is_graded_whatever_its_name(tmp_path):
    """A re-download ("assignment (1).ipynb") is graded when it is the student's only notebook, with its
    name noted; two notebooks of other names stay an error row (no guessing)."""
    import zipfile
    canvas = tmp_path / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as z:
        z.write(EXAMPLES / "alice.ipynb", "doejane_4242_989_assignment (1).ipynb")
        z.write(EXAMPLES / "alice.ipynb", "roeric_77_990_hw2.ipynb")
        z.write(EXAMPLES / "bob.ipynb", "roeric_77_991_hw2 (2).ipynb")
    found = {s.student_id: s for s in collect.find_submissions(canvas, tmp_path / "u")}
    assert not found["4242"].problem and "'assignment (1).ipynb'" in found["4242"].note, found["4242"]
    assert "not assignment.ipynb" in found["77"].problem, found["77"]
    folder = tmp_path / "folders"
    (folder / "jane").mkdir(parents=True)
    (folder / "eric").mkdir()
    shutil.copyfile(EXAMPLES / "alice.ipynb", folder / "jane" / "assignment (1).ipynb")
    for name in ["a.ipynb", "b.ipynb"]:
        shutil.copyfile(EXAMPLES / "alice.ipynb", folder / "eric" / name)
    found = {s.student_id: s for s in collect.find_submissions(folder, tmp_path / "u2")}
    assert not found["jane"].problem and found["jane"].path.name == "assignment (1).ipynb", found["jane"]
    assert "graded 'assignment (1).ipynb'" in found["jane"].note
    assert "found a.ipynb, b.ipynb" in found["eric"].problem, found["eric"]


def test_an_unsafe_zip_entry_is_its_own_error_row(tmp_path):
    import zipfile
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("submission_2/../../../../tmp/x.ipynb", "{}")
        z.writestr("/etc/cron.d/y.ipynb", "{}")
        z.write(EXAMPLES / "alice.ipynb", "alice.ipynb")
    found = {s.student_id: s.problem for s in collect.find_submissions(archive, tmp_path / "unpacked")}
    assert found["alice"] == "", f"the safe entry should still be graded: {found}"
    refused = [problem for student, problem in found.items() if student != "alice"]
    assert len(refused) == 2 and all("unsafe path" in p for p in refused), found
    assert not (tmp_path / "x.ipynb").exists() and not Path("/tmp/x.ipynb").exists()


def test_links_are_never_followed(tmp_path):
    (tmp_path / "eve.ipynb").symlink_to(release.MASTER)
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "assignment.ipynb").symlink_to("/etc/passwd")
    (tmp_path / "gus").symlink_to(EXAMPLES, target_is_directory=True)
    os.mkfifo(tmp_path / "hal.ipynb")  # reading it would block forever
    found = {s.student_id: s.problem for s in collect.find_submissions(tmp_path, tmp_path / "unpacked")}
    for student in ["eve", "frank", "gus"]:
        assert "symbolic link" in found[student], found
    assert "not a regular file" in found["hal"], found


def test_ids_must_match_whole(tmp_path):
    shutil.copyfile(EXAMPLES / "alice.ipynb", tmp_path / "mallory\n.ipynb")
    (found,) = collect.find_submissions(tmp_path, tmp_path / "unpacked")
    assert "not usable as a folder name" in found.problem, found


def test_csv_fields_are_never_formulas_and_names_never_escape_to_the_terminal(capsys):
    from autograder.outputs.spreadsheet import spreadsheet_safe
    from autograder.outputs.terminal import print_summary

    assert [spreadsheet_safe(v) for v in ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "ok", 3, -2.5]] == \
        ["'=1+1", "'+1", "'-2+3", "'@SUM(A1)", "x", "ok", 3, -2.5]
    assert spreadsheet_safe("a\x1b[2Jb\nc") == "a[2Jb c"
    print_summary([{"student": "\x1b[2J\x1b[H\x1b[32mALL GRADED OK", "status": "error", "auto_score": "",
                    "auto_max": f"{AUTOGRADED_MAX:g}", "review": "", "reason": "bad \x1b[31m name"}], Path("out"))
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\\x1b[2J" in printed, printed


def test_infinite_loop_and_memory_bomb_cost_only_their_cells(tmp_path):
    student = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    master = nbformat.read(release.MASTER, as_version=4)
    notebook = make_examples.completed(student, master, {
        # loops forever on the public relu check's input only
        "relu_activation": [("    out = np.maximum(s, 0)\n",
                             "    while np.shape(s) == (2, 2) and s[0, 0] == -2.0:\n        pass\n"
                             "    out = np.maximum(s, 0)\n")],
        "optional_memorise": [("np.random.seed(1)\n", "hog = np.ones(10**10)  # 80 GB\nnp.random.seed(1)\n")]})
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(notebook, folder / "gina.ipynb")
    rows, _ = grade(folder, tmp_path / "out", "--workers", "1", "--cell-timeout", "20")
    gina = rows["gina"]
    assert (gina["auto_score"], gina["test_relu_activation"]) == (f"{AUTOGRADED_MAX - 2:g}", "0"), \
        f"only the relu test (2 points) should be lost, got {gina['auto_score']}: {gina['reason']}"
    assert "test_relu_activation: CellTimeoutError" in gina["reason"], gina["reason"]


def _children(pid):
    """Processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _alive(pid):
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids(running):
    """The pids in the pid files of ``running`` (a run's work/running folder)."""
    pids = []
    for pid_file in running.glob("*.pid"):
        try:
            pids.append(int(pid_file.read_text()))
        except (OSError, ValueError):
            pass
    return pids


def test_an_interrupted_and_a_killed_run_leave_no_process_and_resume_without_regrading(tmp_path):
    """One class of three, stopped twice: a run with one worker stopped by Ctrl-C once a first student is
    graded (it says how to resume; that student stays graded), then the same command with two workers
    killed while both grade, as an out-of-memory kill or a closed laptop would (none of its processes is
    left). The next run grades only the two that are missing, and everyone gets every point."""
    folder = copies_of_alice(tmp_path, ["s0", "s1", "s2"])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.classrun.grade", str(folder), "--out", str(out), "--blas-threads", "1"]
    process = subprocess.Popen([*command, "--workers", "1"], cwd=release.REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ledger = out / "results.json"
    deadline = time.monotonic() + 300
    while not Ledger(out).entries and time.monotonic() < deadline:  # the journal too: results.json comes later
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0 and b"resume" in output, (process.returncode, output.decode()[-3000:])
    done = len(json.loads(ledger.read_text()))
    assert done == 1, f"expected the run to stop part-way, {done} of 3 were graded"

    process = subprocess.Popen([*command, "--workers", "2"], cwd=release.REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = out / "work" / "running"

    def descendants():
        return {pid for child in _children(process.pid) for pid in [child, *_children(child)]}  # forkserver, workers

    deadline = time.monotonic() + 300
    while not (len(_pids(running)) == 2 and set(_pids(running)) <= descendants()) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers, helpers = _pids(running), list(descendants())
    assert len(workers) == 2 and set(workers) <= set(helpers), "the resumed run should have two workers grading"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers + helpers) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [pid for pid in workers + helpers if _alive(pid)]
    assert not left, f"processes of the killed run are still alive after 30 s: {left}"

    rows, stdout = grade(folder, out, "--workers", "2")
    assert "2 to grade" in stdout, stdout
    assert {r["auto_score"] for r in rows.values()} == {f"{AUTOGRADED_MAX:g}"}, rows
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}", course_id="hw2") as gb:
        assert sorted(s.id for s in gb.students) == ["s0", "s1", "s2"]


def test_a_crash_is_charged_only_to_the_submission_that_causes_it(tmp_path):
    """A worker dies (as when out of memory) whenever it grades "victim": the students graded beside it
    are graded again, alone, and keep their points; victim gets an error row saying so."""
    import threading

    folder = copies_of_alice(tmp_path, ["s0", "s1", "victim"])
    out = tmp_path / "out"
    pid_file = out / "work" / "running" / "victim.pid"
    stop, kills = threading.Event(), []

    def kill_victims_worker():
        while not stop.is_set():
            try:
                pid = int(pid_file.read_text())
                if pid not in kills:
                    time.sleep(1)  # let it start its kernel
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
            except (OSError, ValueError):
                pass
            time.sleep(0.1)

    watcher = threading.Thread(target=kill_victims_worker, daemon=True)
    watcher.start()
    try:
        rows, _ = grade(folder, out, "--workers", "2")
    finally:
        stop.set()
    assert len(kills) == 2, f"victim's worker should have been killed twice (in the pool, then alone): {kills}"
    assert (rows["victim"]["status"], rows["victim"]["auto_score"]) == ("error", "0") and \
        "died while grading this submission alone" in rows["victim"]["reason"], rows["victim"]
    for student in ["s0", "s1"]:
        assert (rows[student]["status"], rows[student]["auto_score"]) == ("graded", f"{AUTOGRADED_MAX:g}"), rows[student]
