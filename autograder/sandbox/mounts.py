"""The sandbox's file systems: mounts through libc, and the fresh root a kernel of the full tier lives in.

Loaded by kernel_launcher.py as a sibling (it imports nothing of the kit) and by the grader, which mounts
each kernel's ipc folder as a size-limited tmpfs in a mount namespace of its own.
"""
import ctypes
import os
import shutil
import sys
from pathlib import Path

NEW_ROOT = Path("/tmp/hw2-sandbox-root")  # an empty mount point; every sandbox mounts its own root here
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    """Raise OSError with errno's message when a libc call's ``result`` says it failed."""
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source, target, fstype=None, flags=0, options=None):
    check(libc.mount(str(source).encode() if source else None, str(target).encode(),
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
    check(libc.umount2(str(target).encode(), MNT_DETACH), f"umount {target}")


def private_mount_namespace():
    """Give this (single-threaded) process and its children mounts of their own, gone when they exit:
    a grading worker mounts each kernel's ipc folder as a size-limited tmpfs there."""
    check(libc.unshare(CLONE_NEWNS), "unshare")
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
