"""An nbgrader course directory for hw2, made from this repository's files.

    <root>/source/hw2/assignment.ipynb   the master notebook (solutions/master.ipynb)
    <root>/source/hw2/<student files>    hw2.py, hw2_checks.py, data/...

The hidden tests' answers (generated/hidden_reference.pkl) stay out of the course: the grader reads
them from this repository (autograder.grading.hidden_cases) and runs the hidden tests in its own process,
so they are never released nor copied next to a submission, and never run in a kernel.
"""
import contextlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine
from traitlets.config.loader import PyFileConfigLoader

from autograder.assignment.master import MASTER, REPO
from autograder.assignment.release import ASSIGNMENT, HIDDEN_REFERENCE, NOTEBOOK, STUDENT_FILES

CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"


# nbgrader creates gradebooks by running the `alembic` command: find it beside this interpreter
# even when its virtual environment is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


_SCRATCH_GRADEBOOKS = set()  # the files of the gradebooks open as scratch in this process (scratch_gradebook)


@contextlib.contextmanager
def scratch_gradebook(path):
    """While this runs, nbgrader's commits to the SQLite gradebook at ``path`` (Path) are not waited for on the
    disk (``PRAGMA synchronous=OFF``): a private course's gradebook, a copy that one grading fills and returns
    as bytes. A machine that crashes meanwhile loses that grading, which is done again; a class gradebook
    never is one. Some 60 commits a grading, one or more syncs each."""
    path = str(Path(path).resolve())
    _SCRATCH_GRADEBOOKS.add(path)
    try:
        yield
    finally:
        _SCRATCH_GRADEBOOKS.discard(path)


@event.listens_for(Engine, "connect")
def _no_syncs_for_scratch(connection, _record):
    if _SCRATCH_GRADEBOOKS and isinstance(connection, sqlite3.Connection):
        databases = connection.execute("PRAGMA database_list").fetchall()
        if any(file in _SCRATCH_GRADEBOOKS for _, name, file in databases if name == "main"):
            connection.execute("PRAGMA synchronous=OFF")


class NbgraderFailed(RuntimeError):
    """An nbgrader step reported failure; the message holds its log and traceback."""


def make_source(root):
    """Fill <root>/source/hw2 from the repository and return that folder."""
    source = Path(root) / "source" / ASSIGNMENT
    if source.exists():
        shutil.rmtree(source)
    (source / "data").mkdir(parents=True)
    shutil.copyfile(MASTER, source / f"{NOTEBOOK}.ipynb")
    for name in STUDENT_FILES:
        shutil.copyfile(REPO / name, source / name)
    return source


def course_config(root, for_release=False, db_url=None):
    """nbgrader configuration for the course at ``root``.

    for_release: leave instructor-only files out of what nbgrader copies (it copies every extra
        file of the source folder into the release by default).
    db_url: SQLAlchemy URL of the gradebook; default SQLite in ``root``.
    """
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    config.CourseDirectory.root = str(Path(root).resolve())
    if db_url:
        config.CourseDirectory.db_url = db_url
    if for_release:
        config.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                                         HIDDEN_REFERENCE.name]
    return config


def run(result, step):
    """Raise NbgraderFailed unless the NbGraderAPI ``result`` of ``step`` succeeded."""
    if not result.get("success"):
        raise NbgraderFailed(f"nbgrader {step} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return result


def generate_release(root, db_url=None):
    """Make the course at ``root`` and run nbgrader generate_assignment; return the release folder.

    This also records the assignment's cells (with their hidden tests) in the gradebook, which
    autograde later restores test cells from.
    """
    make_source(root)
    api = NbGraderAPI(config=course_config(root, for_release=True, db_url=db_url))
    run(api.generate_assignment(ASSIGNMENT, force=True, create=True), "generate_assignment")
    return Path(root) / "release" / ASSIGNMENT
