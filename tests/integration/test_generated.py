"""The example submissions match their generator, and nbgrader validate accepts the completed master.

(The student notebook, hidden reference and release are checked in test_assignment.py.)
"""

import nbformat

from autograder.assignment import release
from autograder.build import examples as make_examples
from autograder.build import generate as build
from autograder.grading import review

REBUILD = "run `./kit build` (python -m autograder.build.generate) and commit the result"


def test_example_submissions_are_regenerated_identically(tmp_path, monkeypatch):
    monkeypatch.setattr(make_examples, "EXAMPLES", tmp_path)
    make_examples.main()
    for path in sorted(tmp_path.iterdir()):
        committed = make_examples.release.REPO / "examples" / "submissions" / path.name
        assert path.read_bytes() == committed.read_bytes(), f"examples/submissions/{path.name} drifted: {REBUILD}"


def test_master_runs_clean_under_nbgrader_validate(master_validated):
    """nbgrader's Validate (a student's button in JupyterLab) passes on the completed notebook: the
    executed master as a student has it, test cells without their hidden part (conftest.master_validated)."""
    assert "Success! Your notebook passes all the tests." in master_validated.stdout, master_validated.stdout


def test_readme_points_table_is_the_masters():
    text = build.README.read_text()
    assert build.readme_with_points_table(text) == text, f"the README's points table is not the master's: {REBUILD}"


def test_the_released_notebook_is_in_the_releases_file():
    """A notebook downloaded from this release is compared with it (autograder/grading/review.py)."""
    record = review.release_record(nbformat.read(build.STUDENT_NOTEBOOK, as_version=4))
    assert any(entry["cells"] == record["cells"] and entry["code"] == record["code"]
               for entry in review.load_releases(release.RELEASES)), f"generated/releases.json lacks this release: {REBUILD}"
