"""The feedback page's exporter (autograder.grading.feedback.FeedbackExporter): nbconvert's HTML, every image
with an alternative text, without nbconvert's second parse of the whole page."""
import re

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.grading.feedback import NO_ALT_TEXT, FeedbackExporter

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_every_image_has_an_alternative_text_and_a_given_one_is_kept():
    notebook = new_notebook(cells=[new_code_cell("plot()", outputs=[
        new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
        new_output("display_data", data={"text/html": f'<img title="a>b" src="data:image/png;base64,{PNG}">'
                                                      f'<IMG alt="mine" src="data:image/png;base64,{PNG}">'})])])
    html, _ = FeedbackExporter(template_name="classic").from_notebook_node(notebook)
    images = re.findall(r"<img\b[^>]*", html, flags=re.IGNORECASE)
    assert len(images) == 3 and all(re.search(r"\balt=", tag) for tag in images), images
    assert html.count(NO_ALT_TEXT) == 2 and 'alt="mine"' in html
