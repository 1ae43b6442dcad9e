"""The batch script autograder.classrun.slurm submits really starts a grading worker: sbatch is played by a
script that runs the job on this machine (in a session of its own) and scancel by one that kills that
session; the job's worker must join the scheduler over TLS, with one thread, in the kit's environment
(its .venv activated, the kit importable, matplotlib without a display), and leave no process behind
once the cluster is closed. One worker process: the script's options are tests/unit/test_slurm.py's."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from distributed import Client

from autograder.assignment import release
from autograder.classrun import slurm

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the run's TLS certificate needs openssl")


def _alive(pid):
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_submitted_job_starts_workers_that_grade_in_the_kits_environment(tmp_path, monkeypatch):
    fake, jobs = tmp_path / "bin", tmp_path / "jobs"
    fake.mkdir()
    jobs.mkdir()
    (fake / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {jobs}/job.sh\n'  # dask-jobqueue removes its script
                                 f'setsid bash {jobs}/job.sh > {jobs}/out 2>&1 < /dev/null &\n'
                                 f'echo $! > {jobs}/id\necho "Submitted batch job $!"\n')
    (fake / "scancel").write_text('#!/bin/sh\nkill -TERM -- "-$1"\n')
    for script in fake.iterdir():
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    workers = slurm.SlurmWorkers(port=0, dashboard="127.0.0.1:0", interface="lo", processes=1)
    job = None
    try:
        with slurm.run_credentials(tmp_path) as security, slurm.slurm_cluster(workers, security) as cluster:
            cluster.scale(jobs=1)
            with Client(cluster.scheduler_address, security=security, timeout=30) as client:
                client.wait_for_workers(1, timeout=60)
                job = int((jobs / "id").read_text())
                info = client.scheduler_info()["workers"].values()
                assert [(worker["id"], worker["nthreads"]) for worker in info] == [("SLURMCluster-0", 1)]
                assert {os.path.realpath(path) for path in client.run(os.getenv, "VIRTUAL_ENV").values()} == \
                    {os.path.realpath(Path(slurm.REPO) / ".venv")}, "the kit's .venv is activated"
                assert set(client.run(os.getenv, "MPLBACKEND").values()) == {"Agg"}
                versions = client.gather([client.submit(release.master_version, pure=False, workers=[address])
                                          for address in client.scheduler_info()["workers"]])
                assert versions == [release.master_version()], "the worker imports the kit and reads its master"
        for _ in range(200):  # the cluster's close cancelled the job: its session ends
            if not _alive(job):
                break
            time.sleep(0.1)
        assert not _alive(job), "the job's processes outlive its cancellation"
    finally:
        if job and _alive(job):
            os.killpg(job, signal.SIGKILL)
        subprocess.run(["cat", str(jobs / "out")], check=False)  # the job's log, shown when the test fails
