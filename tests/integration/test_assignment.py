"""The assignment as a whole: nbgrader grades it as intended, generated files match the master,
nothing secret reaches students, and the reference answers are right.

Fixtures (reference, master_notebook, student_notebook, hidden_cases, released_course,
graded_course) are in conftest.py.
"""
import ast
import difflib
import pickle
import re
import warnings

import nbformat
import numpy as np
import pytest

from autograder.assignment import cases as make_hidden_reference
from autograder.assignment import master, release
from autograder.build import generate as build
from hw2_checks import TEST_ACTIVATIONS

# the tests of the graded course on the worker that builds it (./kit test: pytest --dist loadgroup)
COURSE_WORKER = pytest.mark.xdist_group("graded_course")
BUILD_STUDENT = "python -m autograder.build.generate student"
BUILD_HIDDEN = "python -m autograder.build.generate hidden"
BUILD_SOLUTION = "python -m autograder.build.generate solution"
FLOAT_LITERAL = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


# --- helpers ------------------------------------------------------------------------------------

def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_cells(notebook):
    """The cells nbgrader records a grade for: graded code/markdown cells and tasks."""
    return [c for c in notebook.cells if nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("task")]


def autograded_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")]


def strip_magics(source):
    """The cell's source with IPython magic lines (% and %%) blanked, line numbers kept."""
    return "\n".join("" if line.lstrip().startswith("%") else line for line in source.splitlines())


def split_regions(cell):
    """(solution lines, hidden test lines, other lines) of a master cell, all stripped.

    A solution cell without ``### BEGIN SOLUTION`` markers (a written answer) is solution as a whole.
    """
    solution, hidden, public = [], [], []
    lines = cell.source.splitlines()
    if nbgrader_meta(cell).get("solution") and "### BEGIN SOLUTION" not in cell.source:
        return [line.strip() for line in lines], [], []
    target = public
    for line in lines:
        marker = line.strip()
        if marker == "### BEGIN SOLUTION":
            target = solution
        elif marker == "### BEGIN HIDDEN TESTS":
            target = hidden
        elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
            target = public
        else:
            target.append(marker)
    return solution, hidden, public


def master_regions(master):
    solution, hidden, public = [], [], set()
    for cell in master.cells:
        s, h, p = split_regions(cell)
        solution += s
        hidden += h
        public.update(p)
    return solution, hidden, public


def secret_lines(lines, public):
    """Lines long enough to be telling (> 15 characters) that do not also appear in public parts."""
    return sorted({line for line in lines if len(line) > 15 and line not in public})


def notebook_lines(notebook):
    return {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}


def stub_functions(cell):
    """Top-level functions of a master solution cell whose ``def`` line is outside the solution region.

    Returns [(node, cell source lines)]: these are the stubs students see (signature, docstring,
    ``# YOUR CODE HERE``, return line).
    """
    lines = strip_magics(cell.source).splitlines()
    inside = set()
    region = False
    for number, line in enumerate(lines, start=1):
        if line.strip() == "### BEGIN SOLUTION":
            region = True
        elif line.strip() == "### END SOLUTION":
            region = False
        elif region:
            inside.add(number)
    tree = ast.parse("\n".join(lines))
    return [(node, lines) for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.lineno not in inside]


def def_header(node, lines):
    """The ``def name(...):`` line(s) of a function, as written."""
    return "\n".join(lines[node.lineno - 1:node.body[0].lineno - 1]).rstrip()


def function_in(source, name):
    tree = ast.parse(strip_magics(source))
    return next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def float_arrays(value):
    """Every float ndarray inside a (nested) list, tuple or dict."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from float_arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from float_arrays(item)


def significant_digits(text):
    mantissa = re.split(r"[eE]", text)[0].lstrip("-").replace(".", "").lstrip("0")
    return len(mantissa)


def first_difference(expected_text, got_text, limit=30):
    diff = difflib.unified_diff(expected_text.splitlines(), got_text.splitlines(), "committed", "regenerated",
                                lineterm="", n=1)
    return "\n".join(list(diff)[:limit])


# --- nbgrader grades the assignment as intended -------------------------------------------------

def scores_of(graded_course, student):
    result = graded_course.results[student]
    assert result["success"], (f"nbgrader autograde of the {student!r} submission should succeed but failed:\n"
                               f"{result['error']}\n{result['log']}")
    grades = graded_course.grades[student]
    assert grades, f"the gradebook should hold a submission of {student!r}, found none"
    return grades


def cell_errors(graded_course, student, grade_ids):
    """What the autograded notebook of ``student`` shows for ``grade_ids``: errors and stderr."""
    path = graded_course.root / "autograded" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.ipynb"
    if not path.exists():
        return f"(no autograded notebook at {path})"
    shown = []
    for cell in nbformat.read(path, as_version=4).cells:
        if nbgrader_meta(cell).get("grade_id") not in grade_ids:
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                shown.append(f"{nbgrader_meta(cell)['grade_id']}: {output.ename}: {output.evalue}"[:800])
            elif output.output_type == "stream" and output.name == "stderr":
                shown.append(f"{nbgrader_meta(cell)['grade_id']}: stderr: {output.text}"[:800])
    return "\n".join(shown) or "(no error or stderr output in those cells)"


@COURSE_WORKER
def test_master_earns_every_autograded_point(graded_course, master_notebook):
    grades = scores_of(graded_course, "master")
    expected = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in autograded_cells(master_notebook)}
    missing = sorted(set(expected) - set(grades))
    assert not missing, f"autograded cells of the master missing from the gradebook: {missing}"
    lost = {gid: f"{grades[gid]['score']} of {grades[gid]['max_score']} (master says {points})"
            for gid, points in expected.items()
            if grades[gid]["score"] != grades[gid]["max_score"] or grades[gid]["max_score"] != points}
    assert not lost, (f"the master, autograded as a submission, should earn every autograded point; "
                      f"cells that came back short: {lost}\nwhat those cells printed:\n"
                      f"{cell_errors(graded_course, 'master', lost)}")
    total = sum(grades[gid]["score"] for gid in expected)
    model = master.read()
    assert (len(expected), total) == (len(model.auto), model.auto_points), (
        f"the master model (autograder/assignment/master.py) says {len(model.auto)} autograded cells worth {model.auto_points} "
        f"points; the gradebook has {len(expected)} cells and {total} points")


@COURSE_WORKER
def test_gradebook_holds_every_grade_cell_of_the_master(graded_course, master_notebook):
    grades = scores_of(graded_course, "master")
    expected = {nbgrader_meta(c)["grade_id"]: c for c in grade_cells(master_notebook)}
    assert set(grades) == set(expected), (
        f"the gradebook should hold exactly the master's grade cells; missing {sorted(set(expected) - set(grades))}, "
        f"unexpected {sorted(set(grades) - set(expected))}")
    automatic = [gid for gid, c in expected.items() if c.cell_type == "code" and nbgrader_meta(c).get("grade")]
    manual = [gid for gid in expected if gid not in automatic]
    assert automatic == [p.grade_id for p in master.read().auto], (
        f"the master model's autograded cells {[p.grade_id for p in master.read().auto]} differ from its test cells {automatic}")
    assert manual, "expected manually graded answers and tasks besides the autograded cells, found none"
    wrong_max = {gid: (grades[gid]["max_score"], nbgrader_meta(c)["points"]) for gid, c in expected.items()
                 if grades[gid]["max_score"] != nbgrader_meta(c)["points"]}
    assert not wrong_max, f"max_score in the gradebook differs from the master's points (got, expected): {wrong_max}"
    not_waiting = [gid for gid in manual if not grades[gid]["needs_manual_grade"]]
    assert not not_waiting, (f"the master's written answers and tasks should wait for a manual grade; "
                             f"these do not: {not_waiting}")
    autoscored = [gid for gid in automatic if grades[gid]["needs_manual_grade"] or grades[gid]["auto_score"] is None]
    assert not autoscored, f"autograded cells should be scored automatically; these were not: {autoscored}"


@COURSE_WORKER
def test_unmodified_student_notebook_is_graded_and_earns_nothing(graded_course, master_notebook):
    grades = scores_of(graded_course, "blank")  # asserts that autograde succeeded
    automatic = [nbgrader_meta(c)["grade_id"] for c in autograded_cells(master_notebook)]
    missing = [gid for gid in automatic if gid not in grades]
    assert not missing, f"autograded cells missing from the blank submission's grades: {missing}"
    earned = {gid: grades[gid]["score"] for gid in automatic if grades[gid]["score"] != 0}
    assert not earned, (f"the unmodified student notebook should earn 0 autograded points, got {earned}: "
                        f"these test cells pass without any student code")
    total = sum(grades[gid]["score"] for gid in automatic)
    assert total == 0, f"expected 0 autograded points for the unmodified notebook, got {total}"


# --- the public test batch gives the known answers (REFERENCE.md section 2) ---------------------

def test_public_test_batch_gives_the_known_answers(reference):
    import hw2

    X, y, Ws, bs = hw2.load_test_batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g, caches = reference.forward_pass(X, Ws, bs, [reference.relu_activation, reference.sigmoid_activation])
        loss, dL_dg = reference.logistic_loss(g, y)
        grad_Ws, grad_bs = reference.backward_pass(dL_dg, caches)
        out, grad = reference.sigmoid_activation(np.array([1.0, 0.0, -1.0]))
        out_int, grad_int = reference.sigmoid_activation(np.array([1, 0, -1]))
        extreme, extreme_grad = reference.sigmoid_activation(np.array([-1000.0, 1000.0]))

    assert g.shape == (2, 1), f"g should have shape (2, 1), got {g.shape}"
    assert loss.shape == (2,), f"the per-example loss should have shape (2,), got {loss.shape}"
    np.testing.assert_allclose(g, [[0.497320132], [0.4973246354]], rtol=1e-9, err_msg="output g of the test batch")
    np.testing.assert_allclose(loss.mean(), 0.6985168038536878, rtol=1e-12, atol=0,
                               err_msg="mean loss of the test batch")
    expected_Ws = [[[4.1150772072e-04, 3.3432153092e-05], [-6.5611785023e-05, 2.0714109340e-05],
                    [-1.2376398524e-03, 8.0169896520e-05], [2.2606967780e-04, -1.4130682117e-06]],
                   [[-0.0012002103], [-0.0080164097]]]
    expected_bs = [[[-0.0011345373, 0.0001080057]], [[-0.5026776163]]]
    for layer, (got, expected) in enumerate(zip(grad_Ws, expected_Ws)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, err_msg=f"grad_Ws[{layer}] of the test batch")
    for layer, (got, expected) in enumerate(zip(grad_bs, expected_bs)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, err_msg=f"grad_bs[{layer}] of the test batch")
    assert (len(grad_Ws), len(grad_bs)) == (2, 2), f"expected 2 layers of gradients, got {len(grad_Ws)}, {len(grad_bs)}"

    for label, (o, d) in {"float": (out, grad), "int": (out_int, grad_int)}.items():
        np.testing.assert_allclose(o, [0.7310585786, 0.5, 0.2689414214], rtol=1e-9,
                                   err_msg=f"sigmoid of {label} [1, 0, -1]")
        np.testing.assert_allclose(d, [0.1966119332, 0.25, 0.1966119332], rtol=1e-9,
                                   err_msg=f"sigmoid derivative at {label} [1, 0, -1]")
    np.testing.assert_allclose(extreme, [1e-15, 1 - 1e-15], rtol=1e-12, atol=0, err_msg="sigmoid of [-1000, 1000]")
    np.testing.assert_allclose(extreme_grad, [1e-15, 9.992e-16], rtol=1e-3, atol=0,
                               err_msg="sigmoid derivative at [-1000, 1000]")


# --- generated files match their source ---------------------------------------------------------

def test_student_notebook_regenerates_identically(tmp_path):
    regenerated = build.build_student_notebook(tmp_path / "a.ipynb")
    committed_bytes = build.STUDENT_NOTEBOOK.read_bytes()
    regenerated_bytes = regenerated.read_bytes()
    assert regenerated_bytes == committed_bytes, (
        f"assignment.ipynb differs from what solutions/master.ipynb generates: run `{BUILD_STUDENT}`\n"
        + first_difference(committed_bytes.decode(errors="replace"), regenerated_bytes.decode(errors="replace")))


# How far a regenerated value may be from the committed one, relative to the largest magnitude in its array,
# by the precision of its case (the least precise float dtype among the case's arrays: a float64 dL_dg computed
# from a float32 output is float32-precise). Another BLAS kernel (OPENBLAS_CORETYPE) or another of numpy's SIMD
# loops sums and rounds in another order: each value moves by a few units of the last bit of the terms it is
# made of, which are up to the array's largest entry, not of the value itself (a sum that nearly cancels, an
# activation's derivative near saturation lose all their relative precision). Measured across the Haswell,
# SandyBridge, Prescott and SkylakeX kernels and numpy without AVX-512 or AVX2: at most 5e-15 (float64 cases)
# and 6e-7 (float32 cases) of the array's largest magnitude, far below these bounds and far below what a change
# of the master's reference moves, and below the grader's own tolerances (autograder/assignment/cases.py).
DRIFT = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def _float_arrays(value):
    if isinstance(value, np.ndarray):
        return [value] if value.dtype.kind == "f" else []
    if isinstance(value, dict):
        value = list(value.values())
    return [array for item in value for array in _float_arrays(item)] if isinstance(value, (list, tuple)) else []


def _differences(old, new, drift, path):
    """Where two cases differ: structure, dtypes, shapes and non-float values exactly; float values by more
    than ``drift`` (float) of their array's largest magnitude."""
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if (old.dtype, old.shape) != (new.dtype, new.shape):
            return [f"{path}: {old.dtype} {old.shape} -> {new.dtype} {new.shape}"]
        if old.dtype.kind != "f":
            return [] if np.array_equal(old, new) else [f"{path}: values differ"]
        if old.size == 0:
            return []
        moved = np.max(np.abs(new.astype(np.float64) - old)) / max(np.max(np.abs(old.astype(np.float64))), 1e-300)
        return [] if moved <= drift else [f"{path}: values moved by {moved:.1e} of the largest (allowed {drift:g})"]
    if type(old) is not type(new):
        return [f"{path}: {type(old).__name__} -> {type(new).__name__}"]
    if isinstance(old, dict):
        if old.keys() != new.keys():
            return [f"{path}: keys {sorted(old)} -> {sorted(new)}"]
        return [d for key in old for d in _differences(old[key], new[key], drift, f"{path}[{key!r}]")]
    if isinstance(old, (list, tuple)):
        if len(old) != len(new):
            return [f"{path}: {len(old)} -> {len(new)} items"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _differences(a, b, drift, f"{path}[{i}]")]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def _case_differences(old, new):
    """Where two files of cases ({function: [case, ...]}) differ, each case within the drift of its precision."""
    if old.keys() != new.keys():
        return [f"functions {sorted(old)} -> {sorted(new)}"]
    differences = []
    for function in old:
        if len(old[function]) != len(new[function]):
            differences.append(f"{function}: {len(old[function])} -> {len(new[function])} cases")
            continue
        for number, (before, after) in enumerate(zip(old[function], new[function])):
            drift = max((DRIFT[array.dtype] for array in _float_arrays(before)), default=0.0)
            differences += _differences(before, after, drift, f"{function}[{number}]")
    return differences


@pytest.mark.parametrize("committed", [make_hidden_reference.HIDDEN_REFERENCE, make_hidden_reference.PUBLIC_CASES],
                         ids=["hidden", "public"])
def test_cases_regenerate_identically(tmp_path, committed):
    """The hidden and the public cases are what the master's reference computes now (to the last bits that
    differ between machines: DRIFT)."""
    out = {"hidden": tmp_path / "hidden_reference.pkl", "public": tmp_path / "public_cases.pkl"}
    make_hidden_reference.main(["--out", str(out["hidden"]), "--public-out", str(out["public"])])
    regenerated = out["hidden" if committed == make_hidden_reference.HIDDEN_REFERENCE else "public"]
    differences = _case_differences(pickle.loads(committed.read_bytes()), pickle.loads(regenerated.read_bytes()))
    assert not differences, (f"{committed.relative_to(release.REPO)} differs from what the master computes "
                             f"({differences[:5]}): run `{BUILD_HIDDEN}`")


# --- nothing secret reaches students ------------------------------------------------------------

def released_files(release):
    return sorted(str(p.relative_to(release)) for p in release.rglob("*") if p.is_file())


def test_release_holds_only_student_files(released_course):
    expected = sorted(["assignment.ipynb", *release.STUDENT_FILES])
    got = released_files(released_course.release)
    assert got == expected, (f"the release should hold exactly {expected}; got {got} "
                             f"(extra: {sorted(set(got) - set(expected))}, missing: {sorted(set(expected) - set(got))})")


@pytest.fixture(params=["committed", "released"])
def student_copy(request, released_course):
    """The student notebook as committed, and as generate_release just made it: (raw text, notebook)."""
    folder = release.REPO if request.param == "committed" else released_course.release
    path = folder / "assignment.ipynb"
    return path.read_text(), nbformat.read(path, as_version=4)


def test_student_notebook_has_no_solution_markers_or_hidden_calls(student_copy):
    text, _ = student_copy
    found = [marker for marker in ["BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "load_hidden_cases("]
             if marker in text]
    assert not found, f"the student notebook should contain none of these markers, found {found}"


def test_student_notebook_has_no_solution_line(student_copy, master_notebook):
    _, notebook = student_copy
    solution, _, public = master_regions(master_notebook)
    secret = secret_lines(solution, public)
    assert len(secret) > 50, f"expected many solution lines in the master, found only {len(secret)}"
    released = notebook_lines(notebook)
    leaked = [line for line in secret if line in released]
    assert not leaked, f"no line of a solution region should reach the student notebook; found {leaked[:10]}"


def test_no_hidden_test_line_is_released(student_copy, master_notebook):
    _, notebook = student_copy
    _, hidden, public = master_regions(master_notebook)
    secret = secret_lines(hidden, public)
    assert len(secret) > 30, f"expected many hidden test lines in the master, found only {len(secret)}"
    released = {"the student notebook": notebook_lines(notebook)}
    for name in ["hw2.py", "hw2_checks.py"]:
        released[name] = {line.strip() for line in (release.REPO / name).read_text().splitlines()}
    leaked = {where: [line for line in secret if line in lines][:10] for where, lines in released.items()}
    leaked = {where: lines for where, lines in leaked.items() if lines}
    assert not leaked, f"hidden test lines should not be released; found {leaked}"


def test_no_hidden_reference_value_is_released(released_course, hidden_cases, master_notebook):
    """No float of the hidden reference, written to 10 significant digits, appears in a released file.

    A value counts as found when its 10-digit form occurs in a file's text, or when a number written
    in the file rounds to it at 10 digits (the 10-digit form of 0.005590266359564686 is 0.00559026636,
    which is not a substring of its repr). Values with fewer than 6 significant digits (0.5, 0.25,
    1e-15, ...) are too common to tell anything, and values the master states in its public parts
    (sigmoid(1), for instance, which a hidden case on integer inputs also contains) are public by
    design; both are left out.
    """
    _, _, public = master_regions(master_notebook)
    public_text = "\n".join(public)
    values = {}
    for name, cases in hidden_cases.items():
        for number, case in enumerate(cases):
            for array in float_arrays(case):
                for v in np.ravel(array).astype(float).tolist():
                    if abs(v) > 1e-6 and not v.is_integer():
                        values.setdefault(f"{v:.10g}", f"{name}[{number}] ({case.get('label', '')})")
    assert len(values) > 1000, f"expected many float values in the hidden reference, found {len(values)}"
    telling = {text: where for text, where in values.items()
               if significant_digits(text) >= 6 and text not in public_text}
    lengths = sorted({len(text) for text in telling})
    leaked = []
    for name in released_files(released_course.release):
        body = (released_course.release / name).read_bytes().decode("utf-8", errors="replace")
        # A formatted value consists of digits, '.', 'e', '+' and '-' only, so each occurrence lies
        # inside a run of those characters: search the runs' substrings instead of the whole text.
        for run in re.findall(r"[0-9.eE+-]{%d,}" % lengths[0], body):
            for length in lengths:
                for start in range(len(run) - length + 1):
                    text = run[start:start + length]
                    if text in telling:
                        leaked.append((text, telling[text], name))
            for number in FLOAT_LITERAL.findall(run):
                text = f"{float(number):.10g}"
                if text in telling and (text, telling[text], name) not in leaked:
                    leaked.append((text, telling[text], name))
    assert not leaked, f"hidden reference values found in released files (value, hidden case, file): {leaked[:10]}"


# --- the master notebook is well formed ---------------------------------------------------------

def test_every_master_code_cell_is_valid_python(master_notebook):
    errors = []
    for cell in master_notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(strip_magics(cell.source))
        except SyntaxError as error:
            errors.append(f"{nbgrader_meta(cell).get('grade_id', '?')}: line {error.lineno}: {error.msg}")
    assert not errors, f"every code cell of the master should parse as Python (magics stripped): {errors}"


def test_grade_cells_have_unique_ids_and_points(master_notebook):
    ids = [nbgrader_meta(c)["grade_id"] for c in master_notebook.cells if "grade_id" in nbgrader_meta(c)]
    duplicates = sorted({gid for gid in ids if ids.count(gid) > 1})
    assert not duplicates, f"every grade_id should be unique; duplicated: {duplicates}"
    cells = grade_cells(master_notebook)
    without_id = [c.source[:60] for c in cells if not nbgrader_meta(c).get("grade_id")]
    assert not without_id, f"every grade cell should have a grade_id; these have none: {without_id}"
    bad_points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c).get("points") for c in cells
                  if not isinstance(nbgrader_meta(c).get("points"), (int, float)) or nbgrader_meta(c)["points"] <= 0}
    assert not bad_points, f"every grade cell should have positive points; got {bad_points}"
    model = master.read()
    assert model.points == {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in cells}, (
        f"the master model (autograder/assignment/master.py) reads other points than the cells' metadata: {model.points}")
    assert not model.points_problems(), f"prose and points disagree: {model.points_problems()}"


def test_stubs_keep_their_def_and_return_lines(master_notebook, student_notebook):
    student = {nbgrader_meta(c)["grade_id"]: c for c in student_notebook.cells if "grade_id" in nbgrader_meta(c)}
    checked, problems = [], []
    for cell in master_notebook.cells:
        if cell.cell_type != "code" or not nbgrader_meta(cell).get("solution"):
            continue
        grade_id = nbgrader_meta(cell)["grade_id"]
        stub_cell = student.get(grade_id)
        if stub_cell is None:
            problems.append(f"{grade_id}: cell missing from the student notebook")
            continue
        for node, lines in stub_functions(cell):
            checked.append(node.name)
            header = def_header(node, lines)
            if header not in stub_cell.source:
                problems.append(f"{grade_id}: expected the line {header!r} in the student cell")
            last = node.body[-1]
            if not isinstance(last, ast.Return):
                problems.append(f"{grade_id}: {node.name} in the master should end with a return statement")
                continue
            return_line = "\n".join(lines[last.lineno - 1:last.end_lineno])
            if return_line not in stub_cell.source:
                problems.append(f"{grade_id}: expected the line {return_line.strip()!r} in the student cell")
            stub = function_in(stub_cell.source, node.name)
            if stub is None:
                problems.append(f"{grade_id}: the student cell does not define {node.name}")
            elif not isinstance(stub.body[-1], ast.Return) or ast.dump(stub.body[-1]) != ast.dump(last):
                problems.append(f"{grade_id}: {node.name} in the student cell should still end with "
                                f"{ast.unparse(last)!r}, ends with {ast.unparse(stub.body[-1])!r}")
            elif "NotImplementedError" not in ast.unparse(stub):
                problems.append(f"{grade_id}: {node.name} in the student cell should raise NotImplementedError")
    assert len(checked) >= 10, f"expected at least 10 stub functions in the master, found {checked}"
    assert not problems, "stubs should keep their def and return lines outside the student region:\n" + \
        "\n".join(problems)


def test_every_stub_docstring_states_a_shape_and_a_dtype(master_notebook):
    problems, checked = [], []
    for cell in master_notebook.cells:
        if cell.cell_type != "code" or not nbgrader_meta(cell).get("solution"):
            continue
        for node, _ in stub_functions(cell):
            checked.append(node.name)
            doc = ast.get_docstring(node) or ""
            has_shape = any(word in doc.lower() for word in ["(n", "shape", "(d_"])
            has_dtype = any(word in doc for word in ["float", "int"])
            if not (has_shape and has_dtype):
                problems.append(f"{node.name}: shape mentioned {has_shape}, dtype mentioned {has_dtype}; "
                                f"docstring {doc!r}")
    assert len(checked) >= 10, f"expected at least 10 stub functions in the master, found {checked}"
    assert not problems, ("every stub's docstring should mention a shape ('(n', 'shape' or '(d_') and a dtype "
                          "('float' or 'int'):\n" + "\n".join(problems))


# --- the executed solution ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def executed_solution():
    return nbformat.read(build.EXECUTED_SOLUTION, as_version=4)


def test_executed_solution_was_built_from_the_current_master(executed_solution, master_notebook):
    executed = [c.source for c in executed_solution.cells if c.cell_type == "code"]
    master = [c.source for c in master_notebook.cells if c.cell_type == "code"]
    assert len(executed) == len(master), (f"generated/solution_executed.ipynb has {len(executed)} code cells, the "
                                          f"master {len(master)}: run `{BUILD_SOLUTION}`")
    differing = [i for i, (a, b) in enumerate(zip(executed, master)) if a != b]
    assert not differing, (f"code cells {differing} of generated/solution_executed.ipynb differ from the master: "
                           f"run `{BUILD_SOLUTION}`")


def test_executed_solution_has_no_errors(executed_solution):
    errors = [(nbgrader_meta(c).get("grade_id"), f"{o.get('ename')}: {o.get('evalue')}")
              for c in executed_solution.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"the executed solution should have no error outputs, found {errors}"


def test_executed_solution_has_its_plots(executed_solution):
    images = [nbgrader_meta(c).get("grade_id") for c in executed_solution.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 5, f"expected at least 5 PNG images in the executed solution, found {len(images)}: {images}"


# --- the hidden reference agrees with an independent check --------------------------------------

def _float64_gradient_cases():
    cases = pickle.loads(make_hidden_reference.HIDDEN_REFERENCE.read_bytes())
    return [pytest.param(kind, number, id=f"{kind}[{number}]")
            for kind in ["backward_pass", "my_nn_finite_difference_checker"]
            for number, case in enumerate(cases[kind]) if case["X"].dtype == np.float64]


FD_EPS = 1e-6


@pytest.mark.parametrize("kind, number", _float64_gradient_cases())
def test_hidden_gradients_match_central_differences(kind, number, hidden_cases, reference):
    """Central differences of the reference mean loss, entry by entry, against the stored gradients.

    Tolerance: 1e-5 relative with an absolute floor of 1e-9 (the differences' rounding error is about
    1e-10 at eps = 1e-6, and some entries are exactly 0, e.g. behind an inactive ReLU).
    """
    case = hidden_cases[kind][number]
    activations = [TEST_ACTIVATIONS[name] for name in case["activations"]]
    weights = [np.array(W, dtype=np.float64) for W in case["weights"]]
    biases = [np.array(b, dtype=np.float64) for b in case["biases"]]

    def mean_loss():
        g, _ = reference.forward_pass(case["X"], weights, biases, activations)
        return reference.logistic_loss(g, case["y"])[0].mean()

    names = [f"grad_Ws[{i}]" for i in range(len(weights))] + [f"grad_bs[{i}]" for i in range(len(biases))]
    for name, param, expected in zip(names, weights + biases, case["grad_Ws"] + case["grad_bs"]):
        assert expected.shape == param.shape, \
            f"{case['label']}: {name} has shape {expected.shape}, expected {param.shape}"
        numeric = np.empty(param.shape)
        for k in range(param.size):  # in place on a float64 copy of the parameter, restored after
            original = param.flat[k]
            param.flat[k] = original + FD_EPS
            up = mean_loss()
            param.flat[k] = original - FD_EPS
            down = mean_loss()
            param.flat[k] = original
            numeric.flat[k] = (up - down) / (2 * FD_EPS)
        np.testing.assert_allclose(expected, numeric, rtol=1e-5, atol=1e-9,
                                   err_msg=f"{kind} hidden case {case['label']!r}: {name} (ACTUAL, the stored "
                                           f"reference) against central differences (DESIRED)")
