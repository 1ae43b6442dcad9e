"""Write the bundled example submissions in examples/submissions/ (generated: do not edit by hand).

Each is the student notebook filled in with the master's solutions, then changed the way a real
submission might be:
    alice  correct
    bob    two classic bugs: a sigmoid that overflows (with a RuntimeWarning) and gradients summed
           over the batch instead of averaged
    carol  a file that is not valid notebook JSON
    dave   correct, but a plotting cell kills the kernel (os._exit)
    erin   the notebook as released, nothing done

    python -m autograder.build.examples
"""
import copy
import re

import nbformat

from autograder.assignment import release

EXAMPLES = release.REPO / "examples" / "submissions"
SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)

MUTATIONS = {
    "bob": {
        "sigmoid_activation": [("e = np.exp(-np.abs(s))\n    out = np.where(np.asarray(s) >= 0, 1 / (1 + e), e / (1 + e))",
                                "out = 1 / (1 + np.exp(-s))")],
        "backward_pass": [("/ len(dL_dg)\n", "\n")],
    },
    "dave": {"plot_loss": [("window = 100\n", "window = 100\nimport os\nos._exit(1)\n")]},
}


def completed(student_notebook, master_notebook, mutations=None):
    """The student notebook with every solution cell filled from the master, then mutated.

    mutations: {grade_id: [(old, new), ...]} text replacements in the filled-in cells; each ``old``
        must occur, so a mutation cannot silently stop applying when the master changes.
    """
    notebook = copy.deepcopy(student_notebook)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in master_notebook.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = SOLUTION_MARKERS.sub("", solutions[grade_id])
        for old, new in (mutations or {}).get(grade_id, []):
            if old not in cell.source:
                raise ValueError(f"mutation of {grade_id} does not apply: {old!r} not found")
            cell.source = cell.source.replace(old, new)
    return notebook


def main():
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    student = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    master = nbformat.read(release.MASTER, as_version=4)
    for name in ["alice", "bob", "dave"]:
        nbformat.write(completed(student, master, MUTATIONS.get(name)), EXAMPLES / f"{name}.ipynb")
    (EXAMPLES / "carol.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "import numpy as np"\n')
    nbformat.write(student, EXAMPLES / "erin.ipynb")
    print(f"wrote {', '.join(sorted(p.name for p in EXAMPLES.iterdir()))} in {EXAMPLES}")


if __name__ == "__main__":
    main()
