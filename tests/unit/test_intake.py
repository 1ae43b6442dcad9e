"""Intake checks every notebook once (autograder/intake/validate.py): what would crash the kit becomes that
student's error row with a reason they can act on, and what is graded today is still graded."""
import json
import shutil

import attacks  # tests/attacks.py
import nbformat
import pytest

from autograder.assignment import release
from autograder.intake import collect, validate

EXAMPLES = release.REPO / "examples" / "submissions"
# nbformat warns as it gives cells without an id, or with a duplicated one, ids of their own: expected here
pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId",
                                        "ignore::nbformat.warnings.MissingIDFieldWarning")
CAROL = ("the file is not valid notebook JSON (NotJSONError: Notebook does not appear to be JSON: "
         "'{\"cells\": [{\"cell_type\": \"code\", \"sourc...)")  # as grades.csv has said since the examples exist


def problems(folder):
    return {s.student_id: s.problem for s in collect.find_submissions(folder, folder / "unpacked")}


def alice():
    return json.loads((EXAMPLES / "alice.ipynb").read_text())


def nbgrader_cells(notebook):
    return [cell for cell in notebook["cells"] if "grade_id" in cell["metadata"].get("nbgrader", {})]


def problem_of(tmp_path, notebook):
    path = tmp_path / "zoe.ipynb"
    path.write_text(json.dumps(notebook))
    return validate.notebook_problem(path)


def test_the_examples_the_master_and_the_student_notebook_are_read_as_before(tmp_path):
    for source in [*EXAMPLES.glob("*.ipynb"), release.MASTER, release.REPO / "assignment.ipynb"]:
        shutil.copyfile(source, tmp_path / f"{source.parent.name}-{source.name}")
    found = problems(tmp_path)
    assert found.pop("submissions-carol") == CAROL
    assert set(found.values()) == {""}, found


def test_every_notebook_of_the_attack_bank_is_still_graded(tmp_path):
    """Tampered metadata that nbgrader's pipeline repairs today (points, flags, a renamed grade id, a test cell
    made markdown, scores written in, duplicated cells) stays for grading and the review."""
    for attack in attacks.ATTACKS:
        nbformat.write(attacks.build(attack), tmp_path / f"{attack.name}.ipynb")
    found = problems(tmp_path)
    assert len(found) == len(attacks.ATTACKS) and set(found.values()) == {""}, found


def test_nbgrader_metadata_that_is_not_a_dictionary_is_the_student_s_error_row(tmp_path):
    """The issue: one cell's nbgrader metadata the string "x" stopped the class in the similarity report."""
    notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
    notebook.cells[35].metadata.nbgrader = "x"
    nbformat.write(notebook, tmp_path / "alice.ipynb")
    shutil.copyfile(EXAMPLES / "bob.ipynb", tmp_path / "bob.ipynb")
    assert problems(tmp_path) == {
        "alice": "cell 36: its nbgrader metadata is not a dictionary; download a fresh copy of the assignment and "
                 "paste your answers in",
        "bob": ""}


@pytest.mark.parametrize("change, reason", [
    ({"grade_id": ["test_training"]}, "its nbgrader grade id is a list, not text"),
    ({"grade_id": None}, "its nbgrader grade id is null, not text"),
    ({"grade_id": 7}, "its nbgrader grade id is a whole number, not text"),
])
def test_a_grade_id_that_is_not_text_is_refused(tmp_path, change, reason):
    notebook = alice()
    cell = nbgrader_cells(notebook)[4]
    cell["metadata"]["nbgrader"].update(change)
    number = notebook["cells"].index(cell) + 1
    assert problem_of(tmp_path, notebook) == f"cell {number}: {reason}; {validate.FRESH_COPY}"


def test_a_cell_marked_graded_without_a_grade_id_is_refused(tmp_path):
    notebook = alice()
    notebook["cells"][2]["metadata"]["nbgrader"] = {"grade": True, "points": 5}
    assert problem_of(tmp_path, notebook).startswith("cell 3: its nbgrader metadata marks it as graded or locked "
                                                     "but has no grade id")


def test_what_nbgrader_repairs_today_is_accepted(tmp_path):
    notebook = alice()
    cells = nbgrader_cells(notebook)
    cells[0]["metadata"]["nbgrader"].update(score=100, unknown={"nested": [1]}, grade="yes", points="lots")
    cells[1]["metadata"]["nbgrader"]["grade_id"] = "\u202emy\u200b_own\u2066"  # unknown: an ordinary cell
    cells[2]["metadata"]["nbgrader"] = {}
    cells[3]["metadata"]["nbgrader"] = {"task": True}  # no grade id: CleanMetadata drops it
    notebook["cells"].append(json.loads(json.dumps(cells[4])))  # a duplicated cell id
    del notebook["cells"][5]["id"]  # nbformat gives it one when it reads it
    assert problem_of(tmp_path, notebook) == ""
    older = dict(alice(), nbformat_minor=4)  # cell ids from a newer Jupyter in an older format: extra keys
    assert problem_of(tmp_path, older) == ""
    assert problem_of(tmp_path, dict(alice(), nbformat_minor=9)) == ""  # from a future Jupyter


@pytest.mark.parametrize("cell_change, reason", [
    ({"source": 5}, "cell 4, 'source': 5 (a whole number) where a string or a list of strings is expected"),
    ({"source": ["a", 3]}, "cell 4, 'source': ['a', 3] (a list) where a string or a list of strings is expected"),
    ({"outputs": [{"output_type": "stream", "text": "x"}]}, "cell 4, output 1: 'name' is a required property"),
    ({"execution_count": "one"}, "cell 4, 'execution_count': 'one' (text) where a whole number or null is expected"),
    ({"cell_type": ["code"]}, "cell 4: its cell_type ['code'] (a list), none of code, markdown, raw"),
    ({"cell_type": "heading"}, "cell 4: its cell_type 'heading' (text), none of code, markdown, raw"),
    ({"metadata": None}, "cell 4, 'metadata': None (null) where an object is expected"),
])
def test_what_breaks_the_notebook_format_is_refused_with_its_place(tmp_path, cell_change, reason):
    notebook = alice()
    notebook["cells"][3].update(cell_change)
    assert problem_of(tmp_path, notebook) == (f"the notebook does not follow the Jupyter notebook format: {reason}; "
                                              f"{validate.FRESH_COPY}")


@pytest.mark.parametrize("change, start", [
    ({"nbformat": 3}, "the notebook is in format 3.5, the assignment in format 4"),
    ({"nbformat": "4"}, "the file does not say which notebook format it is in (nbformat '4'"),
    ({"nbformat_minor": -1}, "the notebook is in format 4.-1"),
    ({"cells": []}, "the notebook has no cells"),
    ({"cells": "x"}, "the notebook does not follow the Jupyter notebook format: 'cells': 'x' (text) where a list"),
    ({"metadata": {"deep": json.loads("[" * 150 + "]" * 150)}}, "'metadata', 'deep', 0, 0, 0, 0, ...: data nested "
                                                                "more than 100 levels deep"),
])
def test_versions_nesting_and_cells_are_checked(tmp_path, change, start):
    assert problem_of(tmp_path, dict(alice(), **change)).startswith(start)


def test_text_that_is_not_unicode_is_refused_before_anything_stores_it(tmp_path):
    path = tmp_path / "zoe.ipynb"
    notebook = alice()
    notebook["cells"][3]["source"] = "x = '\ud800'"
    path.write_text(json.dumps(notebook))  # escaped: "\ud800" is valid JSON, but no file can hold it as text
    assert validate.notebook_problem(path).startswith("cell 4, 'source': text that is not valid Unicode")
    path.write_bytes(b"\xff" + (EXAMPLES / "alice.ipynb").read_bytes())
    assert validate.notebook_problem(path).startswith("the file is not valid notebook JSON (UnicodeDecodeError")
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    assert validate.notebook_problem(path).startswith("the file nests lists or objects thousands of levels deep")


def test_a_notebook_of_too_many_cells_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "MAX_CELLS", 10)
    notebook = alice()
    assert problem_of(tmp_path, notebook).startswith(
        f"the notebook has {len(notebook['cells'])} cells, more than the 10 the grader takes")


def test_a_gradescope_export_whose_metadata_is_not_yaml_names_its_line(tmp_path):
    export = tmp_path / "export"
    (export / "submission_1").mkdir(parents=True)
    shutil.copyfile(EXAMPLES / "alice.ipynb", export / "submission_1" / "assignment.ipynb")
    (export / "submission_metadata.yml").write_text("submission_1:\n  :submitters:\n  - :name: [Ada\n")
    with pytest.raises(ValueError, match=r"submission_metadata.yml line 4, column 1: not YAML"):
        collect.find_submissions(export, tmp_path / "unpacked")


def test_odd_gradescope_metadata_names_students_by_their_folders(tmp_path):
    export = tmp_path / "export"
    for number in [1, 2, 3]:
        (export / f"submission_{number}").mkdir(parents=True)
        shutil.copyfile(EXAMPLES / "bob.ipynb", export / f"submission_{number}" / "assignment.ipynb")
    (export / "submission_metadata.yml").write_text(
        "submission_1: [1, 2]\nsubmission_2:\n  :submitters: []\n  :created_at: [not, a, time]\n"
        "submission_3:\n  :submitters:\n  - :sid: {a: 1}\n  :created_at: 12\n")
    found = {s.student_id: s for s in collect.find_submissions(export, tmp_path / "unpacked")}
    assert found["1"].problem == found["2"].problem == "" and found["2"].submitted_at is None
    assert "not usable as a folder name" in found["{'a': 1}"].problem


def test_a_release_cell_nbgrader_would_refuse_is_refused_at_intake_and_a_copy_it_blanks_is_not(tmp_path):
    """nbgrader keeps a release cell's schema version and cell type as submitted, and refuses the notebook
    when they are not its own (CheckCellMetadata); of several marked copies of a cell it keeps the last."""
    notebook = alice()
    test_cell = next(c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade"))
    number, grade_id = notebook["cells"].index(test_cell) + 1, test_cell["metadata"]["nbgrader"]["grade_id"]
    test_cell["metadata"]["nbgrader"]["schema_version"] = "x"
    assert problem_of(tmp_path, notebook) == (f"cell {number} ({grade_id}): its nbgrader schema version is 'x' (text), "
                                              f"not 3; {validate.FRESH_COPY}")
    notebook["cells"].insert(number, json.loads(json.dumps(test_cell)))
    notebook["cells"][number]["metadata"]["nbgrader"]["schema_version"] = 3  # the copy after it is the one kept
    assert problem_of(tmp_path, notebook) == ""
    del notebook["cells"][number]["metadata"]["nbgrader"]["schema_version"]
    assert "its nbgrader schema version is None (null), not 3" in problem_of(tmp_path, notebook)
    notebook["cells"][number]["metadata"]["nbgrader"].update(schema_version=3, cell_type="python")
    assert f"cell {number + 1} ({grade_id}): its nbgrader cell type is 'python' (text), none of code, markdown, " \
           "raw" in problem_of(tmp_path, notebook)


def test_only_a_canvas_download_gives_canvas_user_ids(tmp_path):
    """./kit canvas needs Canvas user ids; a Canvas download's file names carry them, other layouts do not."""
    canvas, folders = tmp_path / "canvas", tmp_path / "folders"
    canvas.mkdir()
    folders.mkdir()
    shutil.copyfile(EXAMPLES / "alice.ipynb", canvas / "lovelaceada_1001_5001_assignment.ipynb")
    shutil.copyfile(EXAMPLES / "alice.ipynb", canvas / "turingalan_LATE_1002_5002_notes.txt")  # not a notebook: error row
    shutil.copyfile(EXAMPLES / "alice.ipynb", folders / "1003.ipynb")
    found = {s.student_id: (s.canvas_id, bool(s.problem)) for s in collect.find_submissions(canvas, tmp_path / "u")}
    assert found == {"1001": ("1001", False), "1002": ("1002", True)}
    assert [s.canvas_id for s in collect.find_submissions(folders, tmp_path / "u")] == [""], "a folder's name is no id"


@pytest.mark.parametrize("attachments", [[1], "x", {"image.png": [1]}, {"image.png": "x"}])
def test_a_notebook_nbformats_reader_refuses_is_refused_at_intake(tmp_path, attachments):
    """Attachments on a code cell are a property the format does not have (the checks above let such properties
    through, as nbformat does), but nbformat's reader trips on them when they are not objects of objects: every
    later stage reads with it, so intake refuses what it cannot read (a fuzzed notebook found it)."""
    notebook = json.loads((EXAMPLES / "alice.ipynb").read_text())
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["attachments"] = attachments
    path = tmp_path / "alice.ipynb"
    path.write_text(json.dumps(notebook))
    problem = validate.notebook_problem(path)
    assert problem.startswith("the notebook does not follow the Jupyter notebook format: ") and \
        problem.endswith(validate.FRESH_COPY), problem
