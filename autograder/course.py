"""An nbgrader course directory for hw2, made from this repository's files.

    <root>/source/hw2/assignment.ipynb   the master notebook (solutions/master.ipynb)
    <root>/source/hw2/<student files>    hw2.py, hw2_checks.py, data/...

The hidden tests' answers (autograder/hidden_reference.pkl) stay out of the course: the grader reads
them from this repository (autograder.hidden_tests) and runs the hidden tests in its own process,
so they are never released nor copied next to a submission, and never run in a kernel.
``without_hidden_tests(notebook)`` is the master as a student would run it (test cells' public part).
"""
import copy
import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader

from autograder import master
from autograder.master import MASTER, REPO

ASSIGNMENT = "hw2"
NOTEBOOK = "assignment"
STUDENT_FILES = ["hw2.py", "hw2_checks.py", "data/mnist_threes_nines.npz", "data/test_batch_weights_biases.pkl",
                 "data/public_cases.pkl"]
HIDDEN_REFERENCE = REPO / "autograder" / "hidden_reference.pkl"
RELEASES = REPO / "autograder" / "releases.json"  # every student notebook released (./kit build adds one)
CONFIG_FILE = REPO / "autograder" / "nbgrader_config.py"


# nbgrader creates gradebooks by running the `alembic` command: find it beside this interpreter
# even when its virtual environment is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


class NbgraderFailed(RuntimeError):
    """An nbgrader step reported failure; the message holds its log and traceback."""


def master_version():
    """The version of what grading depends on (master, hidden reference, student files): grades
    record it, and a run regrades what was graded under another."""
    return master.version([MASTER, HIDDEN_REFERENCE, *(REPO / name for name in STUDENT_FILES)])


class MasterError(ValueError):
    """The master notebook cannot be graded as it is; the message says what to change."""


def check_master(path=MASTER):
    """Raise MasterError unless every autograded test cell of the master has a hidden part (cases on
    numbers no student has seen, run by the grader, which scores a cell by its cases, public and
    hidden), and every "(N points)" in its prose matches the points of the cells it announces."""
    from autograder.hidden_tests import split

    cells = nbformat.read(path, as_version=4).cells
    auto = {part.grade_id for part in master.read(path).auto}
    without = [c.metadata["nbgrader"]["grade_id"] for c in cells
               if c.metadata.get("nbgrader", {}).get("grade_id") in auto and not split(c.source)[1].strip()]
    if without:
        raise MasterError(f"{path.name}: these test cells have no hidden tests (### BEGIN HIDDEN TESTS ... "
                          f"### END HIDDEN TESTS), so the grader cannot score them: {', '.join(without)}")
    problems = master.read(path).points_problems()
    if problems:
        raise MasterError(f"{path.name}: " + "; ".join(problems))
    shadowed = _names_of_the_checks(cells)
    if shadowed:
        raise MasterError(f"{path.name}: solution cells define {', '.join(shadowed)}, a name hw2_checks has: "
                          "the grader would call its own trusted copy, not the student's; choose another name")


def _names_of_the_checks(cells):
    """Names that solution cells define and hw2_checks exports (the grader trusts hw2_checks' names)."""
    import ast

    import hw2_checks

    from autograder.review import without_ipython_syntax

    trusted = {name for name in dir(hw2_checks) if not name.startswith("_")}
    defined = set()
    for cell in cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            try:
                tree = ast.parse(without_ipython_syntax(cell.source))
            except SyntaxError:
                continue
            defined |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return sorted(defined & trusted)


def without_hidden_tests(notebook):
    """A copy of ``notebook`` whose test cells keep only their public part (what runs in a kernel)."""
    from autograder.hidden_tests import split

    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = split(cell.source)[0]
    return notebook


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
