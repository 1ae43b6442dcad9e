"""The grading options' defaults that come from the machine: the cores a container lets the kernels use."""
import os

import pytest

from autograder.grading import options


@pytest.mark.parametrize("files, expected", [
    ({"cpu.max": "max 100000\n"}, None),                                  # no quota: the cores it may run on
    ({"cpu.max": "100000 100000\n"}, 1),                                  # docker --cpus 1 (cgroup v2)
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # 1.5 CPUs (v1): 1 core busy
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu.max": "garbled"}, None)])
def test_the_cores_a_container_allows_bound_the_blas_threads(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    allowed = len(os.sched_getaffinity(0))
    assert options.usable_cores(tmp_path) == (min(expected, allowed) if expected else allowed)


def test_an_openblas_setting_caps_the_default_blas_threads(monkeypatch):
    monkeypatch.setattr(options, "usable_cores", lambda: 8)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert options.default_blas_threads(2) == 4
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # an administrator's cap, or the test suite's
    assert options.default_blas_threads(2) == options.default_blas_threads(1) == 1
    assert options.GradingOptions(blas_threads=3).for_workers(1).blas_threads == 3, "an explicit setting wins"
