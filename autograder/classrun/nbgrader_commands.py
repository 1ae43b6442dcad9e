"""nbgrader's own commands in the class course (OUT/course) grade as ./kit grade does.

``./kit grade`` writes OUT/course/nbgrader_config.py (``config_text``) on every run. nbgrader reads it
wherever it runs in that folder (``nbgrader autograde hw2 --student X``, ``nbgrader generate_feedback``,
and formgrader's buttons, which call NbGraderAPI in the Jupyter server); it puts this repository on
Python's path and calls ``configure`` with what the class run used (its GradingOptions, the class
gradebook, the grading kernel's folder), so that they go through the grading core's pipeline
(core.grading_config: the sanitizing and autograde preprocessors, the grading kernel, every case run in
the grader's process, scores from its verdicts) and make the kit's feedback page (no hidden test code),
never stock nbgrader's (the student's kernel over TCP without the sandbox, the hidden tests in that
kernel, scores from its outputs, feedback with the hidden tests' code).

The process nbgrader runs in is set up once, and says how (``Isolation``, printed once):

- a command (``nbgrader autograde``: one thread when it reads its configuration) is set up as the class
  run's workers are (environment.isolate_grading_process: a mount namespace of its own, where each
  kernel's ipc folder is a size-limited tmpfs, and the grader's memory limit);
- formgrader in the Jupyter server ``./kit formgrade`` started (which made it a mount namespace before
  Jupyter's threads started): the kernels' ipc folders are tmpfs there too;
- a Jupyter server started otherwise (threads, and the machine's mounts): the kernel is sandboxed all
  the same, but its ipc folder is a plain folder, which a kernel can fill: a warning says so.

When the course cannot grade as ./kit grade does (the master changed since it was made, the grading
kernel's folder is gone, or it was graded in the sandbox and this process cannot make one), nbgrader's
autograde and generate_feedback refuse to start after saying why (the config file gives them an
exporter that does not exist: nbgrader stops before it removes or writes anything), instead of falling
back to nbgrader's own pipeline.
"""
import dataclasses
import os
import pprint
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import release
from autograder.grading import core, environment
from autograder.grading.options import IPC_TMPFS_MB, GradingOptions
from autograder.sandbox import kernel_launcher

REPORTS = "nbgrader_commands"  # under the grading environment's folder: the preprocessors' reports of a hand run
NOT_CONFIGURED = "hw2_course_cannot_grade_see_the_nbgrader_config_error_above"  # an exporter that is no module

CALL = "    nbgrader_commands.configure(c, __file__, "  # in CONFIG_TEXT, with the settings aligned after it
CONFIG_TEXT = '''"""nbgrader's settings of this class course, written by ./kit grade on every run (edits are lost).

nbgrader's own commands here (nbgrader autograde hw2 --student X, nbgrader generate_feedback, formgrader's
buttons) grade as ./kit grade does: autograder/classrun/nbgrader_commands.py in {repo}.
"""
import sys
import traceback

c = get_config()  # noqa: F821 (traitlets' config loader gives it)
if {repo!r} not in sys.path:
    sys.path.insert(0, {repo!r})
try:
    from autograder.classrun import nbgrader_commands

{call}{settings})
except Exception:  # never nbgrader's stock pipeline: autograde and feedback refuse to start, touching nothing
    traceback.print_exc()
    c.Autograde.exporter_class = c.GenerateFeedback.exporter_class = {not_configured!r}
'''


@dataclass(frozen=True)
class Isolation:
    """How this process grades: ipc_tmpfs_mb (int, ResilientExecute.ipc_tmpfs_mb: 0 for a plain ipc
    folder) and what it means, said once (str)."""
    ipc_tmpfs_mb: int
    said: str


_isolation = None  # this process's Isolation, once set up


def config_text(settings):
    """The text of OUT/course/nbgrader_config.py calling ``configure`` with ``settings`` (a dict: see
    ``course_settings``)."""
    return CONFIG_TEXT.format(repo=str(release.REPO), call=CALL, not_configured=NOT_CONFIGURED,
                              settings=pprint.pformat(settings, width=100).replace("\n", "\n" + " " * len(CALL)))


def course_settings(course_root, options, jupyter_path, exchange, db_url=None):
    """What the class course's config file hands ``configure``: the GradingOptions ``options`` of the class
    run, the folder of its grading kernel ``jupyter_path`` and the ``exchange`` folder (Paths, stored
    relative to ``course_root``, so that a copy of OUT grades with its own), and the class gradebook's
    ``db_url`` (str; None: SQLite in the course folder). A dict of plain values (written as a literal)."""
    def relative(path):
        return os.path.relpath(Path(path).resolve(), Path(course_root).resolve())

    values = dataclasses.asdict(options)
    values["kernel_spec"] = str(options.kernel_spec) if options.kernel_spec else None
    return {"options": values, "jupyter_path": relative(jupyter_path), "exchange": relative(exchange),
            "db_url": db_url}


def configure(config, config_file, settings):
    """Configure ``config`` (the traitlets Config of the class course's nbgrader_config.py, at
    ``config_file``) with ``settings`` (course_settings) so that nbgrader grades and makes feedback as
    ./kit grade does, after setting this process up (``isolate``). Raises RuntimeError when it cannot:
    the master changed since the course was made, the grading kernel's spec is gone (OUT/work removed), or
    the sandbox cannot be made here."""
    root = Path(config_file).resolve().parent
    made, current = environment.read_version(root), release.master_version()
    if made != current:
        raise RuntimeError(f"the master changed since this course was made (version {made}, now {current}): "
                           "run ./kit grade first, which makes the course again and regrades")
    kernel_spec = (root / settings["jupyter_path"]).resolve() / "kernels" / environment.KERNEL_NAME / "kernel.json"
    if not kernel_spec.exists():
        raise RuntimeError(f"the grading kernel's spec {kernel_spec} is missing: run ./kit grade again, which writes it")
    options = grading_options(settings["options"])
    config.merge(course_config(root, options, settings, isolate(options).ipc_tmpfs_mb))


def grading_options(values):
    """GradingOptions from course_settings' ``values`` (a dict)."""
    return GradingOptions(**{**values, "kernel_spec": Path(values["kernel_spec"]) if values["kernel_spec"] else None})


def course_config(root, options, settings, ipc_tmpfs_mb):
    """nbgrader's configuration of the class course at ``root`` (Path): the grading core's
    (core.grading_config) for ``options`` (GradingOptions), with the kernel and exchange folders and the
    gradebook of ``settings`` (course_settings) and the kernels' ipc folders ``ipc_tmpfs_mb`` big (int)."""
    released = root / "release" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    jupyter_path = (root / settings["jupyter_path"]).resolve()
    reports = jupyter_path.parent / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    config = core.grading_config(root, options, released, jupyter_path, reports=reports)
    config.ResilientExecute.ipc_tmpfs_mb = ipc_tmpfs_mb
    config.Exchange.root = str((root / settings["exchange"]).resolve())
    if settings.get("db_url"):
        config.CourseDirectory.db_url = settings["db_url"]
    return config


def isolate(options):
    """Set this process up to grade with ``options`` (GradingOptions), once; its Isolation, said on stderr
    the first time. RuntimeError when the options want the sandbox and it cannot be made here."""
    global _isolation
    if _isolation is None:
        _isolation = _set_up(options, in_server=in_jupyter_server())
        print(f"nbgrader in this course grades as ./kit grade does: {_isolation.said}", file=sys.stderr)
    return _isolation


def in_jupyter_server():
    """Whether this process is a Jupyter server (formgrader's buttons run in it)."""
    serverapp = sys.modules.get("jupyter_server.serverapp")
    return serverapp is not None and serverapp.ServerApp.initialized()


def _set_up(options, in_server):
    """The Isolation of this process for ``options`` (GradingOptions); ``in_server``: a Jupyter server (it
    keeps its own memory: the grader's limit is for processes that only grade)."""
    if options.tier == "none":
        if not in_server and environment.single_threaded():
            environment.isolate_grading_process(options)
        return Isolation(options.ipc_tmpfs_mb, kernel_launcher.TIER_LINES["none"] if not options.kernel_spec else
                         f"the course's own grading kernel ({options.kernel_spec})")
    machine = kernel_launcher.sandbox_tier()
    if kernel_launcher.TIERS.index(machine) > kernel_launcher.TIERS.index(options.tier):
        raise RuntimeError(f"this course was graded in the {options.tier} sandbox tier, which this process cannot give "
                           f"(it can: {machine}): run nbgrader here as the user ./kit grade ran as, on that machine")
    if options.tier == "container":
        if not in_server and environment.single_threaded():
            environment.isolate_grading_process(options)
        return Isolation(options.ipc_tmpfs_mb, kernel_launcher.TIER_LINES["container"])
    full = (f"sandboxed kernel (own user, root and no network), its ipc folder a {IPC_TMPFS_MB} MB tmpfs in "
            "this process's own mount namespace")
    if environment.has_private_mounts():  # ./kit formgrade made it, before the server's threads started
        return Isolation(options.ipc_tmpfs_mb, full)
    if not in_server and environment.single_threaded():
        environment.isolate_grading_process(options)
        return Isolation(options.ipc_tmpfs_mb, f"{full}, grader memory limit {environment.GRADER_MEMORY_MB} MB")
    return Isolation(0, "sandboxed kernel (own user, root and no network); WARNING: its ipc folder is a plain folder "
                        "(this process shares the machine's mounts and has threads), which a kernel could fill: "
                        "open formgrader with ./kit formgrade OUT to have it size-limited")
