"""Grading at scale through Dask, measured and modelled (docs/scale.md prints its output).

    python -m benchmarks.scale [--submissions K] [--tiny T]

In one run, on this machine, with a Dask scheduler and workers started as separate processes over TCP on
127.0.0.1 (``./kit worker``'s command), each of one thread and one BLAS thread:

1. bare: the correct example (examples/submissions/alice.ipynb) run top to bottom by nbclient with one
   BLAS thread, no grader: what the notebook itself costs (median of 3);
2. t₁ and F: ``./kit grade --scheduler`` on 1 and on K copies of it with 1 worker process: the seconds per
   submission are the slope, (time(K) - time(1)) / (K - 1), and the run's fixed cost F the rest of time(1);
3. t_W and s(2): K copies with 2 worker processes: t_2 = 2 (time - F) / K per worker, s(2) = 2 t₁ / t_2;
4. c: the coordinator's own cost per submission (the ledger, the gradebook merge, the feedback file), on T
   tiny notebooks through the same scheduler, whose workers send back at once a real result bundle (the
   blank example's, graded once, made the student's) instead of grading: the wall time of that run over T;
5. the model of docs/scale.md: wall = F + max(ceil(N/P) t_W + c, t_W + N c) for a class of 1,000 on 10
   machines of 2 cores and of 10,000 on 100.
"""
import argparse
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.assignment import release
from autograder.classrun import cluster
from autograder.classrun.grade import ClassGrader
from autograder.grading import course
from autograder.grading.bundle import ResultBundle
from autograder.grading.options import GradingOptions
from autograder.sandbox import kernel_launcher

EXAMPLES = release.REPO / "examples" / "submissions"
CLASSES = [(1000, 10), (10000, 100)]  # (submissions, machines of 2 cores)
CORES_PER_MACHINE = 2


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """A scheduler and ``workers`` worker processes of one thread (./kit worker's command), started as
    separate processes over TCP on 127.0.0.1, and stopped with their process groups."""

    def __init__(self, workers, folder):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.workers, self.folder, self.processes = workers, folder, []
        folder.mkdir(parents=True, exist_ok=True)

    def __enter__(self):
        from distributed import Client

        log = open(self.folder / "cluster.log", "a")
        start = dict(stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder)
        self.processes.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                                "127.0.0.1", "--port", self.address.rsplit(":", 1)[1],
                                                "--no-dashboard"], env=cluster.worker_environ(), **start))
        self.processes.append(subprocess.Popen(
            cluster.worker_command(self.address, self.workers, ["--local-directory", str(self.folder / "dask"),
                                                                "--no-dashboard"]),
            env=cluster.worker_environ(), **start))
        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=180)
        return self

    def __exit__(self, *_):
        stop_process_groups(self.processes)


def stop_process_groups(processes):
    """SIGKILL the process group of each of ``processes`` (subprocess.Popen, each started in a session of its
    own: a scheduler, a nanny and its workers) and reap them."""
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def bare_seconds():
    """Seconds (float) for nbclient to run alice's notebook with one BLAS thread, as a student's kernel."""
    with tempfile.TemporaryDirectory() as scratch:
        source = course.make_source(Path(scratch))
        notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
        os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        started = time.perf_counter()
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(source)}}).execute()
        return time.perf_counter() - started


def kit_grade_seconds(address, copies, folder):
    """Seconds (float) of ``./kit grade --scheduler address`` on ``copies`` copies of alice's notebook, in a
    new OUT whose course is prepared before the clock starts (as a class's is, once)."""
    submissions, out = folder / f"submissions-{copies}", folder / f"out-{copies}"
    submissions.mkdir(parents=True)
    for i in range(copies):
        shutil.copyfile(EXAMPLES / "alice.ipynb", submissions / f"student{i:04d}.ipynb")
    subprocess.run([sys.executable, "-c", "from autograder.classrun.grade import ClassGrader; "
                    "from autograder.grading.options import GradingOptions; "
                    f"ClassGrader({str(out)!r}, GradingOptions(), 1).prepare()"], cwd=release.REPO, check=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(submissions), "--out", str(out),
                    "--scheduler", address], cwd=release.REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def canned_bundle(folder):
    """The bytes of a real result bundle: the blank example (erin) graded once, as student 'canned'."""
    from autograder.grading import core, environment

    options = GradingOptions(tier=kernel_launcher.sandbox_tier(), blas_threads=1)
    ready = environment.prepare(folder / "environment", options)
    bundle = core.grade((EXAMPLES / "erin.ipynb").read_bytes(), "canned", ready, options, folder / "canned")
    assert bundle.success, bundle.error
    return bundle.to_bytes()


def answering(canned_file):
    """A task function for the workers (cluster.task_function's signature) that grades nothing: it sends
    back the bundle in ``canned_file`` (Path, on this machine) made the task's student's."""
    def answer(student, notebook, version, options):
        bundle = ResultBundle.from_bytes(Path(canned_file).read_bytes())
        with tempfile.NamedTemporaryFile(suffix=".db") as database:
            database.write(bundle.gradebook)
            database.flush()
            with sqlite3.connect(database.name) as db:
                db.execute("update student set id = ?", (student,))
                db.execute("update submitted_assignment set student_id = ?", (student,))
            bundle.gradebook = Path(database.name).read_bytes()
        bundle.student, bundle.version = student, version
        return bundle.to_bytes()
    return answer


def coordinator_seconds(address, tiny, folder):
    """Seconds per submission (float) of the coordinator recording ``tiny`` bundles that come back at once."""
    canned = folder / "canned.zip"
    canned.write_bytes(canned_bundle(folder))
    submissions = folder / "tiny"
    submissions.mkdir()
    blank = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    for i in range(tiny):
        blank.cells[0].source = f"x = {i}"  # each its own file and digest
        nbformat.write(blank, submissions / f"tiny{i:05d}.ipynb")
    grader = ClassGrader(folder / "tiny-out", GradingOptions(tier=kernel_launcher.sandbox_tier()), 1,
                         scheduler=address)
    grader.prepare()
    cluster.task_function = lambda: answering(canned)  # the workers answer; the coordinator is what is timed
    started = time.perf_counter()
    grader.run(submissions)
    seconds = time.perf_counter() - started
    graded = sum(entry.get("status") == "graded" for entry in grader.ledger.entries.values())
    assert graded == tiny, f"{graded} of {tiny} recorded as graded"
    return seconds / tiny


def predicted(students, machines, t_1, speedup, fixed, coordinator):
    """(seconds, what bounds them) for ``students`` on ``machines`` of CORES_PER_MACHINE workers."""
    workers = machines * CORES_PER_MACHINE
    t_w = CORES_PER_MACHINE * t_1 / speedup
    grading = math.ceil(students / workers) * t_w + coordinator
    recording = t_w + students * coordinator
    return fixed + max(grading, recording), "the workers" if grading >= recording else "the coordinator"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=4, help="K, copies graded per run (default 4)")
    parser.add_argument("--tiny", type=int, default=1000, help="T, tiny notebooks for the coordinator (default 1000)")
    args = parser.parse_args(argv)
    k = args.submissions
    print(f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f}; "
          f"sandbox tier {kernel_launcher.sandbox_tier()}", flush=True)
    bare = statistics.median(bare_seconds() for _ in range(3))
    print(f"bare nbclient run of the notebook, 1 BLAS thread: {bare:.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        with LocalCluster(1, scratch / "one") as one:
            once = kit_grade_seconds(one.address, 1, one.folder)
            many = kit_grade_seconds(one.address, k, one.folder)
        t_1 = (many - once) / (k - 1)
        fixed = once - t_1
        print(f"1 worker: 1 submission {once:.1f} s, {k} submissions {many:.1f} s -> t1 = {t_1:.2f} s per "
              f"submission ({t_1 / bare:.2f}x the bare run; goal at most 1.25x), F = {fixed:.1f} s (goal at most 5 s)",
              flush=True)
        with LocalCluster(2, scratch / "two") as two:
            both = kit_grade_seconds(two.address, 2 * k, two.folder)
            t_2 = 2 * (both - fixed) / (2 * k)
            speedup = 2 * t_1 / t_2
            print(f"2 workers: {2 * k} submissions {both:.1f} s -> t2 = {t_2:.2f} s per submission per worker, "
                  f"s(2) = {speedup:.2f}x (goal at least 1.8x)", flush=True)
            coordinator = coordinator_seconds(two.address, args.tiny, two.folder)
            print(f"coordinator: {coordinator:.3f} s per submission on {args.tiny} tiny notebooks (goal under 0.2 s)",
                  flush=True)
    print("\npredicted with wall = F + max(ceil(N/P) t_W + c, t_W + N c), P = machines x 2 workers:")
    for students, machines in CLASSES:
        seconds, bound = predicted(students, machines, t_1, speedup, fixed, coordinator)
        print(f"  {students:>6} submissions on {machines:>3} machines of 2 cores: {seconds:7.0f} s "
              f"({seconds / 60:.1f} min), bound by {bound}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
