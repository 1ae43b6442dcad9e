"""The grading core's own data, without a kernel: the result bundle that travels as bytes, and the one
options object every front-end makes (its defaults written once, its command-line options)."""
import argparse
import dataclasses

from autograder.grading import options
from autograder.grading.bundle import ResultBundle
from autograder.grading.options import GradingOptions


def _bundle(**changes):
    bundle = ResultBundle(student="ann", version="abc123", success=True, reasons={"test_x": "1 of 2 cases failed"},
                          verdicts={"test_x": {"cases": [["public", "a case", "", False]]}}, missing={},
                          review=["cell 3: metadata edited"], gradebook=b"SQLite format 3\x00 ...", seconds=1.5,
                          files={"submitted.ipynb": b"{}", "autograded.ipynb": b'{"cells": []}',
                                 "feedback.html": "<p>é</p>".encode()})
    return dataclasses.replace(bundle, **changes)


def test_a_bundle_survives_the_trip_as_bytes_exactly():
    bundle = _bundle()
    data = bundle.to_bytes()
    assert isinstance(data, bytes)
    assert ResultBundle.from_bytes(data) == bundle


def test_a_failed_bundle_carries_its_reason_and_nothing_else():
    failed = ResultBundle(student="bob", version="abc123", error="the file is not valid notebook JSON")
    back = ResultBundle.from_bytes(failed.to_bytes())
    assert (back.success, back.error, back.files, back.gradebook) == (False, failed.error, {}, b"")


def test_a_cell_that_killed_the_kernel_makes_the_bundle_partial():
    assert not _bundle().crashed
    assert _bundle(reasons={"plot_loss": "KernelDied: the kernel died while running this cell"}).crashed
    assert _bundle(reasons={"test_x": "SubmissionTimeout: cells not reached"}).crashed


def _parsed(*argv):
    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_command_line_defaults_are_the_dataclass_defaults():
    made = options.from_arguments(_parsed(), machine_tier="none")
    assert made == GradingOptions()
    assert (made.cell_timeout, made.submission_timeout) == (GradingOptions.cell_timeout,
                                                            GradingOptions.submission_timeout)


def test_options_given_on_the_command_line_reach_the_grader():
    made = options.from_arguments(_parsed("--cell-timeout", "20", "--memory-mb", "512", "--blas-threads", "3"),
                                  machine_tier="full")
    assert (made.cell_timeout, made.memory_mb, made.blas_threads, made.tier) == (20, 512, 3, "full")
    assert made.ipc and made.ipc_tmpfs_mb == options.IPC_TMPFS_MB


def test_the_container_tier_talks_over_ipc_without_a_tmpfs():
    made = options.from_arguments(_parsed(), machine_tier="container")
    assert made.tier == "container" and made.ipc and made.ipc_tmpfs_mb == 0


def test_no_sandbox_and_a_course_kernel_turn_the_sandbox_off():
    for tier in ("full", "container"):
        assert options.from_arguments(_parsed("--no-sandbox"), machine_tier=tier).tier == "none"
    made = options.from_arguments(_parsed("--kernel-spec", "/k/kernel.json"), machine_tier="full")
    assert made.tier == "none" and made.ipc and made.ipc_tmpfs_mb == 0


def test_blas_threads_share_the_cores_among_the_workers_unless_set(monkeypatch):
    monkeypatch.setattr(options, "usable_cores", lambda: 8)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)  # the suite sets 1 (tests/conftest.py)
    assert GradingOptions().for_workers(2).blas_threads == 4
    assert GradingOptions().for_workers(16).blas_threads == 1
    assert GradingOptions(blas_threads=3).for_workers(2).blas_threads == 3
