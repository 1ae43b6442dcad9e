"""Grading a class through a Dask cluster: ``./kit grade SUBMISSIONS --out OUT --scheduler tcp://HOST:8786``,
with workers started on each grading machine by ``./kit worker tcp://HOST:8786 [--nworkers N]``, which is

    python -m autograder.classrun.cluster tcp://HOST:8786 [--nworkers N] [dask worker's options]

(``dask worker`` with N processes of one thread each, default one per core, in the kit's environment).

No folder is shared. Each task carries the student id, the submission's bytes, the coordinator's master
version and the GradingOptions; the worker grades them against the grading environment it makes from its
own kit (once per worker process, in its own local directory), with the local pool's worker-side
function (pool.grade_to_bytes), and sends back the ResultBundle as bytes, which the coordinator records
as it records a local pool's. A worker whose kit has another master version refuses the task.

Faults are left to Dask: a task whose worker dies (out of memory, killed, or ended by its own watchdog
when the grading goes KILL_MARGIN seconds past the submission timeout) is run again on another, until the scheduler's
``allowed-failures`` (distributed.scheduler.allowed-failures, 3 by default) is passed; then it is an
error row (KILLED). At most as many tasks as the cluster has threads are given to the scheduler at
once, so that a worker that dies was grading the one task it holds, and no other is blamed for its
death (and the scheduler holds the bytes of a few notebooks, not of the class). The scheduler lost,
the run stops (SchedulerLost) with what was graded recorded. (distributed is imported where it is
used: a run on this machine alone does not pay for it.)
"""
import argparse
import collections
import dataclasses
import hashlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.assignment import release
from autograder.classrun.pool import KILL_MARGIN, grade_to_bytes
from autograder.grading import environment
from autograder.grading.bundle import ResultBundle
from autograder.grading.options import GradingOptions, usable_cores
from autograder.outputs.terminal import plural, printable
from autograder.sandbox import kernel_launcher

RETRIES = 2  # a task that raised (a worker refused it) is given again, maybe to another worker
CONNECT_TIMEOUT = 30  # seconds to reach the scheduler
WORKER_BLAS_THREADS = 1  # ./kit worker: one single-threaded worker process per core
WORKER_TIER = "full"  # the sandbox tier a run through a scheduler asks of the workers, unless --no-sandbox
KILLED = ("killed the worker that graded it {times} times (its grading process died each time: out of memory, "
          "past its time, or killed)")
WORK = "hw2-grading"  # in a worker's local directory: its grading environments and private courses


class WorkerRefused(RuntimeError):
    """A worker cannot grade a task as the coordinator asks; the message says why."""


class SchedulerLost(RuntimeError):
    """The scheduler cannot be reached, or was lost during a run; the message says how far the run got."""


@dataclass(frozen=True)
class ClusterTask:
    """One submission to grade on a worker: student (str), notebook (bytes, as submitted), version (str,
    the coordinator's master version) and options (GradingOptions): nothing of the coordinator's folders."""
    student: str
    notebook: bytes
    version: str
    options: GradingOptions

    @property
    def key(self):
        """The task's Dask key (str): the student, and a digest of what the grading depends on."""
        digest = hashlib.sha256(b"\0".join([self.student.encode(), self.notebook, self.version.encode(),
                                            repr(self.options).encode()])).hexdigest()[:16]
        return f"hw2-grade-{printable(self.student)}-{digest}"


# --- on a worker --------------------------------------------------------------------------------------

def task_function():
    """The function each task runs: grade_on_worker with the GradingOptions' fields as a dict. The scheduler
    unpickles every task, and a plain ``dask scheduler`` has nothing of the kit: made here as a local
    function, which pickle cannot send by reference, it travels by value (Dask falls back on cloudpickle),
    its arguments are plain values, and it imports the kit on the worker."""
    def run_task(student, notebook, version, options):
        from autograder.classrun.cluster import grade_on_worker
        from autograder.grading.options import GradingOptions

        return grade_on_worker(student, notebook, version, GradingOptions(**options))
    return run_task


_environments = {}  # GradingOptions: GradingEnvironment, made once in this worker process
_thread = threading.local()  # .isolated: environment.isolate_grading_process ran in this thread


def grade_on_worker(student, notebook, version, options):
    """Grade ``notebook`` (bytes) of ``student`` (str) on this Dask worker with ``options`` (GradingOptions),
    against the grading environment of this worker's own kit; return the ResultBundle as bytes.

    Raises WorkerRefused when this kit's master version is not ``version`` (str, the coordinator's) or
    this machine cannot give the options' sandbox tier."""
    from distributed import get_worker

    machine = kernel_launcher.sandbox_tier()
    if kernel_launcher.TIERS.index(machine) > kernel_launcher.TIERS.index(options.tier):
        raise WorkerRefused(f"the worker cannot give the {options.tier} sandbox tier the run asks for (it can: "
                            f"{machine}; run ./kit worker as root, or grade with --no-sandbox)")
    folder = Path(get_worker().local_directory) / WORK
    ready = worker_environment(options, folder)
    if ready.version != version:
        raise WorkerRefused(f"the worker's kit has master version {ready.version}, the coordinator's "
                            f"{version}: run the same kit on both machines (the same commit, ./kit build)")
    watchdog = threading.Timer(options.submission_timeout + KILL_MARGIN, end_overdue, args=(student, options))
    watchdog.daemon = True
    watchdog.start()
    try:
        return grade_to_bytes(student, notebook, ready, options, folder / f"grading-{threading.get_ident()}")
    finally:
        watchdog.cancel()


def end_overdue(student, options):
    """End this worker process, whose grading of ``student`` has gone KILL_MARGIN seconds past the
    submission timeout of ``options`` (as the local pool kills such a worker): its kernels go with it, its
    nanny starts another, and the scheduler gives the task to a worker again, up to allowed-failures."""
    print(f"grading {printable(student)} took longer than {options.submission_timeout + KILL_MARGIN} s: this worker "
          "process ends", file=sys.stderr, flush=True)
    os._exit(3)


def worker_environment(options, folder):
    """This worker's GradingEnvironment for ``options`` (GradingOptions), made once per process in a folder
    of ``folder`` (Path); the calling thread, which grades, set up as every grading process is
    (environment.isolate_grading_process: with the full tier, a mount namespace of its own)."""
    if not getattr(_thread, "isolated", False) or (options.ipc_tmpfs_mb and not environment.has_private_mounts()):
        environment.isolate_grading_process(options)
        _thread.isolated = True
    if options not in _environments:
        digest = hashlib.sha256(repr(options).encode()).hexdigest()[:12]
        _environments[options] = environment.prepare(folder / f"environment-{digest}", options)
    return _environments[options]


# --- on the coordinator ---------------------------------------------------------------------------------

def killed_error(error):
    """The error row's reason (str) for KilledWorker ``error``: how many workers died grading the task."""
    return KILLED.format(times=error.allowed_failures + 1)


class ClusterPool:
    """Grades tasks on the workers of the Dask scheduler at ``address`` (str, tcp://HOST:PORT) and hands each
    ResultBundle to ``record`` (a callable taking the task's key and the bundle) in this process, as it
    arrives: the interface of pool.LocalPool."""

    def __init__(self, address, options, record):
        self.address, self.options, self.record = address, options, record

    def task(self, student, notebook, environment):
        """The ClusterTask of grading ``notebook`` (bytes) of ``student`` (str) under ``environment``'s version."""
        return ClusterTask(student=student, notebook=notebook, version=environment.version, options=self.options)

    def grade_all(self, todo):
        """Grade ``todo`` ({key: ClusterTask}) on the cluster, recording each bundle as it comes.

        Raises SchedulerLost when the scheduler cannot be reached or is lost (what was recorded stays)."""
        from distributed import Client, as_completed

        try:
            client = Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise SchedulerLost(f"cannot reach the Dask scheduler at {self.address} ({error})") from None
        recorded = 0
        try:
            with tqdm(total=len(todo), unit="submission", desc="grading", dynamic_ncols=True) as bar:
                tqdm.write(f"Dask scheduler {self.address}: {self._describe(client)}")
                waiting, running, keys = collections.deque(todo), as_completed(loop=client.loop), {}
                self._submit(client, todo, waiting, running, keys)
                for finished in running.batches():
                    finished = [(future, keys.pop(future.key)) for future in finished]
                    # the threads that finished start their next submissions before these are recorded:
                    # no worker waits for the coordinator
                    self._submit(client, todo, waiting, running, keys)
                    for future, key in finished:
                        self.record(key, self._bundle(client, future, todo[key]))
                        recorded += 1
                        bar.set_postfix_str(printable(todo[key].student))
                        bar.update()
        except (SchedulerLost, OSError) as error:
            raise SchedulerLost(f"lost the Dask scheduler at {self.address} ({error}): {recorded} of {len(todo)} "
                                "graded and recorded") from None
        finally:
            client.close(timeout=5)

    @staticmethod
    def _describe(client):
        """The cluster as the terminal says it: '2 workers, 2 threads' (str)."""
        threads = client.nthreads()
        return f"{plural(len(threads), 'worker')}, {plural(sum(threads.values()), 'thread')}" if threads else \
            "no worker yet (waiting for one)"

    def _submit(self, client, todo, waiting, running, keys):
        """Give the scheduler tasks from ``waiting`` (deque of keys of ``todo``) until as many run as the
        cluster has threads (one at least, when it has none yet); ``keys``: {Dask key: key of todo}."""
        threads = sum(client.nthreads().values())
        while waiting and running.count() < max(1, threads):
            key = waiting.popleft()
            task = todo[key]
            keys[task.key] = key
            running.add(client.submit(task_function(), task.student, task.notebook, task.version,
                                      dataclasses.asdict(task.options), key=task.key, retries=RETRIES))

    def _bundle(self, client, future, task):
        """The ResultBundle ``future`` (of ``task``, a ClusterTask) gave, or an error bundle saying why none
        came; raises SchedulerLost when it was cancelled because the scheduler is gone."""
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        try:
            return ResultBundle.from_bytes(future.result())
        except KilledWorker as error:
            reason = killed_error(error)
        except FutureCancelledError as error:
            if client.status != "running":
                raise SchedulerLost(error.reason or "the connection was closed") from None
            reason = f"cancelled on the cluster ({error.reason})"
        except Exception as error:  # raised on the worker after RETRIES: a refusal or a bug, said as it happens
            reason = str(error) if isinstance(error, WorkerRefused) else \
                f"the worker failed: {type(error).__name__}: {error}"
            tqdm.write(f"{printable(task.student)}: {reason}")
        finally:
            future.release()
        return ResultBundle(student=task.student, version=task.version, error=reason)


def options_for_cluster(options):
    """``options`` (GradingOptions) with one BLAS thread per kernel when they set none (WORKER_BLAS_THREADS)."""
    return options if options.blas_threads is not None else dataclasses.replace(options,
                                                                                blas_threads=WORKER_BLAS_THREADS)


def worker_command(scheduler, nworkers, options):
    """The command line (list of str) of ``nworkers`` (int) Dask worker processes of one thread for the
    scheduler at ``scheduler`` (str), with ``options`` (list of str) of dask worker's own."""
    return [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, "--nthreads", "1",
            "--nworkers", str(nworkers), *options]


def worker_environ():
    """The environment of the kit's workers (dict): this one, with the kit importable from any folder, this
    interpreter's bin/ first on PATH, matplotlib headless, and Dask's statistical profiler off (every 10 ms it
    walks the grading thread's stack, which holds the GIL the grader needs; the dashboard's profile page
    stays empty)."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(release.REPO), path])), MPLBACKEND="Agg",
                PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
                DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED="False")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scheduler", help="the Dask scheduler's address, tcp://HOST:8786")
    parser.add_argument("--nworkers", type=int, default=usable_cores(),
                        help="worker processes, each grading one submission at a time (default: cores)")
    args, options = parser.parse_known_args(argv)
    if "--nthreads" in options:
        parser.error("each worker process grades one submission at a time: --nthreads is always 1")
    command = worker_command(args.scheduler, args.nworkers, options)
    print(f"grading workers for {args.scheduler}: {args.nworkers} processes of one thread; the sandbox tier they can "
          f"give: {kernel_launcher.sandbox_tier()} (SECURITY.md)", flush=True)
    os.execve(command[0], command, worker_environ())


if __name__ == "__main__":
    main()
