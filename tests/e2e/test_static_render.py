"""nbviewer-ready: the executed solution and the feedback files render statically, plots embedded as
PNG, and every figure of the master is labelled (title, axis labels, legend; the misclassified digits
in a grid titled with the true and predicted label)."""
import base64
import json
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from autograder.assignment import release
from autograder.build import generate as build
from autograder.grading import course

PNG = re.compile(r'<img[^>]+src="data:image/png;base64,([^"]+)"')
# Run before the notebook's first cell: records every figure when the notebook calls plt.show().
RECORD_FIGURES = '''
import matplotlib.pyplot
_figures, _show = [], matplotlib.pyplot.show
def _record_and_show(*args, **kwargs):
    for number in matplotlib.pyplot.get_fignums():
        figure = matplotlib.pyplot.figure(number)
        _figures.append({"suptitle": figure._suptitle.get_text() if figure._suptitle else "", "axes": [
            {"title": a.get_title(), "xlabel": a.get_xlabel(), "ylabel": a.get_ylabel(),
             "legend": a.get_legend() is not None, "lines": len(a.lines), "images": len(a.images)}
            for a in figure.axes]})
    return _show(*args, **kwargs)
matplotlib.pyplot.show = _record_and_show
'''


def _pngs(html):
    images = [base64.b64decode(data) for data in PNG.findall(html)]
    broken = [i for i, image in enumerate(images) if image[:8] != b"\x89PNG\r\n\x1a\n" or len(image) < 2000]
    assert not broken, f"embedded images {broken} are not real PNG plots"
    return images


def test_executed_solution_renders_with_its_plots_embedded():
    notebook = nbformat.read(build.EXECUTED_SOLUTION, as_version=4)
    outputs = sum("image/png" in o.get("data", {}) for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    images = _pngs(html)
    assert outputs >= 5 and len(images) == outputs, (
        f"the executed solution has {outputs} PNG outputs (expected at least 5: data, loss, accuracy, "
        f"misclassified grid, step size 10) and its HTML embeds {len(images)}")


@pytest.mark.xdist_group("attack_batch")  # on the worker that builds it (conftest.attack_batch)
@pytest.mark.parametrize("student", ["alice", "bob"])
def test_feedback_embeds_the_students_plots(attack_batch, student):
    html = (attack_batch.out / "feedback" / f"{student}.html").read_text()
    images = _pngs(html)
    assert len(images) >= 5, f"{student}'s feedback embeds {len(images)} PNG plots, expected at least 5"


def test_every_figure_of_the_master_is_labelled(tmp_path):
    source = course.make_source(tmp_path)
    notebook = release.without_hidden_tests(nbformat.read(source / f"{release.NOTEBOOK}.ipynb", as_version=4))
    notebook.cells.insert(0, nbformat.v4.new_code_cell(RECORD_FIGURES))
    notebook.cells.append(nbformat.v4.new_code_cell("import json\nprint(json.dumps(_figures))"))
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(source)}}).execute()
    figures = json.loads(notebook.cells[-1].outputs[0]["text"])
    assert len(figures) >= 5, f"the master draws {len(figures)} figures, expected at least 5"
    problems = []
    for number, figure in enumerate(figures, 1):
        grid = "misclassified" in figure["suptitle"]
        for axes in (a for a in figure["axes"] if a["lines"] or a["images"]):
            if axes["lines"]:
                missing = [k for k in ("title", "xlabel", "ylabel") if not axes[k]]
                missing += [] if axes["legend"] else ["legend"]
                if missing:
                    problems.append(f"figure {number} ({axes['title'] or figure['suptitle']!r}) lacks {missing}")
            elif grid and not re.match(r"true \d, pred \d", axes["title"]):
                problems.append(f"figure {number}: a misclassified digit titled {axes['title']!r}, not 'true d, pred d'")
            elif not axes["title"]:
                problems.append(f"figure {number}: an image without a title")
    assert any("misclassified" in f["suptitle"] for f in figures), "no figure of misclassified digits"
    assert not problems, "unlabelled figures in the master:\n" + "\n".join(problems)
