"""What is released and graded: the assignment's name and files, the generated files graded against,
the version grades are recorded under, and the checks a master must pass before anything is built
or graded from it.

``without_hidden_tests(notebook)`` is the master as a student would run it (test cells' public part).
"""
import copy

import nbformat

from autograder.assignment import master
from autograder.assignment.master import MASTER, REPO, split, without_ipython_syntax

ASSIGNMENT = "hw2"
NOTEBOOK = "assignment"
STUDENT_FILES = ["hw2.py", "hw2_checks.py", "data/mnist_threes_nines.npz", "data/test_batch_weights_biases.pkl",
                 "data/public_cases.pkl"]
GENERATED = REPO / "generated"  # files ./kit build makes that are not released: never edit them by hand
HIDDEN_REFERENCE = GENERATED / "hidden_reference.pkl"
RELEASES = GENERATED / "releases.json"  # every student notebook released (./kit build adds one)


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


def reserved_names():
    """The names a solution cell may not define (set of str): hw2_checks' public names. The grader runs
    test cells with its own trusted copy of hw2_checks, whose names win over a student's."""
    import hw2_checks

    return {name for name in dir(hw2_checks) if not name.startswith("_")}


def _names_of_the_checks(cells):
    """Names that solution cells define and are reserved (reserved_names)."""
    import ast

    trusted = reserved_names()
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
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = split(cell.source)[0]
    return notebook


def main():
    """Print the master's parts, their points and the version grades are recorded under."""
    model = master.read()
    for part in model.parts:
        print(f"{part.grade_id:<36} {part.kind:<20} {part.points:>5g}  {part.section}")
    print(f"{model.auto_points:g} points autograded, {model.hand_points:g} by hand; version {master_version()}")
    for problem in model.points_problems():
        print("PROBLEM:", problem)


if __name__ == "__main__":
    main()
