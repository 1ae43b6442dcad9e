"""CheckCellMetadataOnce refuses exactly what nbgrader's CheckCellMetadata refuses, with the same errors, on
two-cell notebooks (a solution cell and its test cell), as nbgrader tests its preprocessors."""
import copy

import pytest
import small_masters as nb
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.preprocessors import CheckCellMetadata

from autograder.grading.preprocessors import CheckCellMetadataOnce


def two_cells(**test_cell):
    """A solution cell and its 3-point test cell, whose nbgrader metadata gets ``test_cell``'s keys (None: removed)."""
    notebook = nb.notebook(nb.solution("double", "def double(x):\n    return 2 * x"),
                           nb.autograded("test_double", 3, "assert double(1) == 2", "assert double(2) == 4"))
    metadata = notebook.cells[1].metadata.nbgrader
    for key, value in test_cell.items():
        metadata.pop(key) if value is None else metadata.update({key: value})
    return notebook


BAD = {
    "points as text": two_cells(points="3"),
    "negative points": two_cells(points=-1),
    "a grade cell without points": two_cells(points=None),
    "a grade id with a space": two_cells(grade_id="test double"),
    "an empty grade id": two_cells(grade_id=""),
    "the solution's grade id twice": two_cells(grade_id="double"),
    "grade as text": two_cells(grade="yes"),
    "a key nbgrader does not have": two_cells(score=3),
    "no locked flag": two_cells(locked=None),
    "a checksum too short": two_cells(checksum="abc"),
    "a code task cell": two_cells(task=True),
    "schema version 2": two_cells(schema_version=2),
    "schema version 4": two_cells(schema_version=4),
    "no schema version": two_cells(schema_version=None),
}


def refusal(preprocessor, notebook):
    """(the error raised, the error it was raised from) when ``preprocessor`` checks ``notebook``."""
    with pytest.raises(Exception) as raised:
        preprocessor.preprocess(copy.deepcopy(notebook), {})
    return raised.value, raised.value.__context__


@pytest.mark.parametrize("case", BAD)
def test_bad_metadata_is_refused_with_nbgraders_error(case):
    ours, theirs = refusal(CheckCellMetadataOnce(), BAD[case]), refusal(CheckCellMetadata(), BAD[case])
    for error, expected in zip(ours, theirs):
        assert (type(error), str(error)) == (type(expected), str(expected)), (
            f"{case}: expected {type(expected).__name__}: {expected}, got {type(error).__name__}: {error}")
    assert isinstance(ours[0], (ValidationError, SchemaTooOldError, SchemaTooNewError)), f"{case}: got {ours[0]!r}"


def test_the_schema_errors_are_refused_as_nbgrader_words_them():
    error, cause = refusal(CheckCellMetadataOnce(), BAD["points as text"])
    assert str(error) == "Notebook failed to validate; the nbgrader metadata may be corrupted."
    assert str(cause).startswith("'3' is not of type 'number'"), f"got {cause}"
    error, _ = refusal(CheckCellMetadataOnce(), BAD["schema version 2"])
    assert str(error) == "Outdated schema version: 2 (expected 3)"


@pytest.mark.parametrize("notebook", [two_cells(), two_cells(task=False, checksum="0" * 32, cell_type="code"),
                                      nb.notebook(nb.prose("# hw2"), nb.written("answer", 2))])
def test_good_metadata_passes_unchanged(notebook):
    checked, resources = CheckCellMetadataOnce().preprocess(copy.deepcopy(notebook), {"kept": 1})
    assert checked == notebook and resources == {"kept": 1}
    CheckCellMetadata().preprocess(copy.deepcopy(notebook), {})  # nbgrader's passes it too
