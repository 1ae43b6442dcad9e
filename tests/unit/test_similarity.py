"""The copying report (autograder/outputs/similarity.py): the bundled examples plus a pair made to share one
function with its variables renamed, and an honest student who wrote the same function otherwise; the
fingerprints kept between runs; notebooks that cannot be fingerprinted."""
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys

import copydetect
import copydetect.utils
import nbformat
import numpy as np

from autograder.assignment import release
from autograder.outputs import similarity

EXAMPLES = release.REPO / "examples" / "submissions"
RENAMED = {"delta": "upstream", "grad_Ws": "weight_gradients", "grad_bs": "bias_gradients", "cache": "layer",
           "ds": "local_grad"}
HONEST = '''def backward_pass(dL_dg, layer_caches):
    n = len(dL_dg)
    upstream = np.asarray(dL_dg).reshape(n, 1) / n
    weights_grads = [None] * len(layer_caches)
    bias_grads = [None] * len(layer_caches)
    for index in range(len(layer_caches) - 1, -1, -1):
        c = layer_caches[index]
        local = upstream * c.activation_grad
        weights_grads[index] = c.inputs.T.dot(local)
        bias_grads[index] = np.sum(local, axis=0).reshape(1, -1)
        upstream = local.dot(c.weights.T)
    return weights_grads, bias_grads
'''


def _with_backward_pass(source):
    """The blank student notebook with ``source`` as its backward_pass cell."""
    notebook = nbformat.read(release.REPO / "assignment.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "backward_pass")
    cell.source = source
    return notebook


def test_a_function_copied_with_renamed_variables_is_found_and_honest_work_is_not(tmp_path):
    folder = tmp_path / "submissions"
    shutil.copytree(EXAMPLES, folder)
    solution = next(c.source for c in nbformat.read(release.MASTER, as_version=4).cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "backward_pass")
    renamed = re.sub(r"\b(" + "|".join(RENAMED) + r")\b", lambda m: RENAMED[m.group(1)], solution)
    assert renamed != solution
    for student, source in [("pat", solution), ("sam", renamed), ("kim", HONEST)]:
        nbformat.write(_with_backward_pass(source), folder / f"{student}.ipynb")
    found, left_out = similarity.write_similarity(
        similarity.collect.find_submissions(folder, tmp_path / "unpacked"), tmp_path / "out")
    pairs = {(p.first, p.second): p for p in found}
    assert left_out == {}
    assert ("pat", "sam") in pairs and pairs["pat", "sam"].score > 0.9, pairs.keys()
    assert pairs["pat", "sam"].cells[0][0] == "backward_pass"
    assert not [pair for pair in pairs if "kim" in pair or "erin" in pair], f"honest or blank work listed: {pairs.keys()}"
    assert ("alice", "dave") in pairs, "the bundled examples alice and dave are made from one solution"
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "weight_gradients" in page and "<script" not in page


def _student_folder(tmp_path, sources):
    """A folder of student notebooks: the blank release with ``sources`` ({student: backward_pass source})."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for student, source in sources.items():
        nbformat.write(_with_backward_pass(source), folder / f"{student}.ipynb")
    return folder


def _counting_fingerprints(monkeypatch):
    """The codes (list of str) similarity.fingerprint is asked for from now on."""
    asked = []
    fingerprint = similarity.fingerprint
    monkeypatch.setattr(similarity, "fingerprint", lambda code: asked.append(code) or fingerprint(code))
    return asked


def _grade(folder, tmp_path):
    """write_similarity on ``folder``; the pairs and the bytes of similarity.json and .html."""
    out = tmp_path / "out"
    pairs, _ = similarity.write_similarity(similarity.collect.find_submissions(folder, tmp_path / "unpacked"), out)
    return pairs, (out / "similarity.json").read_bytes(), (out / "similarity.html").read_bytes()


def _renamed_solution():
    solution = next(c.source for c in nbformat.read(release.MASTER, as_version=4).cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "backward_pass")
    return solution, re.sub(r"\b(" + "|".join(RENAMED) + r")\b", lambda m: RENAMED[m.group(1)], solution)


def test_a_second_run_uses_the_kept_fingerprints_and_writes_the_same_report(tmp_path, monkeypatch):
    solution, renamed = _renamed_solution()
    folder = _student_folder(tmp_path, {"pat": solution, "sam": renamed, "kim": HONEST})
    asked = _counting_fingerprints(monkeypatch)
    first = _grade(folder, tmp_path)
    assert asked and [(p.first, p.second) for p in first[0]] == [("pat", "sam")]
    asked.clear()
    assert _grade(folder, tmp_path) == first and asked == [], "the second run fingerprinted again"


def test_a_changed_notebook_alone_is_fingerprinted_again(tmp_path, monkeypatch):
    solution, renamed = _renamed_solution()
    folder = _student_folder(tmp_path, {"pat": solution, "sam": renamed, "kim": HONEST})
    _grade(folder, tmp_path)
    asked = _counting_fingerprints(monkeypatch)
    changed = HONEST.replace("upstream", "carried")
    nbformat.write(_with_backward_pass(changed), folder / "kim.ipynb")
    pairs, _, _ = _grade(folder, tmp_path)
    assert len(asked) == 1 and changed in asked[0], "only kim's notebook, which changed, is fingerprinted again"
    assert [(p.first, p.second) for p in pairs] == [("pat", "sam")]


def test_a_change_of_the_fingerprinting_makes_every_fingerprint_again(tmp_path, monkeypatch):
    solution, renamed = _renamed_solution()
    folder = _student_folder(tmp_path, {"pat": solution, "sam": renamed})
    first = _grade(folder, tmp_path)
    asked = _counting_fingerprints(monkeypatch)
    monkeypatch.setattr(similarity, "FINGERPRINT_METHOD", similarity.FINGERPRINT_METHOD + " changed")
    assert _grade(folder, tmp_path) == first
    assert any(renamed in code for code in asked) and any(solution in code for code in asked)


def _malformed(tmp_path, name, edit):
    """Write the blank notebook as JSON with ``edit`` (a function of the notebook's dict) applied."""
    notebook = json.loads(nbformat.writes(nbformat.read(release.REPO / "assignment.ipynb", as_version=4)))
    edit(notebook)
    (tmp_path / "submissions" / f"{name}.ipynb").write_text(json.dumps(notebook))


def _solution_cell(notebook):
    solutions = set(similarity.master.read().solutions)
    return next(cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("grade_id") in solutions)


def test_a_notebook_that_cannot_be_fingerprinted_is_left_out_and_the_others_compared(tmp_path):
    solution, renamed = _renamed_solution()
    folder = _student_folder(tmp_path, {"pat": solution, "sam": renamed})
    _malformed(tmp_path, "nbgrader_text", lambda nb: _solution_cell(nb)["metadata"].update(nbgrader="solution"))
    _malformed(tmp_path, "grade_id_list",
               lambda nb: _solution_cell(nb)["metadata"]["nbgrader"].update(grade_id=["backward_pass"]))
    _malformed(tmp_path, "source_number", lambda nb: _solution_cell(nb).update(source=7))
    found = similarity.collect.find_submissions(folder, tmp_path / "unpacked")
    refused = sorted(s.student_id for s in found if s.problem)
    assert refused == ["grade_id_list", "nbgrader_text", "source_number"], "intake makes these error rows"
    # the similarity report stands on its own all the same (a file changed after intake, say)
    out = tmp_path / "out"
    pairs, _ = similarity.write_similarity([dataclasses.replace(s, problem="") for s in found], out)
    report, page = (out / "similarity.json").read_bytes(), (out / "similarity.html").read_bytes()
    assert [(p.first, p.second) for p in pairs] == [("pat", "sam")]
    left_out = json.loads(report)["left_out"]
    assert sorted(left_out) == ["grade_id_list", "nbgrader_text", "source_number"], left_out
    assert "grade_id is a list" in left_out["grade_id_list"] and "not a mapping" in left_out["nbgrader_text"]
    assert all(f"{student}: " in page.decode() for student in left_out)
    assert similarity.read_left_out(tmp_path / "out") == left_out


def test_scores_are_copydetects(monkeypatch):
    """The kit's fingerprints and shares are copydetect's CodeFingerprint and compare_files, with the stable
    hash in place of Python's hash()."""
    solution, renamed = _renamed_solution()
    skeleton = next(c.source for c in nbformat.read(release.REPO / "assignment.ipynb", as_version=4).cells
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "backward_pass")
    monkeypatch.setattr(copydetect.utils, "hashed_kgrams", lambda string, k: similarity._kgram_hashes(string))

    def copydetect_share(first, second, boilerplate):
        prints = [copydetect.CodeFingerprint("solution.py", similarity.NOISE_TOKENS, similarity.WINDOW, boilerplate,
                                             language="python", fp=io.StringIO(code)) for code in (first, second)]
        return float(min(copydetect.compare_files(*prints)[1]))

    boilerplate = np.unique(similarity.fingerprint(skeleton).hashes)
    for first, second in [(solution, renamed), (solution, HONEST), (renamed, HONEST + solution), (skeleton, solution)]:
        for taken_out in ([], boilerplate):
            ours = similarity._share(similarity._select(similarity.fingerprint(first), np.array(taken_out, np.int64)),
                                     similarity._select(similarity.fingerprint(second), np.array(taken_out, np.int64)))
            assert ours == copydetect_share(first, second, list(taken_out))


def test_fingerprints_are_the_same_in_every_process():
    """Python's hash() of a string changes with each process (PYTHONHASHSEED): fingerprints kept from an
    earlier run, and the scores, must not."""
    other_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    program = ("import sys; from autograder.outputs import similarity; "
               "print(similarity.fingerprint(sys.stdin.read()).hashes)")
    run = subprocess.run([sys.executable, "-c", program], input=HONEST, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": other_seed}, cwd=release.REPO)
    assert run.stdout == f"{similarity.fingerprint(HONEST).hashes}\n"
