"""The Gradescope autograder (autograder/lms/gradescope.py), run as Gradescope runs it: the zip unpacked into
<root>/source, a submission in <root>/submission, run_autograder; results.json checked against
Gradescope's documented format and against ./kit grade's scores for the same files."""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import jsonschema
import pytest

from autograder.assignment import master, release
from autograder.lms import gradescope

# Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
VISIBILITIES = ["hidden", "after_due_date", "after_published", "visible"]
SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "visibility": {"enum": VISIBILITIES}, "stdout_visibility": {"enum": VISIBILITIES},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {"score": {"type": "number"}, "max_score": {"type": "number"}, "name": {"type": "string"},
                           "number": {"type": "string"}, "output": {"type": "string"},
                           "visibility": {"enum": VISIBILITIES}},
            "required": ["score", "max_score", "name", "output", "visibility"], "additionalProperties": False}},
    },
    "required": ["tests", "output", "execution_time"], "additionalProperties": False,
}
README_SCORES = {"bob": 29.62, "carol": 0}  # ./kit grade's, as the README prints them
LATE_RATES = {"percent_per_day": 10.0, "cap_percent": 50.0, "grace_minutes": 15.0, "base": "possible"}
SUBMITTED = {"bob": "2026-10-03T09:00:00.000000-07:00", "carol": "2026-10-01T23:00:00.000000-07:00"}


def test_the_autograder_grades_as_kit_grade_does(tmp_path):
    archive = gradescope.build(tmp_path / "hw2_gradescope.zip", LATE_RATES)
    runs = {}
    for student in README_SCORES:
        root = tmp_path / student
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(root / "source")
        (root / "submission_metadata.json").write_text(json.dumps(
            {"created_at": SUBMITTED[student], "users": [{"id": 1, "name": student}],
             "assignment": {"due_date": "2026-10-01T23:59:00.000000-07:00", "late_due_date": None}}))
        (root / "source" / "run_autograder").chmod(0o755)
        (root / "submission").mkdir()
        shutil.copyfile(release.REPO / "examples" / "submissions" / f"{student}.ipynb",
                        root / "submission" / "assignment.ipynb")
        runs[student] = subprocess.Popen(
            ["bash", str(root / "source" / "run_autograder")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable})
    for student, run in runs.items():
        log, _ = run.communicate(timeout=900)
        assert run.returncode == 0, f"run_autograder failed for {student}:\n{log}"
        results = json.loads((tmp_path / student / "results" / "results.json").read_text())
        jsonschema.validate(results, SCHEMA)
        graded = sum(test["score"] for test in results["tests"] if test["name"] != "late penalty")
        assert graded == pytest.approx(README_SCORES[student]), f"{student}: Gradescope {graded}, ./kit grade " \
                                                                 f"{README_SCORES[student]}"
        assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"])
    bob = json.loads((tmp_path / "bob" / "results" / "results.json").read_text())
    assert abs(sum(t["max_score"] for t in bob["tests"]) - master.read().auto_points) < 0.05
    assert {t["visibility"] for t in bob["tests"]} == {"visible", "after_published"}
    assert bob["output"].startswith("Public cases: ") and f"{bob['score']:.4g}" not in bob["output"]
    # a day and a part late (Gradescope's due date and bob's time): 20% of the autograded points possible
    assert bob["score"] == round(README_SCORES["bob"] - round(0.2 * master.read().auto_points, 2), 2)
    sigmoid = next(t for t in bob["tests"] if t["name"] == "test_sigmoid_activation (public cases)")
    assert "Likely cause" in sigmoid["output"] and sigmoid["score"] < sigmoid["max_score"]
    carol = json.loads((tmp_path / "carol" / "results" / "results.json").read_text())
    assert "not valid notebook JSON" in carol["output"] and carol["tests"] == []
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
    assert {"setup.sh", "run_autograder", "generated/hidden_reference.pkl", "solutions/master.ipynb"} <= set(names)
    assert not [name for name in names if name.startswith(("tests/", "examples/", "output/"))]
