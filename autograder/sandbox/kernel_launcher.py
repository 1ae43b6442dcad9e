"""Start the IPython kernel that runs one student's code, inside a sandbox.

    python autograder/sandbox/kernel_launcher.py [--sandbox] [limits] -f {connection_file}

The kernel's working folder is its submission's scratch folder (see autograder.sandbox). With
--sandbox (the grader uses it whenever it runs as root on Linux) the kernel runs

- as a user of its own (uid 100000 + this launcher's pid), never root, with no new privileges;
- in new mount, PID, network, IPC and UTS namespaces. Its file system is a fresh root holding, read
  only, the system's /usr and /etc and the Python installation, and, writable, a copy of its folder
  on a size-limited tmpfs plus a private /tmp. The gradebook, other students' work, the master
  notebook, the hidden reference and the submitted file itself do not exist in that root. The
  network namespace has no interface but a loopback that is down; the kernel talks to nbgrader over
  Unix sockets (jupyter_client's ipc transport) in the scratch folder. Its processes die with it;
- under limits: address space, processes, file size, CPU time, open files, and, where this machine
  lets root make cgroups, memory, processes and CPU share of the whole sandbox.

Without --sandbox only the resource limits apply (see SECURITY.md).
"""
import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
FIRST_UID = 100000
NEW_ROOT = Path("/tmp/hw2-sandbox-root")  # an empty mount point; every sandbox mounts its own root here
CONNECTION_FILE = "/run/kernel.json"
CGROUP_ROOT = Path("/sys/fs/cgroup")

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source, target, fstype=None, flags=0, options=None):
    _check(libc.mount(str(source).encode() if source else None, str(target).encode(),
                      fstype.encode() if fstype else None, flags, options.encode() if options else None),
           f"mount {source} on {target}")


def bind(source, target, writable=False):
    """Bind ``source`` at ``target`` inside the new root (read only unless ``writable``)."""
    target = NEW_ROOT / str(source).lstrip("/") if target is None else target
    if Path(source).is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    mount(source, target, flags=MS_BIND | MS_REC)
    if not writable:
        mount(None, target, flags=MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return target


def tmpfs(target, size_mb, mode="755"):
    target.mkdir(parents=True, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_mb}m,mode={mode}")


def umount(target):
    _check(libc.umount2(str(target).encode(), MNT_DETACH), f"umount {target}")


def private_mount_namespace():
    """Give this (single-threaded) process and its children mounts of their own, gone when they exit:
    a grading worker mounts each kernel's ipc folder as a size-limited tmpfs there."""
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    mount(None, "/", flags=MS_REC | MS_PRIVATE)


def build_root(folder, ipc_folder, disk_mb, uid):
    """Mount the sandbox's root at NEW_ROOT: system and Python read only, ``folder`` copied to tmpfs."""
    mount(None, "/", flags=MS_REC | MS_PRIVATE)  # nothing mounted here is seen outside
    tmpfs(NEW_ROOT, 16)
    tmpfs(NEW_ROOT / "tmp", disk_mb, mode="1777")  # first: Python or the folder may live under /tmp
    for top in ["/bin", "/lib", "/lib32", "/lib64", "/sbin"]:
        if os.path.islink(top):  # merged /usr: keep the links
            os.symlink(os.readlink(top), NEW_ROOT / top[1:])
        elif os.path.isdir(top):
            bind(top, None)
    for path in {"/usr", "/etc", sys.base_prefix, sys.prefix}:
        bind(path, None)
    tmpfs(NEW_ROOT / "dev", 1)
    for device in ["null", "zero", "full", "random", "urandom"]:
        bind(f"/dev/{device}", NEW_ROOT / "dev" / device, writable=True)
    tmpfs(NEW_ROOT / "dev" / "shm", 64, mode="1777")
    sandbox_folder = NEW_ROOT / str(folder).lstrip("/")
    tmpfs(sandbox_folder, disk_mb)
    shutil.copytree(folder, sandbox_folder, dirs_exist_ok=True, symlinks=True)
    bind(ipc_folder, None, writable=True)
    matplotlib_cache = Path.home() / ".cache" / "matplotlib"  # the font list: seconds to rebuild per kernel
    if matplotlib_cache.is_dir():
        shutil.copytree(matplotlib_cache, NEW_ROOT / "tmp" / "matplotlib")
    for owned in [sandbox_folder, ipc_folder, NEW_ROOT / "tmp" / "matplotlib"]:
        for directory, _, files in os.walk(owned):
            for name in [directory, *(os.path.join(directory, f) for f in files)]:
                os.lchown(name, uid, uid)
    (NEW_ROOT / "proc").mkdir()
    mount("proc", NEW_ROOT / "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


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


def _wait_unless_orphaned(child):
    """Wait for the kernel; kill it if the grader that started this launcher goes (killed by a watchdog,
    say). A loop, not a thread: a process cannot start threads after unshare(CLONE_NEWPID)."""
    parent = os.getppid()
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return status
        if os.getppid() != parent:
            os.kill(child, signal.SIGKILL)
        time.sleep(0.5)


def run_sandboxed(args, connection_file):
    connection = json.loads(Path(connection_file).read_text())
    if connection.get("transport") != "ipc":
        sys.exit("kernel_launcher: --sandbox needs the ipc transport (the kernel has no network)")
    folder, ipc_folder = Path.cwd(), Path(connection["ip"]).parent
    uid = FIRST_UID + os.getpid()
    cgroups = make_cgroups(f"hw2-sandbox-{os.getpid()}", args.memory_mb, args.processes, args.threads)
    NEW_ROOT.mkdir(exist_ok=True)
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:  # PID 1 of the new namespace: becomes the kernel
        os.close(ready_write)
        _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
        os.read(ready_read, 1)  # wait until the parent has put this process into the cgroups
        try:
            build_root(folder, ipc_folder, args.disk_mb, uid)
            os.makedirs(NEW_ROOT / "run")
            (NEW_ROOT / CONNECTION_FILE[1:]).write_text(json.dumps(connection))
            os.chown(NEW_ROOT / CONNECTION_FILE[1:], uid, uid)
            os.chroot(NEW_ROOT)
            os.chdir(folder)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")
            apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds, args.processes)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", CONNECTION_FILE],
                      kernel_environment(args.threads))
        except BaseException as error:  # noqa: BLE001 (report any failure to set up, then die)
            print(f"kernel_launcher: could not start the sandbox: {error!r}", file=sys.stderr, flush=True)
        os._exit(70)
    os.close(ready_read)
    for group in cgroups:
        (group / "cgroup.procs").write_text(str(child))
    os.write(ready_write, b"1")
    # jupyter_client signals the whole process group: the kernel gets SIGINT itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    status = _wait_unless_orphaned(child)
    for group in cgroups:
        try:
            group.rmdir()
        except OSError:
            pass
    sys.exit(os.waitstatus_to_exitcode(status))


def sandbox_available():
    """Whether this process may build the sandbox: root on Linux, with namespaces (tried in a child)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    child = os.fork()
    if child == 0:
        os._exit(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0


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
    parser.add_argument("--sandbox", action="store_true", help="namespaces, own user, own root (needs root)")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--file-mb", type=int, default=256, help="largest file the kernel may write")
    parser.add_argument("--disk-mb", type=int, default=512, help="sandbox: room for files in its folder and /tmp")
    parser.add_argument("--cpu-seconds", type=int, default=1800)
    parser.add_argument("--processes", type=int, default=64, help="sandbox: processes and threads")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("-f", dest="connection_file", required=True)
    args = parser.parse_args()
    if args.sandbox:
        run_sandboxed(args, args.connection_file)
    else:
        run_limited(args, ["-f", args.connection_file])


if __name__ == "__main__":
    main()
