"""Grading submissions in parallel on this machine: a pool of long-lived worker processes, each
grading one submission at a time with the grading core and sending back its result bundle as bytes.

A worker that dies (out of memory, killed for going past its time) breaks the pool: the submissions
it may have been grading are graded again each in a pool of its own, so that a crash is charged only
to the submission that causes it. A worker exits when the grading process is gone, and the kernel
launcher kills a kernel whose worker is gone: nothing outlives a run.
"""
import fcntl
import multiprocessing
import os
import select
import shutil
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.grading import core
from autograder.grading.bundle import ResultBundle
from autograder.grading.environment import GradingEnvironment, isolate_grading_process
from autograder.grading.options import GradingOptions
from autograder.outputs.terminal import printable

KILL_MARGIN = 120  # seconds past the submission timeout before a worker process is killed


@dataclass(frozen=True)
class Task:
    """One submission to grade: student (str), notebook (bytes, as submitted), environment
    (GradingEnvironment), options (GradingOptions), and the worker's files under the run's work
    folder: work (Path, its private course), pid_file, lock_file and log_file (Path)."""
    student: str
    notebook: bytes
    environment: GradingEnvironment
    options: GradingOptions
    work: Path
    pid_file: Path
    lock_file: Path
    log_file: Path


def init_worker(grader_pid, options):
    """Set up a pool worker as every grading process is (environment.isolate_grading_process: its own
    mounts, a memory limit), and watch the grading process, so that the worker exits when that
    process is gone (killed, say): it never goes on grading, nor idles holding memory, for a run
    that has ended."""
    isolate_grading_process(options)  # before the watch's thread starts
    threading.Thread(target=_exit_with, args=(grader_pid,), daemon=True, name="watch-grader").start()


def _exit_with(pid):
    """Wait until process ``pid`` has exited, then end this process."""
    try:
        select.select([os.pidfd_open(pid)], [], [])  # readable once the process has exited; immune to pid reuse
    except (AttributeError, OSError):  # no pidfd here: look every second
        while os.path.exists(f"/proc/{pid}"):
            time.sleep(1)
    os._exit(3)  # the kernel launcher sees its parent go and kills the kernel


def grade_in_worker(task):
    """Grade ``task`` (Task) in a pool worker with the grading core; return its ResultBundle as bytes.

    The student's folder is locked while it is graded, so that a run never races a worker left over
    from an earlier run for it."""
    with open(task.lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        task.pid_file.write_text(str(os.getpid()))
        with open(task.log_file, "w") as log:  # nbgrader's and the kernel's chatter, kept off the progress bar
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        try:
            return grade_to_bytes(task.student, task.notebook, task.environment, task.options, task.work)
        finally:
            task.pid_file.unlink(missing_ok=True)


def grade_to_bytes(student, notebook, environment, options, work):
    """Grade ``notebook`` (bytes) of ``student`` (str) with the grading core against ``environment``
    (GradingEnvironment) with ``options`` (GradingOptions) in the folder ``work`` (Path, removed after);
    return its ResultBundle as bytes. The grading itself of every worker: this machine's pool and a
    Dask cluster's workers (autograder.classrun.cluster) both call it."""
    started = time.perf_counter()
    try:
        bundle = core.grade(notebook, student, environment, options, work)
    except Exception as error:  # a bug or an I/O failure: an error row, not a stopped batch
        bundle = ResultBundle(student=student, version=environment.version,
                              error=f"the grader failed: {type(error).__name__}: {error}")
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the bundle holds all that is kept
    bundle.seconds = time.perf_counter() - started
    return bundle.to_bytes()


class LocalPool:
    """Grades tasks in worker processes on this machine and hands each ResultBundle to ``record``
    (a callable taking the task's key and the bundle) in the grading process, as it arrives."""

    def __init__(self, work, workers, options, record):
        self.work, self.workers, self.options, self.record = Path(work), workers, options, record
        self.running = self.work / "running"
        for folder in [self.running, self.work / "logs", self.work / "locks", self.work / "students"]:
            folder.mkdir(parents=True, exist_ok=True)

    def task(self, student, notebook, environment):
        """The Task of grading ``notebook`` (bytes) of ``student`` (str) against ``environment``."""
        return Task(student=student, notebook=notebook, environment=environment, options=self.options,
                    work=self.work / "students" / student, pid_file=self.running / f"{student}.pid",
                    lock_file=self.work / "locks" / f"{student}.lock", log_file=self.work / "logs" / f"{student}.log")

    def grade_all(self, todo):
        """Grade ``todo`` ({key: Task}) in pools of workers, recording each bundle as it comes."""
        with tqdm(total=len(todo), unit="submission", desc="grading", dynamic_ncols=True) as bar:
            suspects = {}
            while todo:
                todo, crashed = self._grade_in_pool(todo, bar, self.workers)
                suspects.update(crashed)
            for key, task in suspects.items():
                self._grade_in_pool({key: task}, bar, 1, alone=True)

    def _grade_in_pool(self, todo, bar, workers, alone=False):
        """Grade in a pool of long-lived worker processes (nbgrader is imported once per worker).

        Returns ({key: Task} that never started, {key: Task} whose worker died while grading them)
        when a worker dies: a submission that outlives its timeout has its worker killed, and out of
        memory the system kills one; either breaks the pool. ``alone``: the only submission in its
        pool, so a crash is its own.
        """
        context = multiprocessing.get_context("forkserver")
        # imported once in the fork server, not in each worker: the core, and pyplot, which the reference
        # solution's definitions import (a second or so each)
        context.set_forkserver_preload(["autograder.grading.core", "matplotlib.pyplot"])
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker,
                                   initargs=(os.getpid(), self.options))
        futures = {pool.submit(grade_in_worker, task): key for key, task in todo.items()}
        not_started, crashed, killed = {}, {}, set()
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=1, return_when=FIRST_COMPLETED)
                for future in done:
                    key = futures[future]
                    task = todo[key]
                    try:
                        bundle = ResultBundle.from_bytes(future.result())
                    except BrokenProcessPool:
                        was_running = task.pid_file.exists()
                        task.pid_file.unlink(missing_ok=True)
                        if task.student in killed:
                            error = (f"grading took longer than {self.options.submission_timeout + KILL_MARGIN} s "
                                     "and was stopped")
                        elif alone:
                            error = "the grading process died while grading this submission alone (out of memory, or killed)"
                        else:
                            (crashed if was_running else not_started)[key] = task
                            continue
                        bundle = ResultBundle(student=task.student, version=task.environment.version, error=error)
                    self.record(key, bundle)
                    bar.set_postfix_str(printable(task.student))
                    bar.update()
                killed |= self._kill_overdue()
        except KeyboardInterrupt:
            # drop what has not started, stop what has: nothing unmerged reaches the gradebook
            pool.shutdown(wait=False, cancel_futures=True)
            self._kill_overdue(after=0)
            raise
        pool.shutdown()
        return not_started, crashed

    def _kill_overdue(self, after=None):
        """Kill the workers whose submission has run for more than ``after`` seconds (default: past
        its time); return those students."""
        after = self.options.submission_timeout + KILL_MARGIN if after is None else after
        killed = set()
        for pid_file in self.running.glob("*.pid"):
            try:
                if time.time() - pid_file.stat().st_mtime > after:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                    killed.add(pid_file.stem)
                    pid_file.unlink()
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
        return killed
