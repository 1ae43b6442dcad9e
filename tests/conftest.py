"""Shared set-up of the test suite: import path, one BLAS thread, a headless matplotlib, and session fixtures.

The expensive fixtures (an nbgrader course with its release, and two submissions graded by the
production grader) are built once per test run. Under pytest-xdist every worker asks for them, so they are built in the
run's common temporary folder under a file lock: the first worker builds, the others wait and read
the summary it left (a JSON file), so nbgrader grades each submission once per run, not per worker.
"""
import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# One BLAS thread in this process and in what it starts without a setting of its own (kernels, nbgrader
# validate, commands), unless the user set one: ./kit test runs two tests at a time on two cores, and BLAS
# threads beside a busy worker wait for each other (the master's run took ~4 times the CPU with two).
for _variable in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
    os.environ.setdefault(_variable, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # in this process only: grading kernels keep their own (inline) backend

import nbformat  # noqa: E402
import pytest  # noqa: E402

from autograder.assignment import release
from autograder.assignment.reference import load_reference  # noqa: E402
from autograder.grading import course  # noqa: E402  (also puts this interpreter's bin/, with alembic, on PATH)

STUDENT_NOTEBOOK = REPO / "assignment.ipynb"
HIDDEN_REFERENCE = REPO / "generated" / "hidden_reference.pkl"
# The two submissions graded once per run: the master itself, and the student notebook untouched.
SUBMISSIONS = {"master": release.MASTER, "blank": STUDENT_NOTEBOOK}


# --- cheap session fixtures ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def reference():
    """The reference solution: the master notebook's functions as a module."""
    return load_reference()


@pytest.fixture(scope="session")
def master_notebook():
    return nbformat.read(release.MASTER, as_version=4)


@pytest.fixture(scope="session")
def student_notebook():
    """The committed student notebook, assignment.ipynb."""
    return nbformat.read(STUDENT_NOTEBOOK, as_version=4)


@pytest.fixture(scope="session")
def hidden_cases():
    """The committed hidden reference: {function name: [case dict, ...]}."""
    return pickle.loads(HIDDEN_REFERENCE.read_bytes())


# --- built once per run, shared by the xdist workers --------------------------------------------

def _shared_folder(tmp_path_factory):
    """The run's temporary folder, common to all xdist workers (a worker's own folder otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_once(tmp_path_factory, name, build):
    """Run ``build(folder)`` once per test run and return the JSON summary it returned.

    The first worker to get the lock builds; the others wait for it and read its summary. A build
    that raised is recorded too, so the other workers report its error instead of repeating it.
    """
    shared = _shared_folder(tmp_path_factory)
    folder = shared / name
    summary_file = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not summary_file.exists():
                try:
                    summary = build(folder)
                except Exception:
                    summary = {"build_error": traceback.format_exc()}
                summary_file.write_text(json.dumps(summary))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    summary = json.loads(summary_file.read_text())
    if "build_error" in summary:
        pytest.fail(f"building the shared fixture {name!r} failed:\n{summary['build_error']}", pytrace=False)
    return summary


@dataclass
class ReleasedCourse:
    root: Path  # the nbgrader course: source/, release/, gradebook.db
    release: Path  # <root>/release/hw2, what students get


@dataclass
class GradedCourse:
    root: Path
    release: Path
    db_url: str
    # per student: {"success": bool, "log": str, "error": str}, from the grader's results.json
    results: dict
    # per student: {grade_id: {"score", "max_score", "auto_score", "manual_score",
    #                          "needs_manual_grade", "cell_type", "cell_class"}}, or None if missing
    grades: dict


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """An nbgrader course made by ``autograder.grading.course.generate_release`` (source, release, gradebook)."""
    def build(root):
        released = course.generate_release(root)
        return {"root": str(root), "release": str(released)}

    summary = _build_once(tmp_path_factory, "hw2-course", build)
    return ReleasedCourse(Path(summary["root"]), Path(summary["release"]))


def _kernel_blas_threads():
    """BLAS threads for the grading kernel: the cores shared among the xdist workers.

    With pytest -n 2 on 2 cores, a kernel with 2 BLAS threads next to a busy worker runs the
    training several times slower (the threads wait for each other); one thread each does not.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers)


def _read_grades(db_url, student):
    """The grades of ``student``'s hw2 submission in the gradebook, keyed by grade id."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # SQLAlchemy's autoflush warnings inside nbgrader's API
        with Gradebook(db_url) as gradebook:
            try:
                submission = gradebook.find_submission(release.ASSIGNMENT, student)
            except MissingEntry:
                return None
            grades = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grades[grade.cell.name] = dict(
                        score=grade.score, max_score=grade.max_score, auto_score=grade.auto_score,
                        manual_score=grade.manual_score, needs_manual_grade=bool(grade.needs_manual_grade),
                        cell_type=grade.cell.cell_type, cell_class=type(grade.cell).__name__,
                        notebook=notebook.name)
            return grades


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """Two submissions graded by the production grader (autograder.classrun.grade, in-process): "master" submits
    a copy of solutions/master.ipynb, "blank" a copy of the untouched assignment.ipynb. Scores are read
    back from the class course's gradebook."""
    from autograder.classrun.grade import ClassGrader
    from autograder.grading.options import GradingOptions
    from autograder.sandbox.kernel_launcher import sandbox_tier

    def build(folder):
        submissions = folder / "submissions"
        submissions.mkdir(parents=True)
        for student, notebook in SUBMISSIONS.items():
            shutil.copyfile(notebook, submissions / f"{student}.ipynb")
        options = GradingOptions(blas_threads=_kernel_blas_threads(), tier=sandbox_tier())
        grader = ClassGrader(folder / "out", options, workers=1)
        grader.run(submissions)
        root = grader.course.root
        results = {student: {"success": grader.ledger.get(student)["status"] in ("graded", "partial"),
                             "log": "", "error": grader.ledger.get(student)["reason"]} for student in SUBMISSIONS}
        grades = {student: _read_grades(grader.db_url, student) for student in SUBMISSIONS}
        return {"root": str(root), "release": str(root / "release" / release.ASSIGNMENT), "db_url": grader.db_url,
                "results": results, "grades": grades}

    summary = _build_once(tmp_path_factory, "hw2-graded", build)
    return GradedCourse(root=Path(summary["root"]), release=Path(summary["release"]), db_url=summary["db_url"],
                        results=summary["results"], grades=summary["grades"])


# Run before the notebook's first cell: records every figure when the notebook calls plt.show().
RECORD_FIGURES = '''
import matplotlib.pyplot
_figures, _show = [], matplotlib.pyplot.show
def _record_and_show(*args, **kwargs):
    for number in matplotlib.pyplot.get_fignums():
        figure = matplotlib.pyplot.figure(number)
        _figures.append({"suptitle": figure._suptitle.get_text() if figure._suptitle else "", "axes": [
            {"title": a.get_title(), "xlabel": a.get_xlabel(), "ylabel": a.get_ylabel(),
             "legend": a.get_legend() is not None, "lines": len(a.lines), "images": len(a.images)}
            for a in figure.axes]})
    return _show(*args, **kwargs)
matplotlib.pyplot.show = _record_and_show
'''


@dataclass
class MasterValidated:
    stdout: str  # what `nbgrader validate` printed (stdout, then stderr)
    figures: list  # every figure the master drew, as RECORD_FIGURES records it: {"suptitle", "axes": [...]}


@pytest.fixture(scope="session")
def master_validated(tmp_path_factory):
    """The executed master as a student has it (test cells without their hidden part) run once by nbgrader's
    Validate, a student's button in JupyterLab, with a first cell that records every figure it draws and a
    last one that saves them: one run of the master's training for both the validation and the figures."""
    from autograder.build.generate import EXECUTED_SOLUTION

    def build(folder):
        folder.mkdir(parents=True)
        figures_file = folder / "figures.json"
        notebook = release.without_hidden_tests(nbformat.read(EXECUTED_SOLUTION, as_version=4))
        notebook.cells.insert(0, nbformat.v4.new_code_cell(RECORD_FIGURES))
        notebook.cells.append(nbformat.v4.new_code_cell(
            f"import json\nopen({str(figures_file)!r}, 'w').write(json.dumps(_figures))"))
        nbformat.write(notebook, folder / "assignment.ipynb")
        for name in release.STUDENT_FILES:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(release.REPO / name, folder / name)
        run = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "assignment.ipynb",
                              "--Execute.timeout=600"], cwd=folder, capture_output=True, text=True, timeout=600)
        figures = json.loads(figures_file.read_text()) if figures_file.exists() else []
        return {"stdout": run.stdout + run.stderr, "figures": figures}

    summary = _build_once(tmp_path_factory, "master-validated", build)
    return MasterValidated(summary["stdout"], summary["figures"])


@dataclass
class AttackBatch:
    out: Path  # autograder.classrun.grade's output folder
    rows: dict  # student -> its grades.csv row
    ledger: dict  # student -> its results.json entry
    unchanged: dict  # file -> whether it is byte for byte what it was before grading


@pytest.fixture(scope="session")
def examples_graded(tmp_path_factory):
    """The bundled examples graded by ``python -m autograder.classrun.grade`` with 2 workers, once per run:
    (the output folder, grades.csv rows by student, what the command printed, the examples' digests before)."""
    from grading import EXAMPLES, digests, grade  # tests/grading.py

    def build(folder):
        before = digests(EXAMPLES)
        rows, stdout = grade(EXAMPLES, folder / "out", "--workers", "2")
        return {"out": str(folder / "out"), "rows": rows, "stdout": stdout, "before": before}

    summary = _build_once(tmp_path_factory, "examples-graded", build)
    return Path(summary["out"]), summary["rows"], summary["stdout"], summary["before"]


@pytest.fixture(scope="session")
def attack_batch(tmp_path_factory):
    """The attack bank (tests/attacks.py) and two honest students, graded in one autograder.classrun.grade batch."""
    import hashlib

    import attacks  # tests/attacks.py (pytest puts tests/ on sys.path)

    from autograder.classrun.grade import ClassGrader
    from autograder.grading.options import GradingOptions
    from autograder.sandbox.kernel_launcher import sandbox_tier

    def build(folder):
        submissions = folder / "submissions"
        submissions.mkdir(parents=True)
        for honest in ["alice", "bob"]:
            shutil.copyfile(attacks.EXAMPLES / f"{honest}.ipynb", submissions / f"{honest}.ipynb")
        for attack in attacks.ATTACKS:
            nbformat.write(attacks.build(attack), submissions / f"{attack.name}.ipynb")
        for name, target in attacks.LINKS.items():  # links that lead out of the submissions folder
            (submissions / name).parent.mkdir(exist_ok=True)
            (submissions / name).symlink_to(target)
        for name in attacks.HOSTILE_NAMES:  # file names that are formulas or terminal escapes
            shutil.copyfile(attacks.EXAMPLES / "alice.ipynb", submissions / name)
        watched = sorted(p for p in submissions.iterdir() if p.is_file() and not p.is_symlink()) + \
            sorted((REPO / "data").iterdir()) + sorted(attacks.EXAMPLES.iterdir()) + \
            [release.HIDDEN_REFERENCE, release.MASTER]
        before = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in watched}
        options = GradingOptions(cell_timeout=30, submission_timeout=240, blas_threads=1, tier=sandbox_tier())
        grader = ClassGrader(folder / "out", options, workers=2)
        rows = grader.write_grades_csv(grader.run(submissions))
        after = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in watched}
        return {"out": str(folder / "out"), "rows": {r["student"]: r for r in rows}, "ledger": grader.ledger.entries,
                "unchanged": {p: before[p] == after[p] for p in before}}

    summary = _build_once(tmp_path_factory, "attack-batch", build)
    return AttackBatch(Path(summary["out"]), summary["rows"], summary["ledger"], summary["unchanged"])
