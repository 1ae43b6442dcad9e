"""Grading workers on a SLURM cluster: a Dask scheduler on this machine (the login node) and batch jobs
of grading workers that connect to it, made by dask-jobqueue's SLURMCluster.

    python -m autograder.classrun.slurm --jobs 10 [--processes 2] [--walltime 02:00:00] [--queue Q] [--account A]
    python -m autograder.classrun.slurm --print-job-script [the same options]

Run from the kit's folder on the login node; the kit (this folder, with its .venv made by ./kit on a machine
like the nodes) must be at the same path on every node, as a shared home gives it. Each job asks SLURM
for one task of --processes cores and runs --processes Dask worker processes of one thread each (one
submission at a time each), in the kit's environment (its .venv activated, MPLBACKEND=Agg, the kit on
the Python path). Memory: per worker process, the limits the kit sets itself (the grader's address
space, autograder.grading.environment.GRADER_MEMORY_MB, plus the kernel's --memory-mb), so SLURM's limit
is never met before the kit's own.

Connections are TLS by default: a self-signed certificate and key made for this run (openssl) are
written to a folder only you can enter under --credentials (a folder the nodes see; your home by
default), given to the scheduler, the workers and the coordinator, and removed when this command ends:
only holders of that key can connect. Without TLS (--no-tls) anyone who can reach the scheduler's port
can run code on every worker as you.

With --jobs the command submits the jobs (sbatch), prints the ./kit grade line that grades through them
and waits; Ctrl-C (or SIGTERM) cancels the jobs (scancel) and stops the scheduler. --print-job-script
prints the batch script a job runs and submits nothing. SLURM runs the jobs as your user, not root: the
student's kernel runs in the sandbox's tier "none" there (SECURITY.md; docs/scale.md says what follows).
"""
import argparse
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from dask_jobqueue import SLURMCluster
from distributed.security import Security

from autograder.assignment.master import REPO
from autograder.grading.environment import GRADER_MEMORY_MB
from autograder.grading.options import GradingOptions

MB = 1024 * 1024
THREADS_PER_WORKER = 1  # a worker grades one submission at a time
SCHEDULER_PORT = 8786  # Dask's own default


@dataclass(frozen=True)
class SlurmWorkers:
    """The grading workers' jobs.

    kit: Path, the kit's folder, at this path on every node
    processes: int, worker processes (and cores) per job
    memory_mb_per_worker: int, memory asked of SLURM per worker process
    walltime: str, SLURM's time limit of a job (HH:MM:SS): longer than the class takes to grade
    queue, account: str or None, SLURM's partition (-p) and account (-A)
    port: int, the scheduler's port on this machine
    interface: str or None, the network interface of the scheduler and workers (e.g. ib0); None: Dask's choice
    dashboard: str, the address of Dask's dashboard: on this machine only by default (ssh -L 8787:localhost:8787
        to see it); another port when 8787 is taken (a shared login node)
    log_directory: Path or None, the jobs' stdout and stderr (SLURM's default: the folder sbatch ran in)
    """
    kit: Path = REPO
    processes: int = 2
    memory_mb_per_worker: int = GRADER_MEMORY_MB + GradingOptions().memory_mb
    walltime: str = "02:00:00"
    queue: str | None = None
    account: str | None = None
    port: int = SCHEDULER_PORT
    interface: str | None = None
    dashboard: str = "127.0.0.1:8787"
    log_directory: Path | None = None


def job_script_prologue(kit):
    """The shell lines (list of str) a job runs before its workers: the kit's environment, as ./kit makes
    it (its .venv first on PATH, matplotlib without a display), with the kit importable."""
    kit = shlex.quote(str(kit))
    return [f"cd {kit}", "source .venv/bin/activate", "export MPLBACKEND=Agg",
            f"export PYTHONPATH={kit}${{PYTHONPATH:+:$PYTHONPATH}}"]


@contextmanager
def run_credentials(folder):
    """Yield the Security (distributed.security) of one run: TLS required, with a self-signed certificate
    and key made by openssl in a new folder under ``folder`` (Path) that only this user can enter; the
    scheduler, the workers and the coordinator all present that certificate, and trust it alone. The
    folder is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hw2-dask-tls-", dir=folder) as directory:
        cert, key = str(Path(directory) / "cert.pem"), str(Path(directory) / "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7",
                        "-subj", "/CN=hw2 grading", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        yield Security(tls_ca_file=cert, tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert,
                       tls_worker_key=key, tls_client_cert=cert, tls_client_key=key, require_encryption=True)


def slurm_cluster(workers, security=None):
    """A SLURMCluster for ``workers`` (SlurmWorkers), over TLS with ``security`` (Security, from
    run_credentials; None: plain TCP): its scheduler runs in this process (started here, so close it),
    its jobs run Dask workers of THREADS_PER_WORKER thread with the kit's Python. Nothing is submitted
    until it is scaled."""
    return SLURMCluster(
        cores=workers.processes * THREADS_PER_WORKER, processes=workers.processes,
        memory=f"{workers.processes * workers.memory_mb_per_worker * MB}B",
        walltime=workers.walltime, queue=workers.queue, account=workers.account,
        interface=workers.interface, log_directory=str(workers.log_directory) if workers.log_directory else None,
        python=str(Path(workers.kit) / ".venv" / "bin" / "python"),
        job_script_prologue=job_script_prologue(workers.kit), job_name="hw2-grading",
        scheduler_options={"port": workers.port, "dashboard_address": workers.dashboard}, security=security)


def coordinator_command(cluster):
    """The command (str) that grades a class through ``cluster``'s scheduler: ./kit grade with --scheduler,
    and with TLS the run's credentials in Dask's configuration variables."""
    security = cluster.security
    environment = ""
    if security is not None and security.require_encryption:
        environment = " ".join(f"DASK_DISTRIBUTED__COMM__TLS__{name}={shlex.quote(path)}" for name, path in [
            ("CA_FILE", security.tls_ca_file), ("CLIENT__CERT", security.tls_client_cert),
            ("CLIENT__KEY", security.tls_client_key)]) + " "
    return f"{environment}./kit grade SUBMISSIONS --out OUT --scheduler {cluster.scheduler_address}"


def serve(cluster, jobs, stop):
    """Submit ``jobs`` (int) jobs of ``cluster``, say how to grade through them, and wait until ``stop``
    (threading.Event) is set; then cancel the jobs and stop the scheduler."""
    try:
        cluster.scale(jobs=jobs)
        print(f"{jobs} SLURM job(s) of grading workers submitted; the scheduler is {cluster.scheduler_address}.\n"
              f"Grade through them, from the kit's folder:\n  {coordinator_command(cluster)}\n"
              "Ctrl-C here cancels the jobs.", flush=True)
        stop.wait()
    finally:
        cluster.close()


def main(argv=None):
    defaults = SlurmWorkers()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--jobs", type=int, help="submit this many jobs and wait (Ctrl-C cancels them)")
    action.add_argument("--print-job-script", action="store_true", help="print a job's batch script; submit nothing")
    parser.add_argument("--kit", type=Path, default=defaults.kit,
                        help="the kit's folder on the nodes (default: this one)")
    parser.add_argument("--processes", type=int, default=defaults.processes,
                        help=f"worker processes (and cores) per job (default: {defaults.processes})")
    parser.add_argument("--memory-mb-per-worker", type=int, default=defaults.memory_mb_per_worker,
                        help=f"memory per worker process, in MB (default: {defaults.memory_mb_per_worker}: the "
                             "grader's and the kernel's limits)")
    parser.add_argument("--walltime", default=defaults.walltime,
                        help=f"time limit of a job (default: {defaults.walltime})")
    parser.add_argument("--queue", help="SLURM partition")
    parser.add_argument("--account", help="SLURM account")
    parser.add_argument("--port", type=int, default=defaults.port,
                        help=f"the scheduler's port (default: {defaults.port})")
    parser.add_argument("--interface", help="network interface of the scheduler and workers, e.g. ib0")
    parser.add_argument("--dashboard", default=defaults.dashboard,
                        help=f"address of Dask's dashboard (default: {defaults.dashboard})")
    parser.add_argument("--no-tls", dest="tls", action="store_false", help="plain TCP (anyone reaching the port "
                                                                           "can run code on the workers)")
    parser.add_argument("--credentials", type=Path, default=Path.home(),
                        help="folder the nodes see, for the run's TLS certificate (default: your home)")
    parser.add_argument("--log-directory", type=Path, help="folder for the jobs' output")
    args = parser.parse_args(argv)
    workers = SlurmWorkers(kit=args.kit.resolve(), processes=args.processes,
                           memory_mb_per_worker=args.memory_mb_per_worker, walltime=args.walltime, queue=args.queue,
                           account=args.account, port=args.port, interface=args.interface,
                           dashboard=args.dashboard, log_directory=args.log_directory)
    with run_credentials(args.credentials) if args.tls else nullcontext() as security:
        if args.print_job_script:
            with slurm_cluster(workers, security) as cluster:
                print(cluster.job_script())
            return
        cluster = slurm_cluster(workers, security)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            serve(cluster, args.jobs, stop)
        except KeyboardInterrupt:
            print("stopped: the jobs are cancelled", file=sys.stderr)


if __name__ == "__main__":
    main()
