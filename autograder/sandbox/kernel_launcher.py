"""Start the IPython kernel that runs one student's code, isolated as far as this machine allows.

    python autograder/sandbox/kernel_launcher.py [--tier full|container|none] [limits] -f {connection_file}

The kernel's working folder is its submission's scratch folder (see autograder.sandbox). The grader
picks the tier once (``sandbox_tier``: the strongest this machine allows; TIER_LINES says what each
isolates, SECURITY.md how each was tested):

- full (root with namespaces): the kernel runs as a user of its own (kernel_user.py: uid FIRST_UID + this
  launcher's pid), never root, with no new privileges, in new mount, PID, network, IPC and UTS namespaces. Its file
  system is a fresh root holding, read only, the system's /usr and /etc and the Python installation,
  and, writable, a copy of its folder on a size-limited tmpfs plus a private /tmp. The gradebook,
  other students' work, the master notebook, the hidden reference and the submitted file itself do not
  exist in that root. The network namespace has no interface but a loopback that is down; the kernel
  talks to nbgrader over Unix sockets (jupyter_client's ipc transport) in the scratch folder. Its
  processes die with it.
- container (root without namespaces: Docker's default capabilities, Gradescope): the kernel runs as
  its own user and group as above, with no supplementary groups, no new privileges, in a session of its
  own, in a copy of its folder owned by that user (a folder of the grader's that only that user and
  root can enter); the ipc sockets' folder is its; everything else of the grader's is closed to it by
  permissions (folders 0700 root; kernel_user.readable_by_kernel_user checks). Before the launcher starts
  it and after it ends, every process of that user is killed (kernel_user.kill_user: double-forked, setsid
  processes too) and its files in the folders every user may write (kernel_user.SHARED_FOLDERS) are
  removed; while it runs, its files there and in its folders are added up every 0.2 s and the kernel is
  stopped past --disk-mb. It has the machine's network and /tmp: no namespace can be made.
- none (not root): the kernel runs as the grader's user, under the resource limits only.

Every tier has the resource limits: address space, processes (per user: a fork bomb stops there), file
size, CPU time, open files, and, where this machine lets root make cgroups, memory, processes and CPU
share of the whole sandbox.

It runs as a script, in the kernel's own process until it becomes the kernel, and imports nothing of the
kit but its siblings kernel_user.py (the kernel's user: its uid, its processes, its files) and mounts.py (the
new root's file systems), loaded as plain modules from this folder (run_limited takes the folder off
sys.path before it becomes the kernel); its cgroups and limits are sections of this file.
"""
import argparse
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__:  # imported by the kit
    from autograder.sandbox import kernel_user as users
    from autograder.sandbox import mounts
else:  # run as a script (the kernel spec's command): this folder is first on sys.path
    import kernel_user as users
    import mounts

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
STOPPED_NOTE = "kernel-stopped.txt"  # in the grader's scratch folder: why the launcher stopped the kernel
DISK_WATCH_SECONDS = 0.2  # the container tier's look at the kernel's files: ~1 GB written between looks at most
CONNECTION_FILE = "/run/kernel.json"
CGROUP_ROOT = Path("/sys/fs/cgroup")
TIERS = ("full", "container", "none")
TIER_LINES = {
    "full": "sandbox: full (each kernel as its own user, in its own root file system, PID and network namespaces)",
    "container": "sandbox: container (each kernel as its own user with no new privileges, the grader's files closed "
                 "to it, its processes killed when it ends; no namespaces here: the kernel has this machine's "
                 "network and /tmp)",
    "none": "WARNING: no sandbox (it needs root on Linux): student code runs as this user and can read and change "
            "what this user can, the grader included; see SECURITY.md",
}

CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x04000000, 0x08000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def make_cgroups(name, memory_mb, processes, cpus):
    """Cgroups (v1 or v2) that cap the whole sandbox; [] where this machine does not allow them."""
    limits = {"memory": {"memory.limit_in_bytes": memory_mb * MB, "memory.memsw.limit_in_bytes": None},
              "pids": {"pids.max": processes},
              "cpu": {"cpu.cfs_period_us": 100000, "cpu.cfs_quota_us": int(cpus * 100000)}}
    made = []
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # v2: one hierarchy
        limits = {"": {"memory.max": memory_mb * MB, "pids.max": processes, "cpu.max": f"{int(cpus * 100000)} 100000"}}
        hierarchies = {"": CGROUP_ROOT}
    else:
        hierarchies = {controller: CGROUP_ROOT / controller for controller in limits}
    for controller, hierarchy in hierarchies.items():
        for stale in hierarchy.glob("hw2-sandbox-*"):  # left by launchers that were killed
            if not _alive(int(stale.name.rsplit("-", 1)[1])):
                try:
                    stale.rmdir()
                except OSError:
                    pass
        group = hierarchy / name
        try:
            group.mkdir()
        except OSError:
            continue
        made.append(group)
        for setting, value in limits[controller].items():
            if value is not None and (group / setting).exists():
                (group / setting).write_text(str(value))
    return made


def apply_limits(memory_mb, file_mb, cpu_seconds, processes=None):
    """processes: None leaves the process limit alone (it counts all of a user's processes)."""
    limits = [(resource.RLIMIT_AS, memory_mb * MB), (resource.RLIMIT_FSIZE, file_mb * MB),
              (resource.RLIMIT_CPU, cpu_seconds), (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NOFILE, 1024)]
    for limit, value in limits + ([(resource.RLIMIT_NPROC, processes)] if processes else []):
        resource.setrlimit(limit, (value, value))


def kernel_environment(threads):
    """The kernel's whole environment: nothing of the grader's (NBGRADER_EXECUTION included) leaks in."""
    environment = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
                   "LANG": "C.UTF-8", "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
                   "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONNOUSERSITE": "1"}
    for variable in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
        environment[variable] = str(threads)
    for variable in ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]:  # machines that need them need them here too
        if variable in os.environ:
            environment[variable] = os.environ[variable]
    return environment


def _wait_unless_orphaned(child, too_much=None, every=0.5, note=None):
    """Wait for the kernel; kill it if the grader that started this launcher goes (killed by a watchdog,
    say), or when ``too_much`` (a callable, or None) says why it must stop (str): written first to
    ``note`` (a Path in the grader's scratch folder, where the grader reads why its kernel died) and to
    stderr. A loop, not a thread: a process cannot start threads after unshare(CLONE_NEWPID). It looks every
    ``every`` seconds, and returns as soon as the kernel exits (a pidfd wakes it; the grader waits for this
    launcher to exit after every kernel)."""
    parent = os.getppid()
    exited = os.pidfd_open(child) if hasattr(os, "pidfd_open") else None  # readable once the child exits
    try:
        while True:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid:
                return status
            if os.getppid() != parent:
                os.kill(child, signal.SIGKILL)
            why = too_much() if too_much else None
            if why:
                if note:
                    note.write_text(why)
                print(f"kernel_launcher: the kernel was stopped: {why}", file=sys.stderr, flush=True)
                os.kill(child, signal.SIGKILL)
                too_much = None
            if exited is None:
                time.sleep(every)
            else:
                select.select([exited], [], [], every)
    finally:
        if exited is not None:
            os.close(exited)


def _release(child, cgroups, ready_read, ready_write):
    """In the launcher: put the forked ``child`` (which waits on the pipe ``ready_read``/``ready_write``
    before it sets itself up) into ``cgroups`` (list of Path), then let it go on."""
    os.close(ready_read)
    for group in cgroups:
        (group / "cgroup.procs").write_text(str(child))
    os.write(ready_write, b"1")


def _remove_cgroups(cgroups):
    """Remove the kernel's ``cgroups`` (list of Path) once it is gone (one still in use stays: the kernel's
    processes are being killed)."""
    for group in cgroups:
        try:
            group.rmdir()
        except OSError:
            pass


def run_sandboxed(args, connection_file):
    connection = json.loads(Path(connection_file).read_text())
    if connection.get("transport") != "ipc":
        sys.exit("kernel_launcher: --tier full needs the ipc transport (the kernel has no network)")
    folder, ipc_folder = Path.cwd(), Path(connection["ip"]).parent
    uid = users.kernel_user(os.getpid())
    cgroups = make_cgroups(f"hw2-sandbox-{os.getpid()}", args.memory_mb, args.processes, args.threads)
    mounts.NEW_ROOT.mkdir(exist_ok=True)
    mounts.check(mounts.libc.unshare(mounts.CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:  # PID 1 of the new namespace: becomes the kernel
        os.close(ready_write)
        mounts.check(mounts.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
        os.read(ready_read, 1)  # wait until the parent has put this process into the cgroups
        try:
            mounts.build_root(folder, ipc_folder, args.disk_mb, uid)
            os.makedirs(mounts.NEW_ROOT / "run")
            (mounts.NEW_ROOT / CONNECTION_FILE[1:]).write_text(json.dumps(connection))
            os.chown(mounts.NEW_ROOT / CONNECTION_FILE[1:], uid, uid)
            os.chroot(mounts.NEW_ROOT)
            os.chdir(folder)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            mounts.check(mounts.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
            apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds, args.processes)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE],
                      kernel_environment(args.threads))
        except BaseException as error:  # noqa: BLE001 (report any failure to set up, then die)
            print(f"kernel_launcher: could not start the sandbox: {error!r}", file=sys.stderr, flush=True)
        os._exit(70)
    _release(child, cgroups, ready_read, ready_write)
    # jupyter_client signals the whole process group: the kernel gets SIGINT itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    status = _wait_unless_orphaned(child)
    _remove_cgroups(cgroups)
    sys.exit(os.waitstatus_to_exitcode(status))


def sandbox_tier():
    """The strongest tier this process can give kernels (one of TIERS): "full" as root on Linux where
    namespaces can be made (tried in a child), "container" as root where they cannot but users can be
    changed, else "none"."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return "none"
    child = os.fork()
    if child == 0:
        os._exit(mounts.libc.unshare(mounts.CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    if os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0:
        return "full"
    probe = subprocess.run(["/bin/sh", "-c", "exit 0"], user=users.PROBE_UID, group=users.PROBE_UID, extra_groups=[],
                           check=False)
    return "container" if probe.returncode == 0 else "none"


def run_contained(args, connection_file):
    """The container tier: the kernel as its own user, in a copy of its folder that user owns, without
    namespaces (SECURITY.md); every process of that user killed before it starts and after it ends."""
    connection = json.loads(Path(connection_file).read_text())
    if connection.get("transport") != "ipc":
        sys.exit("kernel_launcher: --tier container needs the ipc transport (a folder only the kernel's user "
                 "and the grader can enter)")
    folder, ipc_folder = Path.cwd(), Path(connection["ip"]).parent
    scratch = ipc_folder.parent  # the grader's scratch folder (ResilientExecute): work/ and ipc/
    uid = users.kernel_user(os.getpid())
    users.kill_user(uid)  # a process left by an earlier kernel of this uid (its launcher had this pid)
    users.remove_entries_of(uid)  # and its files
    for entry in ipc_folder.iterdir():  # what an earlier kernel of this submission left there (a restart)
        if entry.lstat().st_uid >= users.FIRST_UID:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    # the kernel's user may pass through the scratch folder, not list it, and enter only its own folders
    scratch.chmod(0o711)
    folder.chmod(0o700)
    home = scratch / f"kernel-{uid}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(mode=0o700)
    shutil.copytree(folder, home / "work", symlinks=True)
    (home / "tmp").mkdir()
    matplotlib_cache = Path.home() / ".cache" / "matplotlib"  # the font list: seconds to rebuild per kernel
    if matplotlib_cache.is_dir():
        shutil.copytree(matplotlib_cache, home / "tmp" / "matplotlib")
    (home / "kernel.json").write_text(json.dumps(connection))
    for owned in [home, ipc_folder]:
        for directory, _, files in os.walk(owned):
            for name in [directory, *(os.path.join(directory, f) for f in files)]:
                os.lchown(name, uid, uid)
    ipc_folder.chmod(0o700)
    cgroups = make_cgroups(f"hw2-sandbox-{os.getpid()}", args.memory_mb, args.processes, args.threads)
    environment = {**kernel_environment(args.threads), "HOME": str(home / "tmp"), "TMPDIR": str(home / "tmp"),
                   "MPLCONFIGDIR": str(home / "tmp" / "matplotlib"), "IPYTHONDIR": str(home / "tmp" / "ipython")}
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(ready_write)
        os.read(ready_read, 1)  # wait until the parent has put this process into the cgroups
        try:
            os.setsid()  # its own session and process group
            os.chdir(home / "work")
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            # after setuid, which clears it; the launcher may have gone meanwhile
            mounts.check(mounts.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
            if os.getppid() == 1:
                os._exit(70)
            mounts.check(mounts.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
            apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds, args.processes)
            if not os.access(sys.executable, os.X_OK):
                raise OSError(f"this user cannot run {sys.executable}: the Python installation must be readable "
                              "by other users (SECURITY.md)")
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", str(home / "kernel.json")],
                      environment)
        except BaseException as error:  # noqa: BLE001 (report any failure to set up, then die)
            print(f"kernel_launcher: could not start the kernel: {error!r}", file=sys.stderr, flush=True)
        os._exit(70)
    _release(child, cgroups, ready_read, ready_write)
    # jupyter_client signals the launcher's process group: the kernel, in a session of its own, is told here
    signal.signal(signal.SIGINT, lambda *_: _signal_quietly(child, signal.SIGINT))
    signal.signal(signal.SIGTERM, lambda *_: _signal_quietly(child, signal.SIGKILL))
    limit = args.disk_mb * MB

    def too_much():  # no tmpfs here: the kernel's files in its folders and in /tmp are added up instead
        used = users.disk_used(uid, [home, ipc_folder, *users.entries_of(uid)])
        return f"its files took more than {args.disk_mb} MB of disk ({used // MB} MB)" if used > limit else None

    try:
        status = _wait_unless_orphaned(child, too_much, every=DISK_WATCH_SECONDS, note=scratch / STOPPED_NOTE)
    finally:
        users.kill_user(uid)
        shutil.rmtree(home, ignore_errors=True)
        users.remove_entries_of(uid)
        _remove_cgroups(cgroups)
    sys.exit(os.waitstatus_to_exitcode(status))


def _signal_quietly(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_limited(args, kernel_args):
    # Run as a script, this folder is on sys.path: take it off so student code cannot import the
    # instructor's modules.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    for variable in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
        os.environ[variable] = str(args.threads)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.pop("NBGRADER_EXECUTION", None)
    apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds)
    from ipykernel import kernelapp

    sys.argv = [sys.argv[0], *kernel_args]
    kernelapp.launch_new_instance()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=TIERS, default="none", help="the isolation (see above; full and container "
                                                                      "need root)")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--file-mb", type=int, default=256, help="largest file the kernel may write")
    parser.add_argument("--disk-mb", type=int, default=512,
                        help="room for files in its folder and /tmp (full tier: tmpfs; container tier: the kernel is "
                             "stopped when its files take more)")
    parser.add_argument("--cpu-seconds", type=int, default=1800)
    parser.add_argument("--processes", type=int, default=64,
                        help="processes and threads (per user in the container tier)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args()
    if args.tier == "full":
        run_sandboxed(args, args.connection_file)
    elif args.tier == "container":
        run_contained(args, args.connection_file)
    else:
        run_limited(args, ["-f", args.connection_file])


if __name__ == "__main__":
    main()
