"""What a submission shows is made inert before a browser sees it (autograder.grading.sanitize and the
SanitizeSubmission preprocessor), and stays readable. The browser test (test_browser.py) shows the
same on formgrader and feedback pages in Chromium; here, the rules one by one."""
import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from autograder.grading import sanitize
from autograder.grading.preprocessors import REVIEW, SanitizeSubmission

SCRIPTS = ['<img src=x onerror="alert(1)">', "<script>alert(2)</script>", '<svg onload="alert(3)">',
           "[link](javascript:alert(4))", '<a href="data:text/html,<script>alert(5)</script>">d</a>',
           '<a href="&#x20;data:text/html,<script>alert(8)</script>">e</a>', '<a href="da&#9;ta:text/html;base64,PHM+">f</a>',
           '<iframe src="javascript:alert(6)"></iframe>', '<p style="background:url(javascript:alert(7))">p</p>',
           '<div id="answer_cache" class="score">clobbers formgrader\'s inputs</div>']


@pytest.mark.parametrize("payload", SCRIPTS)
def test_markdown_with_script_renders_inert(payload):
    safe, had_script = sanitize.markdown_as_safe_html(f"My answer.\n\n{payload}")
    rendered = markdown2html_mistune(safe)  # what formgrader and feedback do with a markdown cell
    assert not sanitize.has_script(rendered), f"{payload!r} renders to active content: {rendered}"
    assert "id=" not in rendered and "class=\"score\"" not in rendered, rendered
    assert "My answer." in rendered
    assert had_script or "clobbers" in payload


@pytest.mark.parametrize("source", ["![beacon](https://attacker.example/b.png)",
                                    '<img src="http://attacker.example/x.gif">'])
def test_images_are_never_fetched_from_elsewhere(source):
    safe, _ = sanitize.markdown_as_safe_html(source)
    assert "attacker.example" not in safe, f"{source!r} would make the grader's browser fetch a URL: {safe}"


def test_markdown_stays_readable_with_its_formulas_code_and_tables():
    source = ("**Bold** and a formula $a < b$, $$\\frac{1}{1 + e^{-s}} < 1$$\n\n"
              "```\nx = 1\n\n\ny = 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![plot](attachment:p.png)")
    safe, had_script = sanitize.markdown_as_safe_html(source, {"p.png": {"image/png": "iVBORw0KGgo="}})
    rendered = markdown2html_mistune(safe)
    assert not had_script and rendered.strip() == safe, "the cleaned answer should pass through markdown unchanged"
    for kept in ["<strong>Bold</strong>", "$a &lt; b$", "\\frac{1}{1 + e^{-s}} &lt; 1", "<table>",
                 "x = 1&#10;&#10;&#10;y = 2", 'src="data:image/png;base64,iVBORw0KGgo="']:
        assert kept in rendered, f"{kept!r} should survive sanitizing: {rendered}"


def test_outputs_keep_what_is_safe_and_lose_what_runs():
    outputs = [
        new_output("display_data", data={"text/html": SCRIPTS[0] + "<table><tr><td>1</td></tr></table>",
                                          "text/plain": "table"}),
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "<JS>"}),
        new_output("display_data", data={"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
                                                          '<script>alert(2)</script><rect width="1"/></svg>'}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                   metadata={"image/png": {"width": "1 onerror=alert(1)", "height": 40}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
        new_output("stream", name="stdout", text="<script>printed text is escaped by the template</script>"),
    ]
    kept, removed = sanitize.clean_outputs(outputs)
    assert kept[0]["data"]["text/html"] == "<img><table><tbody><tr><td>1</td></tr></tbody></table>"
    assert kept[1]["data"] == {"text/plain": "<JS>"}, "a JavaScript output should be dropped, its text kept"
    assert kept[2]["data"]["image/svg+xml"] == '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" /></svg>'
    assert kept[3]["metadata"] == {"image/png": {"height": 40}}, "only numeric image sizes stay as metadata"
    assert len(kept) == 5 and kept[4]["output_type"] == "stream", "the widget-only output should be dropped"
    assert set(removed) == {"HTML with script", "a application/javascript output", "SVG with script",
                            "a application/vnd.jupyter.widget-view+json output"}


def test_the_preprocessor_leaves_the_instructors_text_and_flags_script(tmp_path):
    release = new_notebook(cells=[new_markdown_cell("Instructions: $x < y$ <b>bold</b>")])
    nbformat.write(release, tmp_path / "release.ipynb")
    submitted = new_notebook(cells=[
        new_markdown_cell("Instructions: $x < y$ <b>bold</b>"),  # as released: stays exactly as it is
        new_markdown_cell(SCRIPTS[0]),
        new_raw_cell(SCRIPTS[1]),
        new_code_cell("display(HTML(...))", outputs=[new_output("display_data", data={"text/html": SCRIPTS[2]})])],
        metadata={"title": "</title><script>alert(9)</script>", "widgets": {"state": "</script><script>"},
                  "kernelspec": {"name": "python3", "display_name": "Python 3"}})
    preprocessor = SanitizeSubmission(released_notebook=str(tmp_path / "release.ipynb"))
    notebook, resources = preprocessor.preprocess(submitted, {})
    assert notebook.cells[0].source == "Instructions: $x < y$ <b>bold</b>"
    assert all(not sanitize.has_script(markdown2html_mistune(cell.source)) for cell in notebook.cells[1:3])
    assert set(notebook.metadata) <= {"kernelspec", "language_info"}, notebook.metadata
    assert [reason.split(":")[0] for reason in resources[REVIEW]] == ["cell 2", "cell 3", "cell 4"], resources
