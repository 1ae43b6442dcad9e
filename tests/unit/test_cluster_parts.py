"""The Dask path's parts that need no cluster (autograder/classrun/cluster.py): a worker refuses another
master version or a sandbox tier it cannot give, the error rows of a task that found no result, and a
task that a scheduler without the kit can unpickle. tests/e2e/test_cluster.py grades through a real one."""
import dataclasses
import pickle
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import cloudpickle
import distributed
import pytest
from distributed.client import FutureCancelledError
from distributed.scheduler import KilledWorker

from autograder.classrun import cluster
from autograder.grading.environment import GradingEnvironment
from autograder.grading.options import GradingOptions


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """This process as a Dask worker whose kit has master version "aaaa1111" (its environment made already,
    its grading thread set up: neither touches this process)."""
    monkeypatch.setattr(distributed, "get_worker", lambda: SimpleNamespace(local_directory=str(tmp_path)))
    monkeypatch.setattr(cluster._thread, "isolated", True, raising=False)
    options = GradingOptions(blas_threads=1)
    monkeypatch.setitem(cluster._environments, options, GradingEnvironment(tmp_path, tmp_path, "aaaa1111"))
    return options


def test_a_worker_refuses_another_master_version_naming_both(worker):
    with pytest.raises(cluster.WorkerRefused) as refused:
        cluster.grade_on_worker("ann", b"{}", "bbbb2222", worker)
    assert "the worker's kit has master version aaaa1111, the coordinator's bbbb2222" in str(refused.value)


def test_a_worker_refuses_a_sandbox_tier_it_cannot_give(worker, monkeypatch):
    monkeypatch.setattr(cluster.kernel_launcher, "sandbox_tier", lambda: "none")
    with pytest.raises(cluster.WorkerRefused, match="cannot give the full sandbox tier the run asks for"):
        cluster.grade_on_worker("ann", b"{}", "aaaa1111", dataclasses.replace(worker, tier="full"))


class Future:
    """A finished Dask future whose result() raises ``error``."""
    key = "hw2-grade-ann-0"

    def __init__(self, error):
        self.error, self.released = error, False

    def result(self):
        raise self.error

    def release(self):
        self.released = True


TASK = cluster.ClusterTask("ann", b"{}", "aaaa1111", GradingOptions())


def bundle_for(error, status="running"):
    future = Future(error)
    bundle = cluster.ClusterPool("tcp://127.0.0.1:1", GradingOptions(), None)._bundle(
        SimpleNamespace(status=status), future, TASK)
    assert future.released
    return bundle


def test_a_task_that_killed_its_workers_is_an_error_row_saying_how_many_times():
    bundle = bundle_for(KilledWorker("hw2-grade-ann-0", None, 2))
    assert (bundle.student, bundle.success, bundle.version) == ("ann", False, "aaaa1111")
    assert bundle.error.startswith("killed the worker that graded it 3 times"), bundle.error


def test_a_refusal_is_the_error_row_and_is_said_in_the_terminal(capsys):
    bundle = bundle_for(cluster.WorkerRefused("the worker's kit has master version x, the coordinator's y: ..."))
    assert bundle.error == "the worker's kit has master version x, the coordinator's y: ..."
    assert "ann: the worker's kit has master version x" in capsys.readouterr().out


def test_a_task_cancelled_by_a_lost_scheduler_stops_the_run():
    with pytest.raises(cluster.SchedulerLost, match="scheduler-connection-lost"):
        bundle_for(FutureCancelledError("hw2-grade-ann-0", "scheduler-connection-lost"), status="closed")


def test_a_task_needs_nothing_of_the_kit_to_be_unpickled(tmp_path):
    """The scheduler unpickles every task: its function and arguments load in a Python without the kit."""
    function = cluster.task_function()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(function)  # so Dask sends it by value, with cloudpickle
    sent = cloudpickle.dumps((function, TASK.student, TASK.notebook, TASK.version, dataclasses.asdict(TASK.options)))
    loaded = subprocess.run([sys.executable, "-I", "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                            input=sent, cwd=tmp_path, capture_output=True)
    assert loaded.returncode == 0, loaded.stderr.decode()


def test_a_task_key_names_the_student_and_changes_with_what_grading_depends_on():
    key = TASK.key
    assert key.startswith("hw2-grade-ann-") and key == cluster.ClusterTask("ann", b"{}", "aaaa1111", GradingOptions()).key
    assert key != dataclasses.replace(TASK, notebook=b"{ }").key != dataclasses.replace(TASK, version="c").key
    assert key != dataclasses.replace(TASK, options=GradingOptions(cell_timeout=5)).key


def test_a_grading_past_its_time_ends_the_worker_process(worker, monkeypatch):
    """As the local pool kills a worker past the submission timeout and KILL_MARGIN, the worker's watchdog
    ends its process (end_overdue: os._exit, replaced here; its nanny starts another, the scheduler gives
    the task again)."""
    ended = threading.Event()
    monkeypatch.setattr(cluster, "KILL_MARGIN", 0)
    monkeypatch.setattr(cluster, "end_overdue", lambda student, options: ended.set())
    monkeypatch.setattr(cluster, "grade_to_bytes", lambda *args: ended.wait(10) and b"over")
    options = dataclasses.replace(worker, submission_timeout=1)
    monkeypatch.setitem(cluster._environments, options, cluster._environments[worker])
    started = time.monotonic()
    assert cluster.grade_on_worker("ann", b"{}", "aaaa1111", options) == b"over"
    assert 0.9 < time.monotonic() - started < 9


def test_a_scheduler_that_cannot_be_reached_stops_the_run_saying_where(monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: connections refused
        with pytest.raises(cluster.SchedulerLost, match=f"cannot reach the Dask scheduler at {address}"):
            cluster.ClusterPool(address, GradingOptions(), None).grade_all({"ann": TASK})
