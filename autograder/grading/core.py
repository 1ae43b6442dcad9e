"""The grading core: one notebook against the release of the master gives one result bundle.

    bundle = core.grade(notebook_bytes, student, environment, options, work)

``environment`` (autograder.grading.environment.prepare) holds the template course and the grading
kernel's spec; ``options`` (autograder.grading.options.GradingOptions) the limits. The notebook is
autograded by nbgrader in a private course made in ``work`` from the template (its own gradebook, so
that any number of graders run at once), with this package's preprocessors: the kernel sandboxed,
every case of every test cell run and judged in this process, scores from the grader's verdicts.
The feedback page is made from the result. Nothing here knows of a class, a ledger or a pool: the
class run (autograder.classrun), Gradescope's autograder (autograder.lms.gradescope) and the bug bank
call this function and record its bundle.

``run_as_grader`` runs a notebook through the same hidden-test path without nbgrader's course, for the
build, the bug bank's fast path and the tests.
"""
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
)
from traitlets.config import Config

from autograder.assignment import release
from autograder.grading import course, review
from autograder.grading.bundle import ResultBundle
from autograder.grading.environment import KERNEL_NAME
from autograder.grading.feedback import feedback_config, generate_feedback
from autograder.grading.options import GradingOptions
from autograder.grading.preprocessors import (
    KERNEL_DIED,
    REVIEW,
    TIME_BUDGET,
    VERDICTS,
    CheckCellMetadataOnce,
    CleanMetadata,
    ResilientExecute,
    RestoreCells,
    SanitizeSubmission,
    SaveVerdicts,
    StderrAsNote,
)
from autograder.grading.verdict import CellVerdict

EXECUTION_REPORT = "execution.json"  # ResilientExecute's verdicts and review notes
MISSING_REPORT = "missing.json"  # RestoreCells: the graded parts that are not in the submission
NOT_SUBMITTED = ("this part is not in the submission: it has no cell {cells} (was the notebook downloaded "
                 "before this part was added, or the cell deleted?)")
NOT_ISOLATED = ("not isolated: graded without a sandbox (the grader was not root), its code ran as the grader's "
                "user and could read and change what that user can (SECURITY.md)")
STOPPED = {KERNEL_DIED, TIME_BUDGET, "CellTimeoutError"}


def grading_config(root, options, released_notebook, jupyter_path, reports=None):
    """nbgrader's configuration of the course at ``root`` (Path) for GradingOptions ``options``, against
    ``released_notebook`` (Path, the student notebook as released), with the grading kernel of
    ``jupyter_path`` (Path, GradingEnvironment.jupyter_path); the preprocessors' reports (EXECUTION_REPORT,
    MISSING_REPORT) go into ``reports`` (Path, default ``root``). The one grading pipeline: core.grade's
    private courses and nbgrader's own commands in the class course (autograder.classrun.nbgrader_commands)."""
    config = course.course_config(root)
    reports = Path(reports or root)
    # nbgrader's SaveAutoGrades scores a test cell from its outputs (the kernel's); SaveVerdicts from
    # the grader's own verdict. The nbgrader metadata is checked once, before the kernel runs: nbgrader
    # checks it again after autograding, but nothing there changes a cell's nbgrader metadata or type
    # (ClearMetadataPreprocessor is off, as in nbgrader), so that check could never fail where this one passed
    config.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, CleanMetadata, OverwriteKernelspec, RestoreCells, CheckCellMetadataOnce]
    config.Autograde.autograde_preprocessors = [
        ResilientExecute, SanitizeSubmission, StderrAsNote, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveVerdicts, AssignLatePenalties]
    config.SanitizeSubmission.released_notebook = str(released_notebook)
    config.RestoreCells.released_notebook = str(released_notebook)
    config.RestoreCells.missing_file = config.SaveVerdicts.missing_file = str(reports / MISSING_REPORT)
    config.Execute.kernel_name = KERNEL_NAME
    config.ResilientExecute.kernel_dirs = [str(Path(jupyter_path) / "kernels")]
    config.Execute.timeout = options.cell_timeout
    config.ResilientExecute.submission_timeout = options.submission_timeout
    config.ResilientExecute.hidden_reference = str(release.HIDDEN_REFERENCE)
    config.ResilientExecute.ipc = options.ipc
    config.ResilientExecute.ipc_tmpfs_mb = options.ipc_tmpfs_mb
    config.ResilientExecute.kill_kernel_users = options.tier in ("full", "container")
    config.SaveVerdicts.report_file = str(reports / EXECUTION_REPORT)
    return feedback_config(config)


def reasons_by_cell(autograded_notebook, verdicts, missing=None):
    """{grade_id (or "cell N"): why it lost points}: that the part is not in the submission (``missing``:
    {grade_id: [the cells it lacks]}, from RestoreCells), a crash or a timeout where one happened, else a
    test cell's first failed case, from the grader's verdicts ({grade_id: CellVerdict as a dict})."""
    reasons = {grade_id: NOT_SUBMITTED.format(cells=", ".join(map(repr, cells))) for grade_id, cells in
               (missing or {}).items() if grade_id not in verdicts or CellVerdict(**verdicts[grade_id]).fraction < 1}
    notebook = nbformat.read(autograded_notebook, as_version=4)
    for number, cell in enumerate(notebook.cells, 1):
        stopped = [o for o in cell.get("outputs", []) if o.output_type == "error" and o.ename in STOPPED]
        if stopped:
            reasons.setdefault(cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {number}"),
                               summarise_error(stopped[-1]))
    for grade_id, verdict in verdicts.items():
        reason = CellVerdict(**verdict).reason()
        if reason and grade_id not in reasons:
            reasons[grade_id] = reason
    return reasons


def failure_cause(log):
    """Why nbgrader's autograde failed, from its log: the exception its last traceback ends with (nbgrader's
    own "[ERROR] There was an error processing assignment" says nothing), else its first error line."""
    lines = log.splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        ends = [line for line in lines[starts[-1] + 1:] if line.strip() and not line.startswith((" ", "\t", "["))]
        if ends:
            return f"nbgrader could not grade the notebook: {ends[0]}"[:400]
    errors = [line.removeprefix("[ERROR] ") for line in lines if line.startswith("[ERROR]")]
    return (errors[0] if errors else "nbgrader autograde failed")[:400]


def summarise_error(error):
    lines = [line.strip() for line in str(error.get("evalue", "")).splitlines() if line.strip()]
    text = f"{error.ename}: {lines[0] if lines else ''}"
    cause = next((line for line in lines if line.startswith("Likely cause")), None)
    if cause:
        text += f" ({cause})"
    return text[:400]


def grade(notebook, student, environment, options, work):
    """Grade ``notebook`` (bytes, as submitted) as ``student`` (str) against ``environment``
    (GradingEnvironment) with ``options`` (GradingOptions), in the private course folder ``work``
    (Path, emptied first; the caller may remove it after). Returns a ResultBundle; an error of
    nbgrader's autograde is its ``error``, never an exception."""
    started = time.perf_counter()
    work = Path(work).resolve()
    if work.exists():
        shutil.rmtree(work)
    submitted = work / "submitted" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    submitted.parent.mkdir(parents=True)
    (work / "source").symlink_to(environment.template / "source", target_is_directory=True)
    shutil.copyfile(environment.template / "gradebook.db", work / "gradebook.db")
    submitted.write_bytes(notebook)

    released = environment.released_notebook
    api = NbGraderAPI(config=grading_config(work, options, released, environment.jupyter_path))
    bundle = ResultBundle(student=student, version=environment.version,
                          review=review.review_reasons(submitted, released, review.load_releases(release.RELEASES)[::-1]))
    if options.tier == "none" and not options.kernel_spec:
        bundle.review.append(NOT_ISOLATED)
    with course.scratch_gradebook(work / "gradebook.db"):
        autograde = api.autograde(release.ASSIGNMENT, student, force=True, create=True)
        autograded = work / "autograded" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
        if not autograde.get("success") or not autograded.exists():
            log = autograde.get("log", "") + autograde.get("error", "")
            bundle.error, bundle.log = failure_cause(log), log[-4000:]
        else:
            _read_results(bundle, api, work, student, submitted, autograded)
    bundle.seconds = time.perf_counter() - started
    return bundle


def _read_results(bundle, api, work, student, submitted, autograded):
    """Fill ``bundle`` from a private course's autograde that succeeded: verdicts, reasons, review notes,
    the notebooks, the feedback page and the gradebook."""
    execution = json.loads((work / EXECUTION_REPORT).read_text())
    missing = json.loads((work / MISSING_REPORT).read_text()) if (work / MISSING_REPORT).exists() else {}
    bundle.reasons = reasons_by_cell(autograded, execution[VERDICTS], missing)
    bundle.verdicts, bundle.missing = execution[VERDICTS], missing
    bundle.review += execution[REVIEW]
    bundle.success = True
    bundle.files = {"submitted.ipynb": submitted.read_bytes(), "autograded.ipynb": autograded.read_bytes()}
    if generate_feedback(api.config, student):
        feedback = work / "feedback" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.html"
        bundle.files["feedback.html"] = feedback.read_bytes()
    bundle.gradebook = (work / "gradebook.db").read_bytes()


def run_as_grader(notebook, folder, cell_timeout=GradingOptions.cell_timeout,
                  submission_timeout=GradingOptions.submission_timeout, kernel_name="python3", blas_threads=1):
    """Run ``notebook`` as the grader does (ResilientExecute: every case of each test cell in this
    process), without nbgrader's course or gradebook: the one hidden-test path, for the bug bank, the
    build and the tests. ``folder`` holds the student files (it is copied; it stays as it is).

    Returns (the executed notebook, {grade_id: the grader's CellVerdict}, review notes).
    """

    config = Config()
    config.Execute.kernel_name = kernel_name
    config.Execute.timeout = cell_timeout
    config.ResilientExecute.submission_timeout = submission_timeout
    config.ResilientExecute.hidden_reference = str(release.HIDDEN_REFERENCE)
    threads = {name: str(blas_threads) for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]}
    saved = {name: os.environ.get(name) for name in [*threads, "MPLBACKEND"]}
    os.environ.update(threads, MPLBACKEND="module://matplotlib_inline.backend_inline")  # the kernel inherits them
    try:
        notebook, resources = ResilientExecute(config=config).preprocess(
            notebook, {"metadata": {"path": str(folder)}})
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.update({name: value})
    return notebook, resources[VERDICTS], resources[REVIEW]
