"""The feedback page's code highlighting kept per process (autograder.grading.highlight): the same HTML as
nbconvert's Highlight2HTML for every cell, whatever was highlighted before, and a bounded cache."""
import pytest
from nbconvert.filters.highlight import Highlight2HTML
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading import feedback, highlight
from autograder.grading.highlight import CachedHighlight2HTML

SOURCE = "%%bash\necho $HOME  # x = [1, 2]"
CALLS = [  # one source highlighted several ways, in an order where a looser key would give an earlier HTML
    (SOURCE, None, None), (SOURCE, "python3", None), (SOURCE, None, {"magics_language": "bash"}),
    (SOURCE, "ipython3", {"magics_language": "html"}), (SOURCE, "no such language", None),
    ("", None, None), (" ", None, None), ("def f(x):\n    return 2 * x", None, {"tags": ["a"]}),
]


@pytest.mark.filterwarnings("ignore:No lexer found")
@pytest.mark.parametrize("lexer", [None, "ipython3", "python"])
def test_every_call_gives_highlight2htmls_html_cold_and_warm(lexer):
    for attempt in ("cold", "warm"):
        for source, language, metadata in CALLS:
            ours = CachedHighlight2HTML(pygments_lexer=lexer)(source, language, metadata)
            expected = Highlight2HTML(pygments_lexer=lexer)(source, language, metadata)
            assert ours == expected, f"{attempt}: {source!r} in {language} ({metadata}) gave other HTML"


def test_the_formatters_options_are_part_of_the_key():
    options = {"linenos": "inline"}
    CachedHighlight2HTML()(SOURCE)
    ours = CachedHighlight2HTML(extra_formatter_options=options)(SOURCE)
    assert ours == Highlight2HTML(extra_formatter_options=options)(SOURCE) != Highlight2HTML()(SOURCE)


def test_the_feedback_page_is_the_same_with_and_without_the_cache(monkeypatch):
    notebook = new_notebook(metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}}, cells=[
        new_code_cell("import numpy as np\nx = np.zeros((2, 3))"), new_code_cell(SOURCE), new_code_cell(""),
        new_code_cell("%%html\n<b>x</b>", metadata={"magics_language": "html"})])
    pages = [feedback.FeedbackExporter(template_name="classic").from_notebook_node(notebook)[0] for _ in range(2)]
    monkeypatch.setattr(feedback, "CachedHighlight2HTML", Highlight2HTML)
    uncached = feedback.FeedbackExporter(template_name="classic").from_notebook_node(notebook)[0]
    assert pages == [uncached, uncached]


def test_the_cache_holds_at_most_its_size(monkeypatch):
    monkeypatch.setattr(highlight, "CACHE_CHARACTERS", 20_000)
    monkeypatch.setattr(CachedHighlight2HTML, "_cache", type(CachedHighlight2HTML._cache)())
    monkeypatch.setattr(CachedHighlight2HTML, "_characters", 0)
    for number in range(200):
        source = f"x_{number} = {number}"
        assert CachedHighlight2HTML()(source) == Highlight2HTML()(source)
    held = sum(len(source) + len(html) for (source, *_), html in CachedHighlight2HTML._cache.items())
    assert held == CachedHighlight2HTML._characters <= 20_000 and len(CachedHighlight2HTML._cache) < 200
    assert CachedHighlight2HTML()("x_199 = 199") == Highlight2HTML()("x_199 = 199")
