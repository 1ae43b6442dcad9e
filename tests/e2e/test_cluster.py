"""A class graded through a Dask cluster (``./kit grade --scheduler``, autograder/classrun/cluster.py): a
scheduler and 2 worker processes started as separate processes over TCP on 127.0.0.1, the workers in a
mount namespace of their own where the coordinator's folders (every OUT and submissions folder of this
module) are hidden under an empty tmpfs, with another working folder and a template cache of their own.

Each fault is tested: a worker killed mid-grade, a submission whose worker is killed every time it grades
it, the scheduler killed mid-run; after every run no process of the coordinator's is left. The grades are
compared with the bundled examples graded on one machine (conftest.examples_graded, shared with the other
tests of the examples). Cheap notebooks: erin (graded, loses points) and carol (unreadable: an error row).
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from distributed import Client
from grading import EXAMPLES  # tests/grading.py

from autograder.assignment import release
from autograder.classrun.ledger import Ledger
from autograder.sandbox.kernel_launcher import sandbox_tier
from benchmarks.scale import free_port, stop_process_groups

pytestmark = [pytest.mark.xdist_group("examples_graded"),  # one cluster for the module, beside the examples' fixture
              pytest.mark.skipif(sandbox_tier() != "full", reason="needs root with mount namespaces: the workers "
                                 "hide the coordinator's folders, and a run through a scheduler asks for the full "
                                 "sandbox")]
ALLOWED_FAILURES = 2  # the scheduler's: a task whose worker dies 3 times is an error row
RUN_MARK = "HW2_TEST_CLUSTER_RUN"  # in the environment of each coordinator run, to find what it left


class Cluster:
    """A scheduler and a ``./kit worker`` of 2 processes (python -m autograder.classrun.cluster, what ./kit
    worker runs), each in a process group of its own; ``hidden``: the coordinator's folder, which the
    workers cannot see."""

    def __init__(self, base):
        self.hidden, self.worker_home = base / "coordinator", base / "worker"
        self.hidden.mkdir()
        self.worker_home.mkdir()
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes = []

    def start(self):
        env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(ALLOWED_FAILURES))
        self.scheduler = self._spawn([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                      "--port", self.address.rsplit(":", 1)[1], "--no-dashboard"], env, "scheduler")
        env = dict(os.environ, HW2_TEMPLATE_CACHE=str(self.worker_home / "templates"), PYTHONPATH=str(release.REPO))
        hide = 'mount -t tmpfs -o size=1m hidden "$0" && exec "$@"'
        self._spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, str(self.hidden),
                     sys.executable, "-m", "autograder.classrun.cluster", self.address, "--nworkers", "2",
                     "--local-directory", str(self.worker_home / "dask"), "--no-dashboard"], env, "workers")
        self.client = Client(self.address, timeout=60, set_as_default=False)
        self.client.wait_for_workers(2, timeout=180)

    def _spawn(self, command, env, name):
        log = open(self.worker_home / f"{name}.log", "a")
        process = subprocess.Popen(command, env=env, cwd=self.worker_home, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self):
        if getattr(self, "client", None):
            self.client.close(timeout=5)
            self.client = None
        stop_process_groups(self.processes)
        self.processes = []

    def executing(self):
        """{worker pid: [keys of the tasks it is running]}."""
        running = self.client.run(lambda dask_worker: (os.getpid(), [
            key for key, state in dask_worker.state.tasks.items() if state.state == "executing"]))
        return dict(running.values())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def folder(cluster, request):
    """A folder of the coordinator's, for one test."""
    folder = cluster.hidden / request.node.name
    folder.mkdir()
    return folder


def submissions(folder, **students):
    """A submissions folder in ``folder`` with each student's file a copy of an example (student=example)."""
    where = folder / "submissions"
    where.mkdir()
    for student, example in students.items():
        shutil.copyfile(EXAMPLES / f"{example}.ipynb", where / f"{student}.ipynb")
    return where


def grade(cluster, where, out, wait=True):
    """``./kit grade WHERE --out OUT --scheduler ADDRESS`` as an instructor runs it (python -m
    autograder.classrun.grade); ``wait``: return (exit code, what it printed) once it has ended, having
    checked that it left no process; else the running Popen."""
    process = subprocess.Popen([sys.executable, "-m", "autograder.classrun.grade", str(where), "--out", str(out),
                                "--scheduler", cluster.address], cwd=release.REPO, env=dict(os.environ, **{
                                    RUN_MARK: str(out)}), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return finished(process, out) if wait else process


def finished(process, out):
    """(exit code, output) of the coordinator ``process`` grading into ``out``, once no process of its is left."""
    output, _ = process.communicate(timeout=600)
    deadline = time.monotonic() + 10
    while left_by(out) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left_by(out), f"processes of the coordinator outlive its run: {left_by(out)}\n{output}"
    return process.returncode, output


def left_by(out):
    """The pids of live processes started by the coordinator run into ``out`` (its mark in their environment)."""
    mark = f"{RUN_MARK}={out}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and mark in (entry / "environ").read_bytes().split(b"\0") and \
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def rows(out):
    with open(out / "grades.csv") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def same_grades(row, reference):
    """Whether grades.csv ``row`` gives what ``reference`` (the same notebook graded on one machine) gives,
    the student's id and name aside."""
    return {k: v for k, v in row.items() if k not in ("student", "name")} == \
        {k: v for k, v in reference.items() if k not in ("student", "name")}


def kill_workers_running(cluster, student, times, after=1.0):
    """Start killing (kill -9) the worker running ``student``'s task, ``after`` seconds into it, up to ``times``
    times; returns (the killed pids, an Event that stops it)."""
    killed, stop = [], threading.Event()

    def watch():
        while not stop.is_set() and len(killed) < times:
            try:
                for pid, keys in cluster.executing().items():
                    if any(key.startswith(f"hw2-grade-{student}-") for key in keys) and pid not in killed:
                        time.sleep(after)
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
            except (OSError, TimeoutError):
                pass  # a worker going or coming back
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    return killed, stop


def test_the_workers_cannot_see_the_coordinator_s_folders(cluster):
    marker = cluster.hidden / "marker"
    marker.write_text("the coordinator's")
    seen = cluster.client.run(lambda: (os.getcwd(), os.path.exists(str(marker)), os.listdir(str(marker.parent))))
    assert len(seen) == 2 and all(cwd == str(cluster.worker_home) and not exists and listing == []
                                  for cwd, exists, listing in seen.values()), seen


def test_a_class_graded_through_the_scheduler_matches_one_machine(cluster, folder, examples_graded):
    code, output = grade(cluster, submissions(folder, erin="erin", carol="carol"), folder / "out")
    assert code == 0, output
    assert f"Dask scheduler {cluster.address}: 2 workers, 2 threads" in output, output
    graded, reference = rows(folder / "out"), examples_graded[1]
    assert sorted(graded) == ["carol", "erin"]
    for student in graded:
        assert graded[student] == reference[student], (graded[student], reference[student])


def test_a_worker_killed_mid_grade_its_submission_is_graded_again(cluster, folder, examples_graded):
    killed, stop = kill_workers_running(cluster, "erin", times=1, after=3)
    try:
        code, output = grade(cluster, submissions(folder, erin="erin", carol="carol"), folder / "out")
    finally:
        stop.set()
    assert code == 0 and len(killed) == 1, (killed, output)
    graded, reference = rows(folder / "out"), examples_graded[1]
    assert graded["erin"] == reference["erin"], (graded["erin"], reference["erin"])
    ledger = json.loads((folder / "out" / "results.json").read_text())
    assert sorted(ledger) == ["carol", "erin"] and ledger["erin"]["status"] == "graded", ledger
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{folder / 'out' / 'course' / 'gradebook.db'}", course_id="hw2") as gradebook:
        assert [s.student.id for s in gradebook.assignment_submissions(release.ASSIGNMENT)] == ["erin"]


def test_a_submission_that_kills_its_worker_every_time_is_an_error_row(cluster, folder, examples_graded):
    """A notebook cannot kill its grading worker from the sandboxed kernel (its own user, PID namespace and
    no network: the attack bank tries); the worker is killed from outside whenever it grades "victim",
    as the system would kill a grader that runs out of memory."""
    killed, stop = kill_workers_running(cluster, "victim", times=ALLOWED_FAILURES + 2)
    try:
        code, output = grade(cluster, submissions(folder, erin="erin", victim="erin"), folder / "out")
    finally:
        stop.set()
    assert code == 0, output
    assert len(killed) == ALLOWED_FAILURES + 1, f"killed {len(killed)} times, expected {ALLOWED_FAILURES + 1}"
    graded = rows(folder / "out")
    assert graded["victim"]["status"] == "error" and graded["victim"]["reason"].startswith(
        f"killed the worker that graded it {ALLOWED_FAILURES + 1} times"), graded["victim"]
    assert graded["erin"] == examples_graded[1]["erin"]
    cluster.client.wait_for_workers(2, timeout=120)  # restarted by their nanny


def test_the_scheduler_lost_the_run_stops_and_the_same_command_finishes(cluster, folder, examples_graded):
    """Killed once a submission is recorded: the command says so and exits non-zero, what was graded is kept;
    with a scheduler and workers back, the same command grades the rest. (Last: it restarts the cluster.)"""
    where, out = submissions(folder, s1="erin", s2="erin", s3="erin"), folder / "out"
    process = grade(cluster, where, out, wait=False)
    ledger = out / "results.json"
    deadline = time.monotonic() + 300
    while not Ledger(out).entries and time.monotonic() < deadline:  # the journal too: results.json comes later
        time.sleep(0.2)
    os.killpg(cluster.scheduler.pid, signal.SIGKILL)
    code, output = finished(process, out)
    assert code != 0 and "lost the Dask scheduler" in output and "run the same command again" in output, output
    kept = json.loads(ledger.read_text())
    assert 1 <= len(kept) < 3, kept
    cluster.stop()
    cluster.start()
    code, output = grade(cluster, where, out)
    assert code == 0 and f"{3 - len(kept)} to grade" in output, output
    assert all(same_grades(row, examples_graded[1]["erin"]) for row in rows(out).values()), rows(out)
