"""Small master notebooks for the unit tests: the nbgrader cells of each kind, as ./kit build reads them."""
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.assignment.master import BEGIN, END


def _nbgrader(grade_id, **flags):
    return {"nbgrader": {"grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
                         "grade": False, **flags}}


def heading(text):
    return new_markdown_cell(text)


def prose(text):
    return new_markdown_cell(text)


def solution(grade_id, source):
    """A code cell students write (nbgrader solution, not graded)."""
    return new_code_cell(source, metadata=_nbgrader(grade_id, solution=True))


def autograded(grade_id, points, public, hidden=None):
    """An autograded test cell: ``public`` (str), then ``hidden`` (str) between the hidden-tests markers."""
    source = public if hidden is None else f"{public}\n{BEGIN}\n{hidden}\n{END}\n"
    return new_code_cell(source, metadata=_nbgrader(grade_id, grade=True, points=points, locked=True))


def written(grade_id, points):
    """A written answer, graded by hand."""
    return new_markdown_cell("YOUR ANSWER HERE", metadata=_nbgrader(grade_id, grade=True, solution=True, points=points))


def task(grade_id, points):
    return new_markdown_cell("Make the plot.", metadata=_nbgrader(grade_id, task=True, points=points))


def notebook(*cells):
    return new_notebook(cells=list(cells))
