"""The sandbox's tiers (autograder/sandbox/kernel_launcher.py) without a kernel: which tier a machine gets, what
a kernel's user can read, that every process of a kernel's user dies (setsid, double-forked ones too), and the
kernel spec each tier writes. The container tier's kernel itself: tests/e2e/test_container_tier.py."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from autograder.grading import environment
from autograder.grading.options import GradingOptions
from autograder.sandbox import kernel_launcher, kernel_user

ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason="changing users needs root")


def test_every_tier_has_its_line_and_none_warns():
    assert set(kernel_launcher.TIER_LINES) == set(kernel_launcher.TIERS) == {"full", "container", "none"}
    assert kernel_launcher.TIER_LINES["none"].startswith("WARNING") and "network" in kernel_launcher.TIER_LINES[
        "container"]


def test_the_tier_is_the_strongest_the_machine_allows():
    tier = kernel_launcher.sandbox_tier()
    assert tier in kernel_launcher.TIERS
    assert (tier == "none") == (not ROOT)


@pytest.mark.parametrize("tier", ["full", "container", "none"])
def test_the_kernel_spec_runs_the_launcher_in_the_options_tier(tmp_path, tier):
    environment._write_kernel_spec(tmp_path, GradingOptions(tier=tier, memory_mb=512))
    argv = json.loads((tmp_path / "kernel.json").read_text())["argv"]
    assert argv[argv.index("--tier") + 1] == tier and argv[argv.index("--memory-mb") + 1] == "512"


@pytest.fixture
def passable():
    """A new folder in /tmp that other users may pass through (pytest's tmp_path is under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder)


@as_root
def test_a_kernel_user_reads_only_what_others_may(passable):
    tmp_path = passable
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    (shared / "open.txt").write_text("x")
    (shared / "open.txt").chmod(0o644)
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    (closed / "file.txt").write_text("x")
    (closed / "file.txt").chmod(0o644)  # readable, but in a folder others cannot pass
    paths = [shared / "open.txt", closed, closed / "file.txt"]
    assert kernel_user.readable_by_kernel_user(paths) == [str(shared / "open.txt")]


@as_root
def test_killing_a_kernel_user_kills_its_setsid_and_double_forked_processes():
    uid = kernel_user.FIRST_UID - 2  # no kernel's
    leaver = "setsid sh -c 'sleep 300 & sleep 300' & (sh -c 'sleep 300 &' &); sleep 300"
    started = subprocess.Popen(["/bin/sh", "-c", leaver], user=uid, group=uid, extra_groups=[],
                               start_new_session=True)
    try:
        for _ in range(100):
            if len(kernel_user.live_processes(uid)) >= 5:
                break
            time.sleep(0.05)
        assert len(kernel_user.live_processes(uid)) >= 5
        kernel_user.kill_user(uid)
        assert kernel_user.live_processes(uid) == []
        assert started.wait(timeout=5) == -9
    finally:
        started.kill()


@as_root
def test_a_container_kernels_files_are_added_up_and_removed_from_the_shared_folders():
    uid = kernel_user.FIRST_UID - 3  # no kernel's
    top = Path(tempfile.mkdtemp(prefix="hw2-disk-"))  # in /tmp: pytest's folders are closed to other users
    try:
        top.chmod(0o711)
        shared, own = top / "tmp", top / "home"
        shared.mkdir()
        shared.chmod(0o1777)
        own.mkdir()
        os.chown(own, uid, uid)
        writes = (f"mkdir -p {shared}/deep/er && head -c 3000000 /dev/zero > {shared}/deep/er/a && "
                  f"head -c 1000000 /dev/zero > {shared}/b && head -c 2000000 /dev/zero > {own}/c && "
                  f"ln -s /usr {shared}/link")
        subprocess.run(["/bin/sh", "-c", writes], user=uid, group=uid, extra_groups=[], check=True)
        (shared / "someone_elses").write_bytes(b"x" * 5000000)  # root's: not the kernel's
        found = kernel_user.entries_of(uid, [shared])
        assert sorted(p.name for p in found) == ["b", "deep", "link"]
        used = kernel_user.disk_used(uid, [own, *found])
        assert 6_000_000 <= used < 6_200_000, "3 + 1 + 2 MB of its own, nothing through the link nor root's file"
        kernel_user.remove_entries_of(uid, [shared])
        assert sorted(p.name for p in shared.iterdir()) == ["someone_elses"]
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_every_folder_any_user_may_write_on_this_machine_is_watched():
    """A container kernel's files are added up and removed in kernel_user.SHARED_FOLDERS: a world-writable
    folder near the top of this machine's tree that is not among them would let it fill the disk unseen."""
    watched = {folder.resolve() for folder in kernel_user.SHARED_FOLDERS}
    found = []
    for base in [Path("/"), Path("/var"), Path("/run"), Path("/dev"), Path("/srv"), Path("/opt"), Path("/home")]:
        try:
            entries = list(base.iterdir())
        except OSError:
            continue
        found += [entry.resolve() for entry in entries if entry.is_dir() and entry.stat().st_mode & 0o002
                  and entry.resolve().parts[1:2] not in (("proc",), ("sys",))]
    assert set(found) <= watched, f"world-writable folders not watched: {sorted(set(found) - watched)}"


def test_the_launcher_returns_as_soon_as_its_kernel_exits():
    """The grader waits for the launcher after every kernel: it must not sleep out its watch interval."""
    child = os.fork()
    if child == 0:
        time.sleep(0.1)
        os._exit(3)
    started = time.monotonic()
    status = kernel_launcher._wait_unless_orphaned(child, every=60)
    assert os.waitstatus_to_exitcode(status) == 3
    assert time.monotonic() - started < 30, "the launcher slept out its 60 s interval after the kernel exited"
