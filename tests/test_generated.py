"""Generated files match their sources, nothing secret is released, and the reference gives the known answers."""
import re
import shutil
import subprocess
import sys
import warnings

import nbformat
import numpy as np
import pytest
import yaml

from autograder import build, course, make_examples, make_hidden_reference
from autograder.reference import load_reference

REBUILD = "run `./kit build` (python -m autograder.build) and commit the result"


@pytest.fixture(scope="module")
def reference():
    return load_reference()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return course.generate_release(tmp_path_factory.mktemp("course"))


def test_student_notebook_is_regenerated_identically(release):
    committed = (course.REPO / "assignment.ipynb").read_bytes()
    regenerated = (release / "assignment.ipynb").read_bytes()
    assert regenerated == committed, f"assignment.ipynb differs from what the master generates: {REBUILD}"


def test_hidden_reference_is_regenerated_identically(tmp_path):
    make_hidden_reference.main(["--out", str(tmp_path / "hidden.pkl")])
    assert (tmp_path / "hidden.pkl").read_bytes() == make_hidden_reference.HIDDEN_REFERENCE.read_bytes(), \
        f"autograder/hidden_reference.pkl differs from what the master computes: {REBUILD}"


def test_example_submissions_are_regenerated_identically(tmp_path, monkeypatch):
    monkeypatch.setattr(make_examples, "EXAMPLES", tmp_path)
    make_examples.main()
    for path in sorted(tmp_path.iterdir()):
        committed = make_examples.course.REPO / "examples" / "submissions" / path.name
        assert path.read_bytes() == committed.read_bytes(), f"examples/submissions/{path.name} drifted: {REBUILD}"


def test_executed_solution_was_built_from_the_current_master():
    master = nbformat.read(course.MASTER, as_version=4)
    executed = nbformat.read(build.EXECUTED_SOLUTION, as_version=4)
    assert [c.source for c in executed.cells] == [c.source for c in master.cells], \
        f"solutions/solution_executed.ipynb is not the current master run: {REBUILD}"
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"the executed solution has errors: {errors[:1]}"
    images = [o for c in executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5, f"expected at least 5 plots in the executed solution, found {len(images)}"


def test_release_holds_only_student_files(release):
    files = sorted(str(p.relative_to(release)) for p in release.rglob("*") if p.is_file())
    assert files == sorted(["assignment.ipynb", *course.STUDENT_FILES]), f"released files: {files}"


def _regions(source, begin, end):
    return re.findall(rf"{begin}\n(.*?)\n[ \t]*{end}", source, flags=re.DOTALL)


def test_no_solution_or_hidden_material_reaches_students(release, reference):
    master = nbformat.read(course.MASTER, as_version=4)
    released_text = "\n".join(p.read_text(errors="replace") for p in release.rglob("*.ipynb")) + \
        "\n".join((release / name).read_text() for name in ["hw2.py", "hw2_checks.py"])
    released_lines = {line.strip() for line in "\n".join(
        c.source for c in nbformat.read(release / "assignment.ipynb", as_version=4).cells).splitlines()}
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "load_hidden_cases(\""]:
        assert marker not in released_text, f"released files contain {marker!r}"
    secret = []
    for cell in master.cells:
        secret += _regions(cell.source, r"### BEGIN SOLUTION", r"### END SOLUTION")
        secret += _regions(cell.source, r"### BEGIN HIDDEN TESTS", r"### END HIDDEN TESTS")
    public = {line.strip() for c in master.cells for line in re.sub(
        r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END (SOLUTION|HIDDEN TESTS)", "", c.source,
        flags=re.DOTALL).splitlines()}
    leaked = [line.strip() for region in secret for line in region.splitlines()
              if len(line.strip()) > 15 and line.strip() not in public and line.strip() in released_lines]
    assert not leaked, f"solution or hidden test lines in the student notebook: {leaked[:5]}"
    hidden = make_hidden_reference.build_cases(reference)
    values = {f"{v:.10g}" for cases in hidden.values() for case in cases for value in case.values()
              for array in (value if isinstance(value, list) else [value]) if isinstance(array, np.ndarray)
              for v in np.ravel(array).astype(float) if abs(v) > 1e-6 and not float(v).is_integer()}
    public_text = "\n".join(public)
    found = [v for v in values if len(v) >= 8 and v in released_text and v not in public_text]
    assert not found, f"hidden reference values appear in released files: {found[:5]}"


def test_stubs_keep_signature_and_return_outside_the_student_region():
    master = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(course.MASTER, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    student = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(
        course.REPO / "assignment.ipynb", as_version=4).cells if "grade_id" in c.metadata.get("nbgrader", {})}
    for grade_id, cell in master.items():
        for line in cell.source.splitlines():
            if line.lstrip().startswith(("def ", "return ")) and "### BEGIN SOLUTION" not in cell.source.split(line)[0]:
                assert line in student[grade_id].source, f"{grade_id}: {line.strip()!r} missing from the student stub"


def test_every_stub_docstring_states_shapes_and_dtypes(reference):
    master_source = "\n".join(c.source for c in nbformat.read(course.MASTER, as_version=4).cells
                              if c.metadata.get("nbgrader", {}).get("solution"))
    for name in re.findall(r"^def (\w+)\(", master_source, flags=re.MULTILINE):
        doc = getattr(reference, name).__doc__ or ""
        assert re.search(r"\((n|N|T|d_|1, d)|shape", doc) and re.search(r"float|int", doc), \
            f"{name}'s docstring should state argument and return shapes and dtypes:\n{doc}"


def test_grade_cells_have_unique_ids_and_points():
    cells = [c for c in nbformat.read(course.MASTER, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("grade") or c.metadata.get("nbgrader", {}).get("task")]
    ids = [c.metadata.nbgrader.grade_id for c in cells]
    assert len(ids) == len(set(ids)), f"duplicate grade ids: {ids}"
    points = sum(c.metadata.nbgrader.points for c in cells)
    automatic = sum(c.metadata.nbgrader.points for c in cells if c.cell_type == "code")
    assert (points, automatic) == (60, 39), f"expected 60 points, 39 autograded; got {points}, {automatic}"


def test_public_test_batch_gives_the_known_answers(reference):
    import hw2
    X, y, Ws, bs = hw2.load_test_batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g, caches = reference.forward_pass(X, Ws, bs, [reference.relu_activation, reference.sigmoid_activation])
        loss, dL_dg = reference.logistic_loss(g, y)
        grad_Ws, grad_bs = reference.backward_pass(dL_dg, caches)
        extreme, extreme_grad = reference.sigmoid_activation(np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(g.ravel(), [0.497320132, 0.4973246354], rtol=1e-9)
    np.testing.assert_allclose(loss.mean(), 0.6985168038536878, rtol=1e-12)
    np.testing.assert_allclose(grad_Ws[0], [[4.1150772072e-04, 3.3432153092e-05], [-6.5611785023e-05, 2.0714109340e-05],
                                            [-1.2376398524e-03, 8.0169896520e-05], [2.2606967780e-04, -1.4130682117e-06]],
                               rtol=1e-8)
    np.testing.assert_allclose(grad_Ws[1], [[-0.0012002103], [-0.0080164097]], rtol=1e-7)
    np.testing.assert_allclose(grad_bs[0], [[-0.0011345373, 0.0001080057]], rtol=1e-7)
    np.testing.assert_allclose(grad_bs[1], [[-0.5026776163]], rtol=1e-9)
    np.testing.assert_allclose(extreme, [1e-15, 1 - 1e-15], rtol=0, atol=0)
    np.testing.assert_allclose(extreme_grad, [1e-15, 9.992e-16], rtol=1e-3)


def test_hidden_backward_references_match_finite_differences(reference):
    """An independent oracle: central differences of the mean loss, parameter by parameter."""
    functions = {"relu": reference.relu_activation, "sigmoid": reference.sigmoid_activation}
    for case in make_hidden_reference.build_cases(reference)["backward_pass"]:
        if case["X"].dtype != np.float64:
            continue
        activations = [functions[a] for a in case["activations"]]

        def mean_loss(Ws, bs):
            return reference.logistic_loss(reference.forward_pass(case["X"], Ws, bs, activations)[0], case["y"])[0].mean()

        params = case["weights"] + case["biases"]
        for i, (param, expected) in enumerate(zip(params, case["grad_Ws"] + case["grad_bs"])):
            numeric = np.zeros_like(param)
            for k in range(param.size):
                for sign in (1, -1):
                    shifted = [p.copy() for p in params]
                    shifted[i].flat[k] += sign * 1e-6
                    L = len(case["weights"])
                    numeric.flat[k] += sign * mean_loss(shifted[:L], shifted[L:]) / 2e-6
            np.testing.assert_allclose(numeric, expected, rtol=1e-5, atol=1e-8,
                                       err_msg=f"{case['label']}: parameter {i} disagrees with finite differences")


def test_environment_files_agree():
    requirements = {re.split(r"[<>=!~ ]", line, maxsplit=1)[0].lower(): line.replace(" ", "")
                    for line in (course.REPO / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")}
    conda = {re.split(r"[<>=!~ ]", dep, maxsplit=1)[0].lower(): dep.replace(" ", "")
             for dep in yaml.safe_load((course.REPO / "environment.yml").read_text())["dependencies"]
             if isinstance(dep, str) and not dep.startswith(("python", "pip"))}
    assert conda == requirements, f"environment.yml {conda} and requirements.txt {requirements} disagree"


def test_master_runs_clean_under_nbgrader_validate(tmp_path):
    """nbgrader's Validate passes on the completed notebook (the executed master)."""
    shutil.copyfile(build.EXECUTED_SOLUTION, tmp_path / "assignment.ipynb")
    for name in course.STUDENT_FILES + ["autograder/hidden_reference.pkl"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course.REPO / name, tmp_path / name.split("/")[-1] if name.startswith("autograder") else
                        tmp_path / name)
    run = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "assignment.ipynb"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert "Success! Your notebook passes all the tests." in run.stdout, run.stdout + run.stderr
