"""Shared set-up of the test suite: import path, a headless matplotlib, and session fixtures.

The expensive fixtures (an nbgrader course with its release, and two autograded submissions) are
built once per test run. Under pytest-xdist every worker asks for them, so they are built in the
run's common temporary folder under a file lock: the first worker builds, the others wait and read
the summary it left (a JSON file), so nbgrader grades each submission once per run, not per worker.
"""
import fcntl
import json
import os
import pickle
import shutil
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # in this process only: grading kernels keep their own (inline) backend

import nbformat  # noqa: E402
import pytest  # noqa: E402

from autograder import course  # noqa: E402  (also puts this interpreter's bin/, with alembic, on PATH)
from autograder.reference import load_reference  # noqa: E402

STUDENT_NOTEBOOK = REPO / "assignment.ipynb"
HIDDEN_REFERENCE = REPO / "autograder" / "hidden_reference.pkl"
# The two submissions graded once per run: the master itself, and the student notebook untouched.
SUBMISSIONS = {"master": course.MASTER, "blank": STUDENT_NOTEBOOK}
BLAS_VARIABLES = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]


# --- cheap session fixtures ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def reference():
    """The reference solution: the master notebook's functions as a module."""
    return load_reference()


@pytest.fixture(scope="session")
def master_notebook():
    return nbformat.read(course.MASTER, as_version=4)


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
    # per student: {"success": bool, "log": str, "error": str}, the NbGraderAPI.autograde result
    results: dict
    # per student: {grade_id: {"score", "max_score", "auto_score", "manual_score",
    #                          "needs_manual_grade", "cell_type", "cell_class"}}, or None if missing
    grades: dict


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """An nbgrader course made by ``autograder.course.generate_release`` (source, release, gradebook)."""
    def build(root):
        # with the hidden reference in source/: graded_course runs stock nbgrader, hidden tests in the kernel
        release = course.generate_release(root, with_hidden=True)
        return {"root": str(root), "release": str(release)}

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
                submission = gradebook.find_submission(course.ASSIGNMENT, student)
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
def graded_course(tmp_path_factory, released_course):
    """The course of ``released_course`` with two submissions autograded by nbgrader's own API.

    Students: "master" submits a copy of solutions/master.ipynb, "blank" a copy of the untouched
    assignment.ipynb. Scores are read back from the course's gradebook.
    """
    from nbgrader.apps import NbGraderAPI
    from sqlalchemy.exc import SAWarning

    root = released_course.root
    db_url = f"sqlite:///{root}/gradebook.db"

    def build(_):
        results, grades = {}, {}
        threads = str(_kernel_blas_threads())
        saved = {name: os.environ.get(name) for name in BLAS_VARIABLES}
        for name in BLAS_VARIABLES:  # inherited by the grading kernel; a setting made by the user wins
            os.environ.setdefault(name, threads)
        try:
            for student, notebook in SUBMISSIONS.items():
                submitted = root / "submitted" / student / course.ASSIGNMENT
                submitted.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(notebook, submitted / f"{course.NOTEBOOK}.ipynb")
                api = NbGraderAPI(config=course.course_config(root))
                with warnings.catch_warnings():
                    # nbgrader's own gradebook code triggers SQLAlchemy autoflush warnings: not ours
                    warnings.simplefilter("ignore", SAWarning)
                    result = api.autograde(course.ASSIGNMENT, student)
                results[student] = {"success": bool(result.get("success")),
                                    "log": str(result.get("log", ""))[-6000:],
                                    "error": str(result.get("error", ""))[-6000:]}
                grades[student] = _read_grades(db_url, student)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return {"results": results, "grades": grades}

    summary = _build_once(tmp_path_factory, "hw2-graded", build)
    return GradedCourse(root=root, release=released_course.release, db_url=db_url,
                        results=summary["results"], grades=summary["grades"])


@dataclass
class AttackBatch:
    out: Path  # autograder.grade's output folder
    rows: dict  # student -> its grades.csv row
    ledger: dict  # student -> its results.json entry
    unchanged: dict  # file -> whether it is byte for byte what it was before grading


@pytest.fixture(scope="session")
def attack_batch(tmp_path_factory):
    """The attack bank (tests/attacks.py) and two honest students, graded in one autograder.grade batch."""
    import hashlib

    from autograder.grade import ClassGrader
    import attacks  # tests/attacks.py (pytest puts tests/ on sys.path)

    def build(folder):
        submissions = folder / "submissions"
        submissions.mkdir(parents=True)
        for honest in ["alice", "bob"]:
            shutil.copyfile(attacks.EXAMPLES / f"{honest}.ipynb", submissions / f"{honest}.ipynb")
        for attack in attacks.ATTACKS:
            nbformat.write(attacks.build(attack), submissions / f"{attack.name}.ipynb")
        watched = sorted(submissions.iterdir()) + sorted((REPO / "data").iterdir()) + \
            sorted(attacks.EXAMPLES.iterdir()) + [course.HIDDEN_REFERENCE, course.MASTER]
        before = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in watched}
        grader = ClassGrader(folder / "out", workers=2, cell_timeout=30, submission_timeout=240, blas_threads=1)
        rows = grader.write_grades_csv(grader.run(submissions))
        after = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None for p in watched}
        return {"out": str(folder / "out"), "rows": {r["student"]: r for r in rows}, "ledger": grader.ledger,
                "unchanged": {p: before[p] == after[p] for p in before}}

    summary = _build_once(tmp_path_factory, "attack-batch", build)
    return AttackBatch(Path(summary["out"]), summary["rows"], summary["ledger"], summary["unchanged"])
