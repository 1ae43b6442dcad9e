"""What a grader needs before its first notebook: the template course (nbgrader's release of the
master as it is now, with the gradebook that autograde restores test cells from) and the kernel spec
of the grading kernel (the sandboxed launcher, or the course's own). Made once in a folder and made
again when the master's version changes.

nbgrader takes seconds to make a template, and every grading run in a new output folder needs one: a
template is made once per version and kept in TEMPLATE_CACHE (a folder of the grader's user, mode 0700,
outside every sandbox; the newest CACHED_TEMPLATES are kept), and copied from there.
"""
import hashlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbgrader

from autograder.assignment import release
from autograder.grading import course
from autograder.sandbox import kernel_launcher, mounts

KERNEL_NAME = "hw2-grader"
VERSION_FILE = "master_version"  # in a course folder: the master version it was generated from
# Address space of a grading process (it peaks near 0.75 GB on a correct submission): what a kernel
# sends is bounded message by message, but not what zmq queues for one message of many parts; a
# grader that goes over dies, and its submission alone is charged.
GRADER_MEMORY_MB = 2048
# Templates by version (HW2_TEMPLATE_CACHE, else the user's cache folder); what makes them (nbgrader, the
# course's settings) is part of each one's name, so that another nbgrader or setting never uses an old one.
TEMPLATE_CACHE = Path(os.environ.get("HW2_TEMPLATE_CACHE")
                      or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hw2-kit" / "templates")
CACHED_TEMPLATES = 8
TOOLCHAIN = hashlib.sha256("\n".join([nbgrader.__version__, course.CONFIG_FILE.read_text(),
                                       Path(course.__file__).read_text()]).encode()).hexdigest()[:12]
# Set to the id of the mount namespace the kit made for a process (private_mounts); its children inherit it.
OWN_MOUNTS = "HW2_OWN_MOUNT_NAMESPACE"
# The calling thread's mount namespace: a Dask worker grades in a thread of a process that has others, and
# the kernels that thread starts inherit its namespace (in a process of one thread, the process's)
MOUNT_NAMESPACE = "/proc/thread-self/ns/mnt"


@dataclass(frozen=True)
class GradingEnvironment:
    """template: Path, an nbgrader course made by course.generate_release for ``version`` (source/,
    release/, gradebook.db); jupyter_path: Path, the JUPYTER_PATH holding kernels/hw2-grader;
    version: str, the master version (release.master_version())."""
    template: Path
    jupyter_path: Path
    version: str

    @property
    def released_notebook(self):
        """Path: the student notebook as released."""
        return self.template / "release" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"


def read_version(course_root):
    """The master version the course at ``course_root`` (Path) was generated from, or None."""
    stamp = Path(course_root) / VERSION_FILE
    return stamp.read_text().strip() if stamp.exists() else None


def prepare(folder, options):
    """The GradingEnvironment in ``folder`` (Path) for GradingOptions ``options``: the template made
    unless it is there for the master's current version, and the kernel spec written.

    Raises release.MasterError when the master cannot be graded as it is."""
    release.check_master()
    folder = Path(folder).resolve()
    version = release.master_version()
    template = folder / "template"
    if not (template / "gradebook.db").exists() or read_version(template) != version:
        shutil.rmtree(template, ignore_errors=True)
        try:
            shutil.copytree(_cached_template(version), template)
        except OSError as error:  # no cache folder can be written here: the template is made in place
            print(f"the template cache {TEMPLATE_CACHE} cannot be used ({error}): making the template here",
                  file=sys.stderr)
            shutil.rmtree(template, ignore_errors=True)
            course.generate_release(template)
            (template / VERSION_FILE).write_text(version)
    jupyter_path = folder / "jupyter"
    _write_kernel_spec(jupyter_path / "kernels" / KERNEL_NAME, options)
    return GradingEnvironment(template=template, jupyter_path=jupyter_path, version=version)


def _cached_template(version):
    """The template of ``version`` in TEMPLATE_CACHE (Path), made there first when it is not: in a
    folder of its own, renamed into place when complete, so that graders running at once never see
    half a template (the one that loses the race drops its copy)."""
    cached = TEMPLATE_CACHE / f"{version}-{TOOLCHAIN}"
    if read_version(cached) == version:
        cached.touch()  # its time says when it was last used
        return cached
    TEMPLATE_CACHE.mkdir(parents=True, exist_ok=True)
    TEMPLATE_CACHE.chmod(0o700)
    building = Path(tempfile.mkdtemp(dir=TEMPLATE_CACHE, prefix=".building-"))
    try:
        course.generate_release(building)
        (building / VERSION_FILE).write_text(version)  # last: a template without it is never used
        if cached.exists() and read_version(cached) != version:
            shutil.rmtree(cached)  # an unfinished copy (a grader killed while it copied)
        building.rename(cached)
    except OSError:  # made meanwhile by another grader
        if read_version(cached) != version:
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    for old in sorted(TEMPLATE_CACHE.iterdir(), key=lambda path: path.stat().st_mtime)[:-CACHED_TEMPLATES]:
        if not old.name.startswith(".building-") or time.time() - old.stat().st_mtime > 3600:  # not one being made
            shutil.rmtree(old, ignore_errors=True)
    return cached


def isolate_grading_process(options):
    """Set up this process to grade with ``options``: with the sandbox, a mount namespace of its own
    (private_mounts), and an address-space limit of GRADER_MEMORY_MB. Every process that calls
    core.grade calls this first: the class run's workers and Gradescope's run_autograder; nbgrader's
    own commands in the class course too (autograder.classrun.nbgrader_commands)."""
    if options.ipc_tmpfs_mb:
        private_mounts()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]  # left as it is: the kernel launcher sets its own limits
    limit = GRADER_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def single_threaded():
    """Whether this process has one thread (unshare(CLONE_NEWNS) would move only the calling thread
    of several into the new namespace, and the kernels started by the others would not see its mounts)."""
    return len(os.listdir("/proc/self/task")) == 1


def private_mounts():
    """Give this process (single-threaded: see single_threaded; in a process of several threads, the
    calling thread alone, as in a Dask worker whose one task thread grades) and the processes it starts
    a mount namespace of their own: the ipc tmpfs of each grading kernel (ResilientExecute.ipc_tmpfs_mb)
    is mounted there and vanishes with them. Needs root with namespaces; marked in OWN_MOUNTS."""
    mounts.private_mount_namespace()
    os.environ[OWN_MOUNTS] = os.readlink(MOUNT_NAMESPACE)


def has_private_mounts():
    """Whether this process is in a mount namespace the kit made (private_mounts, in it or in the
    process that started it, e.g. ./kit formgrade's Jupyter server)."""
    mark = os.environ.get(OWN_MOUNTS)
    return mark is not None and mark == os.readlink(MOUNT_NAMESPACE)


def _write_kernel_spec(kernel_dir, options):
    """kernel.json of the grading kernel: the course's own (options.kernel_spec), else the kit's
    launcher with the options' limits, in the options' sandbox tier."""
    kernel_dir.mkdir(parents=True, exist_ok=True)
    if options.kernel_spec:  # the course's own kernel, e.g. in a container (SECURITY.md)
        shutil.copyfile(options.kernel_spec, kernel_dir / "kernel.json")
        return
    launcher = Path(kernel_launcher.__file__).resolve()
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), "--tier", options.tier,
                 "--memory-mb", str(options.memory_mb), "--threads", str(options.blas_threads or 1),
                 "-f", "{connection_file}"],
        "display_name": f"hw2 grading kernel (sandbox: {options.tier})", "language": "python"}, indent=1))
