"""Formulas in feedback as MathML (autograder/grading/mathml.py): drawn offline, and nothing from TeX runs."""
from autograder.grading.mathml import tex_to_mathml


def test_inline_and_display_formulas_become_mathml():
    html = tex_to_mathml("<p>so $\\partial \\ell / \\partial g$, and</p><p>$$e^{-|s|}$$</p>")
    assert html.count("<math ") == 2 and 'display="block"' in html and "<msup>" in html and "$" not in html


def test_code_and_unconvertible_tex_are_left_as_they_are():
    html = "<p><code>x = $a$</code> costs $\\notacommand{$</p>"
    assert tex_to_mathml(html).startswith("<p><code>x = $a$</code>")


def test_what_a_students_tex_asks_for_is_kept_to_an_allowlist():
    html = tex_to_mathml("<p>$\\href{javascript:alert(1)}{x}$ $\\color{red} y$ $a &lt;b$</p>")
    assert "javascript" not in html and "href" not in html and "mathcolor" not in html
    assert "<mo>&lt;</mo>" in html  # text stays escaped
