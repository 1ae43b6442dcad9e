"""nbviewer-ready: the executed solution and the feedback files render statically, plots embedded as
PNG, and every figure of the master is labelled (title, axis labels, legend; the misclassified digits
in a grid titled with the true and predicted label)."""
import base64
import re

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.build import generate as build

PNG = re.compile(r'<img[^>]+src="data:image/png;base64,([^"]+)"')


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


def test_every_figure_of_the_master_is_labelled(master_validated):
    """Every figure the master draws (recorded in its run by nbgrader validate: conftest.master_validated)."""
    figures = master_validated.figures
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
