"""A kernel's own user, in the sandbox tiers that run it as one (full and container): its uid, what it could
read, its processes and the files it left in the folders every user may write. Imported by the kernel launcher
(as a sibling file when the launcher runs as a script: like it, it imports nothing of the kit) and by the
grader, which kills that user's processes before it writes a result.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

FIRST_UID = 100000
PROBE_UID = FIRST_UID - 1  # an unprivileged user no kernel runs as: what a kernel's user could read


def readable_by_kernel_user(paths):
    """The ones of ``paths`` (str or Path) that a kernel's user could read (or, for a folder, list):
    tried as PROBE_UID, which has no groups. Needs root."""
    script = 'for path in "$@"; do [ -r "$path" ] && printf "%s\\0" "$path"; done; exit 0'
    probe = subprocess.run(["/bin/sh", "-c", script, "probe", *map(str, paths)], user=PROBE_UID, group=PROBE_UID,
                           extra_groups=[], capture_output=True, text=True, check=True)
    return [path for path in probe.stdout.split("\0") if path]


def unreadable_python():
    """The parts of the Python installation (interpreter, standard library, site-packages; list of str) a
    kernel's user cannot read: the container tier needs them all readable (folders o+x, files o+r), as they
    are in Gradescope's image. Needs root."""
    python = [os.path.realpath(sys.executable), os.path.join(sys.base_prefix, "lib"),
              *(path for path in sys.path if path.endswith("site-packages"))]
    readable = readable_by_kernel_user(python)
    return [path for path in python if path not in readable]


def kill_user(uid):
    """SIGKILL every process of ``uid`` (int), setsid or double-forked ones too, and return once none is
    left alive: kill(-1) sent as that user reaches exactly its processes. Needs root; none where no process
    of ``uid`` is left."""
    for _ in range(100):
        if not live_processes(uid):
            return
        subprocess.run(["/bin/sh", "-c", "kill -9 -1"], user=uid, group=uid, extra_groups=[], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.01)
    raise RuntimeError(f"processes of uid {uid} survive SIGKILL: {live_processes(uid)}")


# where every user may make files (tests/unit/test_sandbox_tiers.py looks for others on the machine it runs on)
SHARED_FOLDERS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/run/lock"))


def entries_of(uid, folders=SHARED_FOLDERS):
    """What ``uid`` (int) made in the world-writable ``folders`` (list of Path): their top entries it owns."""
    found = []
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                found += [Path(entry.path) for entry in entries if entry.stat(follow_symlinks=False).st_uid == uid]
        except OSError:  # no such folder, or an entry gone meanwhile
            continue
    return found


def disk_used(uid, roots):
    """Bytes (int) on disk in the files of ``uid`` (int) at or under ``roots`` (list of Path), links not followed."""
    paths = [root for root in roots if not root.is_dir() or root.is_symlink()]
    for root in roots:
        for directory, folders, files in os.walk(root):
            paths += [Path(directory, name) for name in [*files, *folders]]
    total = 0
    for path in paths:
        try:
            stat = path.lstat()
        except OSError:  # gone meanwhile
            continue
        total += stat.st_blocks * 512 if stat.st_uid == uid else 0
    return total


def remove_entries_of(uid, folders=SHARED_FOLDERS):
    """Remove what ``uid`` (int) left in the world-writable ``folders`` (a later kernel of another student
    must not find it)."""
    for entry in entries_of(uid, folders):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def live_processes(uid):
    """The pids (list of int) of the processes of real user ``uid`` (int) that are not zombies."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith(("Z", "X")):
            pids.append(int(entry))
    return pids


def kernel_user(launcher_pid):
    """The uid (int) the launcher of pid ``launcher_pid`` runs its kernel as (tiers full and container)."""
    return FIRST_UID + launcher_pid
