"""Autograde one submission in a private nbgrader course, and write a summary of the result.

Run by autograder.classrun.grade's worker processes, so that submissions are graded in parallel without
sharing a gradebook; the main process then merges the private gradebook into the class's.

    python -m autograder.grading.core --template DIR --work DIR --student ID --submission FILE [options]
"""
import argparse
import json
import os
import shutil
from pathlib import Path

import nbformat
import nbgrader
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import GenerateFeedback, NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
)
from traitlets.config import Config

from autograder.assignment import release
from autograder.grading import course, review
from autograder.grading.preprocessors import (
    KERNEL_DIED,
    REVIEW,
    TIME_BUDGET,
    VERDICTS,
    CleanMetadata,
    GetGradesForFeedback,
    ResilientExecute,
    RestoreCells,
    SanitizeSubmission,
    SaveVerdicts,
    ShortTracebacks,
    StderrAsNote,
)
from autograder.grading.verdict import CellVerdict
from autograder.sandbox import kernel_launcher

KERNEL_NAME = "hw2-grader"
TEMPLATES = Path(__file__).resolve().parent / "templates"  # hw2_feedback: nbgrader's feedback page, extended
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
RESULT_FILE = "result.json"
EXECUTION_REPORT = "execution.json"  # ResilientExecute's verdicts and review notes
MISSING_REPORT = "missing.json"  # RestoreCells: the graded parts that are not in the submission
NOT_SUBMITTED = ("this part is not in the submission: it has no cell {cells} (was the notebook downloaded "
                 "before this part was added, or the cell deleted?)")
STOPPED = {KERNEL_DIED, TIME_BUDGET, "CellTimeoutError"}


def grading_config(root, cell_timeout, submission_timeout, ipc=False, ipc_tmpfs_mb=0, released_notebook=""):
    config = course.course_config(root)
    # nbgrader's SaveAutoGrades scores a test cell from its outputs (the kernel's); SaveVerdicts from
    # the grader's own verdict
    config.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, CleanMetadata, OverwriteKernelspec, RestoreCells, CheckCellMetadata]
    config.Autograde.autograde_preprocessors = [
        ResilientExecute, SanitizeSubmission, StderrAsNote, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveVerdicts, AssignLatePenalties, CheckCellMetadata]
    config.SanitizeSubmission.released_notebook = str(released_notebook)
    config.RestoreCells.released_notebook = str(released_notebook)
    config.RestoreCells.missing_file = config.SaveVerdicts.missing_file = str(Path(root) / MISSING_REPORT)
    config.Execute.kernel_name = KERNEL_NAME
    config.Execute.timeout = cell_timeout
    config.ResilientExecute.submission_timeout = submission_timeout
    config.ResilientExecute.hidden_reference = str(release.HIDDEN_REFERENCE)
    config.ResilientExecute.ipc = ipc
    config.ResilientExecute.ipc_tmpfs_mb = ipc_tmpfs_mb
    config.SaveVerdicts.report_file = str(Path(root) / EXECUTION_REPORT)
    return feedback_config(config)


def feedback_config(config):
    """``config`` (a course's) with how feedback is made: nbgrader puts the hidden tests' source into
    feedback, keep their messages, not their code; parts not graded by hand yet say so."""
    config.GenerateFeedback.preprocessors = [ClearHiddenTests, ShortTracebacks, GetGradesForFeedback,
                                             CSSHTMLHeaderPreprocessor]
    config.HTMLExporter.sanitize_html = True  # on top of SanitizeSubmission: nbconvert cleans outputs too
    config.ClearHiddenTests.enforce_metadata = False
    return config


def generate_feedback(config, student):
    """nbgrader's generate_feedback for ``student`` in the course of ``config`` (feedback_config'd), with
    the hw2_feedback template (NbGraderAPI.generate_feedback insists on nbgrader's own); True when it
    wrote the feedback."""
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = release.ASSIGNMENT, student
    converter = GenerateFeedback(coursedir=coursedir, config=config)
    paths = list(converter.config.HTMLExporter.extra_template_paths)  # nbgrader's bootstrap CSS
    converter.update_config(Config({"HTMLExporter": {
        "template_name": "hw2_feedback", "extra_template_basedirs": [str(TEMPLATES)],
        "extra_template_paths": [*paths, str(NBGRADER_TEMPLATES)],  # where 'feedback/index.html.j2' is
        "filters": {"tex_to_mathml": "autograder.grading.mathml.tex_to_mathml"}}}))
    converter.force = True
    try:
        converter.start()
    except NbGraderException:
        return False
    return True


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


def grade(template, work, student, submission, cell_timeout, submission_timeout, ipc=False, ipc_tmpfs_mb=0):
    """Autograde and generate feedback in ``work``; return the result summary (also saved as JSON)."""
    if work.exists():
        shutil.rmtree(work)
    submitted = work / "submitted" / student / release.ASSIGNMENT
    submitted.mkdir(parents=True)
    (work / "source").symlink_to(template / "source", target_is_directory=True)
    shutil.copyfile(template / "gradebook.db", work / "gradebook.db")
    shutil.copyfile(submission, submitted / f"{release.NOTEBOOK}.ipynb")

    released = template / "release" / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    api = NbGraderAPI(config=grading_config(work, cell_timeout, submission_timeout, ipc, ipc_tmpfs_mb, released))
    result = {"student": student, "success": False, "reasons": {},
              "review": review.review_reasons(submission, released, review.load_releases(release.RELEASES)[::-1])}
    autograde = api.autograde(release.ASSIGNMENT, student, force=True, create=True)
    autograded = work / "autograded" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    if not autograde.get("success") or not autograded.exists():
        log = autograde.get("log", "") + autograde.get("error", "")
        result["error"] = failure_cause(log)
        result["log"] = log[-4000:]
    else:
        execution = json.loads((work / EXECUTION_REPORT).read_text())
        missing = json.loads((work / MISSING_REPORT).read_text()) if (work / MISSING_REPORT).exists() else {}
        result["reasons"] = reasons_by_cell(autograded, execution[VERDICTS], missing)
        result["verdicts"], result["missing"] = execution[VERDICTS], missing
        result["review"] += execution[REVIEW]
        result["success"] = True
        result["feedback"] = generate_feedback(api.config, student)
    (work / RESULT_FILE).write_text(json.dumps(result, indent=1))
    return result


def run_as_grader(notebook, folder, cell_timeout=120, submission_timeout=600, kernel_name="python3",
                  blas_threads=1):
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, required=True, help="course made by generate_release")
    parser.add_argument("--work", type=Path, required=True, help="private course folder for this student")
    parser.add_argument("--student", required=True)
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--submission-timeout", type=int, default=600)
    parser.add_argument("--ipc", action="store_true", help="reach the kernel over Unix sockets (sandboxed kernels)")
    parser.add_argument("--ipc-tmpfs-mb", type=int, default=0,
                        help="the ipc folder as a tmpfs of this size, in a mount namespace of this process (root)")
    args = parser.parse_args(argv)
    os.environ.setdefault("JUPYTER_PATH", str(args.template.parent / "jupyter"))
    if args.ipc_tmpfs_mb:
        kernel_launcher.private_mount_namespace()
    grade(args.template.resolve(), args.work.resolve(), args.student, args.submission.resolve(),
          args.cell_timeout, args.submission_timeout, args.ipc, args.ipc_tmpfs_mb)


if __name__ == "__main__":
    main()
