"""Fuzzing intake (issue 21): mutated notebooks (tests/mutants.py: types swapped, keys removed or written
twice, huge and odd strings, controls, bidi marks, lone surrogates, deep nesting, other nbformat versions,
junk bytes) go through every stage of a class run that needs no kernel -- collect and its validation, the
review, the similarity report, grades.csv and canvas.csv -- and each one ends as a graded entry or an
error row that says what is wrong, never as an exception.

Reproducible: Hypothesis derandomized (the same FUZZ_EXAMPLES examples on every run, no example database),
and the class of CLASS_MUTANTS mutants drawn from fixed seeds.
"""
import csv
import shutil

import nbformat
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from mutants import EXAMPLES, Choices, mutant  # tests/mutants.py
from nbformat import validator

from autograder.assignment import master, release
from autograder.grading import review
from autograder.intake import collect, validate
from autograder.outputs import canvas, similarity, spreadsheet

# nbformat warns as it gives cells without an id, or with a duplicated one, ids of their own: expected here
pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId",
                                        "ignore::nbformat.warnings.MissingIDFieldWarning")
FUZZ_EXAMPLES = 1000
CLASS_MUTANTS = 40
FUZZ = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
RELEASED = release.REPO / "assignment.ipynb"
RELEASES = review.load_releases(release.RELEASES)[::-1]
SOLUTIONS = set(master.read().solutions)
COLUMNS = ["student", "name", "canvas_id", "status", "total", "max", "final", "reason", "review"]
MAX_REASON = 600  # characters: a reason is a sentence, not a dump of the notebook


def kernel_free_stages(folder, out, compare=False):
    """What a class run's stages that need no kernel make of the submissions in ``folder``: the rows of the
    grades.csv it writes to ``out`` (read back), and of canvas.csv. ``compare``: also the similarity report
    (copydetect takes about a second a run)."""
    submissions = collect.find_submissions(folder, out / "unpacked")
    rows = []
    for submission in submissions:
        # the students' ids taken as Canvas user ids, so that canvas.csv has every student's row
        row = {"student": submission.student_id, "name": submission.name, "canvas_id": submission.student_id, "max": 60}
        if submission.problem:
            rows.append({**row, "status": "error", "reason": submission.problem, "total": 0, "final": 0})
            continue
        notebook = nbformat.read(submission.path, as_version=4)
        assert_validated_form(notebook)
        similarity.solution_cells(notebook, SOLUTIONS)
        notes = review.review_reasons(submission.path, RELEASED, RELEASES)
        rows.append({**row, "status": "graded", "review": " | ".join(notes), "total": 1.5, "final": 1.5})
    if compare:
        similarity.write_similarity(submissions, out)
    spreadsheet.write_csv(out / "grades.csv", COLUMNS, rows)
    canvas.write_canvas_csv(out)
    return _read(out / "grades.csv"), _read(out / "canvas.csv")


def assert_validated_form(notebook):
    """What intake promises of an accepted notebook (autograder/intake/validate.py), as nbformat reads it."""
    assert next(validator.iter_validate(notebook, relax_add_props=True), None) is None
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        assert isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id", ""), str)
        assert isinstance(cell.source, str)


def _read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def assert_an_entry_or_an_error_row(grades, exported, students):
    header, rows = grades[0], grades[1:]
    assert sorted(row[0] for row in rows) == sorted(students)
    for row in map(dict, (zip(header, row) for row in rows)):
        assert row["status"] in ("graded", "error"), row
        if row["status"] == "error":
            assert row["reason"] and "Traceback" not in row["reason"] and len(row["reason"]) <= MAX_REASON, row
            assert not any(f"({kind}) where {kind} is expected" in row["reason"]  # says what is wrong
                           for kind in validate.JSON_TYPES.values()), row
    assert sorted(row[1] for row in exported[2:]) == sorted(students), exported


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(st.data())
def test_every_mutated_notebook_is_graded_or_an_error_row(workdir, data):
    description, content = mutant(Choices.from_hypothesis(data))
    note(description)
    folder, out = workdir / "submissions", workdir / "out"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    out.mkdir(exist_ok=True)
    (folder / "mutant.ipynb").write_bytes(content)
    grades, exported = kernel_free_stages(folder, out)
    assert_an_entry_or_an_error_row(grades, exported, ["mutant"])
    status, reason = grades[1][3], grades[1][7]
    event(f"{status}: {reason.split(':')[0].split('(')[0][:60]}" if status == "error" else status)


def test_a_class_of_mutants_gets_an_entry_or_an_error_row_each_and_the_honest_are_graded(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for honest in ["alice", "bob", "dave"]:
        shutil.copyfile(EXAMPLES / f"{honest}.ipynb", folder / f"{honest}.ipynb")
    for seed in range(CLASS_MUTANTS):
        (folder / f"mutant{seed}.ipynb").write_bytes(mutant(Choices.from_seed(seed))[1])
    grades, exported = kernel_free_stages(folder, tmp_path / "out", compare=True)
    assert_an_entry_or_an_error_row(grades, exported, ["alice", "bob", "dave", *(f"mutant{s}" for s in range(CLASS_MUTANTS))])
    status = {row[0]: row[3] for row in grades[1:]}
    assert (status["alice"], status["bob"], status["dave"]) == ("graded", "graded", "graded")
    assert 0 < list(status.values()).count("error") < CLASS_MUTANTS + 3, "the seeds should give both kinds"
    pairs = {(pair.first, pair.second) for pair in similarity.read_pairs(tmp_path / "out")}
    assert ("alice", "dave") in pairs, "the bundled examples alice and dave share their solutions"


def test_the_issue_s_notebook_is_an_error_row_that_says_what_to_do(tmp_path):
    """alice's notebook with one cell's nbgrader metadata the string "x", graded with bob (issue 21)."""
    notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
    notebook.cells[35].metadata.nbgrader = "x"
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(notebook, folder / "alice.ipynb")
    shutil.copyfile(EXAMPLES / "bob.ipynb", folder / "bob.ipynb")
    grades, _ = kernel_free_stages(folder, tmp_path / "out", compare=True)
    rows = {row[0]: dict(zip(grades[0], row)) for row in grades[1:]}
    assert rows["bob"]["status"] == "graded"
    assert rows["alice"]["status"] == "error"
    assert rows["alice"]["reason"] == f"cell 36: its nbgrader metadata is not a dictionary; {validate.FRESH_COPY}"


def test_the_review_reads_any_code_a_valid_notebook_holds(tmp_path):
    notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("total = " + " + ".join(["1"] * 5000)))
    nbformat.write(notebook, tmp_path / "long_sum.ipynb")
    assert validate.notebook_problem(tmp_path / "long_sum.ipynb") == ""
    review.review_reasons(tmp_path / "long_sum.ipynb", RELEASED, RELEASES)
    deep = "x = " + "(" * 3000 + "1" + ")" * 3000  # too deep for the parser: read by its names instead
    assert review.code_reasons(deep + "\nimport ctypes") == review.code_reasons("import ctypes")
