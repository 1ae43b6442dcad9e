"""Fuzzed notebooks in a real grading run (issue 21): one honest notebook and MUTANTS mutants graded by
``python -m autograder.classrun.grade``. The honest one is graded as before; each mutant is graded or an error
row; the run ends with grades.csv, the similarity report and the class report for everyone.

The mutants: the issue's (one cell's nbgrader metadata the string "x": refused at intake), one with the
odd nbgrader metadata that intake leaves to nbgrader because nbgrader repairs it (graded in full, flagged for
review), and the first seeded mutants of tests/mutants.py that intake accepts whole (read by nbgrader and run),
of a blank notebook: it runs every cell as a completed one does, in a few seconds instead of half a minute."""
import json

import nbformat
from grading import EXAMPLES, grade  # tests/grading.py
from mutants import Choices, mutant  # tests/mutants.py

from autograder.assignment import master
from autograder.intake import validate

SEEDED = 3
MUTANTS = SEEDED + 2
BLANK_BASES = ("erin", "assignment")  # bases of tests/mutants.py with no answer written in


def accepted_whole_mutants(folder, count):
    """The first ``count`` seeded mutants of a blank base that are whole notebooks and that intake accepts:
    {name: description}."""
    found, seed = {}, 0
    while len(found) < count:
        description, content = mutant(Choices.from_seed(seed))
        path = folder / f"seed{seed}.ipynb"
        path.write_bytes(content)
        base = description.split()[0]
        if base in BLANK_BASES and "the whole notebook" in description and not validate.notebook_problem(path):
            found[path.stem] = description
        else:
            path.unlink()
        seed += 1
    return found


def repaired_by_nbgrader():
    """alice's notebook with nbgrader metadata that nbgrader's pipeline repairs (CleanMetadata, RestoreCells,
    DeduplicateIds): flags and points of odd types, keys nbgrader does not have, a grade id of bidi and
    zero-width marks, an earlier copy of a test cell with a schema version nbgrader would refuse, a cell
    without an id."""
    notebook = json.loads((EXAMPLES / "alice.ipynb").read_text())
    by_id = {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"] if "nbgrader" in c["metadata"]}
    by_id["test_flatten_images"]["metadata"]["nbgrader"].update(grade="yes", points="lots", score=100, x={"y": [1]})
    by_id["relu_activation"]["metadata"]["nbgrader"]["grade_id"] = "\u202emy_own\u200b"
    copy = json.loads(json.dumps(by_id["test_training"]))
    copy["metadata"]["nbgrader"]["schema_version"], copy["id"] = "x", "copied"
    notebook["cells"].insert(notebook["cells"].index(by_id["test_training"]), copy)
    del notebook["cells"][0]["id"]
    return notebook


def test_fuzzed_notebooks_are_graded_or_error_rows_and_the_honest_one_is_graded_as_before(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "honest.ipynb").write_bytes((EXAMPLES / "alice.ipynb").read_bytes())
    notebook = nbformat.read(EXAMPLES / "alice.ipynb", as_version=4)
    notebook.cells[35].metadata.nbgrader = "x"
    nbformat.write(notebook, folder / "issue.ipynb")
    (folder / "repaired.ipynb").write_text(json.dumps(repaired_by_nbgrader()))
    assert validate.notebook_problem(folder / "repaired.ipynb") == "", "left to nbgrader, which repairs it"
    seeded = accepted_whole_mutants(folder, SEEDED)

    rows, stdout = grade(folder, tmp_path / "out", "--workers", "2", "--cell-timeout", "60",
                         "--submission-timeout", "300")

    assert sorted(rows) == sorted(["honest", "issue", "repaired", *seeded]), rows.keys()
    full_marks = f"{master.read().auto_points:g}"
    honest, repaired = rows.pop("honest"), rows["repaired"]
    assert (honest["status"], honest["auto_score"], honest["review"]) == ("graded", full_marks, "")
    assert (repaired["status"], repaired["auto_score"]) == ("graded", full_marks), repaired
    assert "test_flatten_images" in repaired["review"] and "unknown grade id" in repaired["review"], repaired
    assert (rows["issue"]["status"], rows["issue"]["reason"]) == (
        "error", f"cell 36: its nbgrader metadata is not a dictionary; {validate.FRESH_COPY}")
    for student, row in rows.items():
        assert row["status"] in ("graded", "partial", "error"), (student, seeded.get(student), row)
        assert row["status"] != "error" or row["reason"] and "Traceback" not in row["reason"], (student, row)
    assert (tmp_path / "out" / "similarity.html").exists() and "class report:" in stdout
