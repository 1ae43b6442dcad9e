"""Grading workers on SLURM (autograder.classrun.slurm): the batch script a job runs, the TLS that keeps
strangers off the scheduler, and the jobs submitted and cancelled, with sbatch and scancel played by
scripts that record what they were given (this machine has no SLURM). Each test starts the cluster's
scheduler on 127.0.0.1 and closes it."""
import os
import re
import shutil
import stat
import threading
import time

import dask
import pytest
from distributed import Client

from autograder.classrun import slurm
from autograder.grading.environment import GRADER_MEMORY_MB
from autograder.grading.options import GradingOptions

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the run's TLS certificate needs openssl")


def _workers(tmp_path, **given):
    return slurm.SlurmWorkers(**{"kit": tmp_path / "kit", "port": 0, "dashboard": "127.0.0.1:0", "interface": "lo",
                                 "queue": "short",
                                 "account": "cs101", "walltime": "01:30:00", **given})


def test_the_job_script_asks_slurm_for_one_core_per_worker_and_runs_them_in_the_kits_environment(tmp_path, capsys):
    """What `python -m autograder.classrun.slurm --print-job-script` prints: the sbatch directives, the kit's
    environment, one Dask worker of one thread per core, connected over TLS to the scheduler with the
    run's certificate, which is gone when the command ends. Nothing is submitted."""
    slurm.main(["--print-job-script", "--kit", str(tmp_path / "kit"), "--processes", "3", "--port", "0",
                "--dashboard", "127.0.0.1:0",
                "--interface", "lo", "--queue", "short", "--account", "cs101", "--walltime", "01:30:00",
                "--credentials", str(tmp_path)])
    script = capsys.readouterr().out
    lines = script.strip().splitlines()
    directives = [line for line in lines if line.startswith("#SBATCH")]
    per_worker_mb = GRADER_MEMORY_MB + GradingOptions().memory_mb  # the grader's and the kernel's own limits
    assert directives == ["#SBATCH -J hw2-grading", "#SBATCH -p short", "#SBATCH -A cs101", "#SBATCH -n 1",
                          "#SBATCH --cpus-per-task=3", f"#SBATCH --mem={3 * per_worker_mb // 1024}G",
                          "#SBATCH -t 01:30:00"]
    kit = tmp_path / "kit"
    command = lines[-1].split()
    prologue = lines[lines.index(directives[-1]) + 1:-1]
    assert prologue == [f"cd {kit}", "source .venv/bin/activate", "export MPLBACKEND=Agg",
                        f"export PYTHONPATH={kit}${{PYTHONPATH:+:$PYTHONPATH}}"]
    assert command[:3] == [f"{kit}/.venv/bin/python", "-m", "distributed.cli.dask_worker"]
    assert re.fullmatch(r"tls://127\.0\.0\.1:\d+", command[3]), command[3]
    option = {command[i]: command[i + 1] for i in range(4, len(command) - 1) if command[i].startswith("--")}
    assert option["--nthreads"] == "1" and option["--nworkers"] == "3" and "--nanny" in command
    assert option["--memory-limit"] == f"{per_worker_mb / 1024:.2f}GiB"
    credentials = {option[name] for name in ["--tls-ca-file", "--tls-cert", "--tls-key"]}
    assert all(path.startswith(f"{tmp_path}/hw2-dask-tls-") for path in credentials)
    assert not list(tmp_path.glob("hw2-dask-tls-*")), "the run's key is removed when the command ends"


def test_only_holders_of_the_runs_key_reach_the_scheduler_and_the_printed_command_carries_it(tmp_path):
    """The coordinator's line carries the run's certificate and key, which connect; plain TCP and the
    certificate of another run (another authority) are refused."""
    with slurm.run_credentials(tmp_path) as security:
        folder = os.path.dirname(security.tls_client_key)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, "the key's folder is this user's alone"
        with slurm.slurm_cluster(_workers(tmp_path), security) as cluster:
            command = slurm.coordinator_command(cluster)
            assert command.endswith(f"./kit grade SUBMISSIONS --out OUT --scheduler {cluster.scheduler_address}")
            given = dict(re.findall(r"DASK_DISTRIBUTED__COMM__TLS__(\w+)=(\S+)", command))
            config = {"distributed.comm.tls.ca-file": given["CA_FILE"],
                      "distributed.comm.tls.client.cert": given["CLIENT__CERT"],
                      "distributed.comm.tls.client.key": given["CLIENT__KEY"]}
            with dask.config.set(config), Client(cluster.scheduler_address, timeout=20) as client:
                assert client.scheduler_info()["address"] == cluster.scheduler_address
            with pytest.raises(Exception):  # plain TCP, no certificate: the scheduler closes the connection
                Client(cluster.scheduler_address.replace("tls://", "tcp://"), timeout=3)
            with slurm.run_credentials(tmp_path) as other, pytest.raises(Exception, match="certificate"):
                Client(cluster.scheduler_address, security=other, timeout=3)  # another run's certificate


def test_the_jobs_are_submitted_with_that_script_and_cancelled_when_the_command_stops(tmp_path, monkeypatch):
    bin_folder, calls = tmp_path / "bin", tmp_path / "calls"
    bin_folder.mkdir()
    calls.mkdir()
    for name, body in [("sbatch", f'cp "$1" {calls}/job-$$.sh; echo "Submitted batch job $$"'),
                       ("scancel", f'echo "$@" >> {calls}/scancel')]:
        (bin_folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}:{os.environ['PATH']}")
    cluster = slurm.slurm_cluster(_workers(tmp_path))  # plain TCP
    stop = threading.Event()
    serving = threading.Thread(target=slurm.serve, args=(cluster, 2, stop))
    serving.start()
    try:
        for _ in range(200):
            if len(list(calls.glob("job-*.sh"))) == 2:
                break
            time.sleep(0.05)
        scripts = [path.read_text() for path in sorted(calls.glob("job-*.sh"))]
        assert len(scripts) == 2
        expected = cluster.job_script()
        for script in scripts:  # the printed script, but each job names its workers
            assert re.sub(r"--name \S+", "--name NAME", script) == re.sub(r"--name \S+", "--name NAME", expected)
            assert f"dask_worker {cluster.scheduler_address} " in script
    finally:
        stop.set()
        serving.join(30)
    assert not serving.is_alive() and cluster.status.name == "closed"
    submitted = sorted(path.stem.removeprefix("job-") for path in calls.glob("job-*.sh"))
    assert sorted((calls / "scancel").read_text().split()) == submitted
