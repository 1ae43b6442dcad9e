"""The copying report (autograder/outputs/similarity.py): the bundled examples plus a pair made to share one
function with its variables renamed, and an honest student who wrote the same function otherwise."""
import re
import shutil

import nbformat

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
    pairs = {(p.first, p.second): p for p in similarity.write_similarity(
        similarity.collect.find_submissions(folder, tmp_path / "unpacked"), tmp_path / "out")}
    assert ("pat", "sam") in pairs and pairs["pat", "sam"].score > 0.9, pairs.keys()
    assert pairs["pat", "sam"].cells[0][0] == "backward_pass"
    assert not [pair for pair in pairs if "kim" in pair or "erin" in pair], f"honest or blank work listed: {pairs.keys()}"
    assert ("alice", "dave") in pairs, "the bundled examples alice and dave are made from one solution"
    page = (tmp_path / "out" / "similarity.html").read_text()
    assert "weight_gradients" in page and "<script" not in page
