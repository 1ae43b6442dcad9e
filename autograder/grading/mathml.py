"""Formulas in feedback without a network: TeX between $...$ or $$...$$ becomes MathML, which browsers
draw themselves (no MathJax from a CDN, no script at all).

``tex_to_mathml(html)`` is a Jinja filter of the hw2_feedback template, applied to markdown already
rendered to HTML (the master's prose, and students' answers already cleaned by autograder.grading.sanitize).
latex2mathml converts; what it produces is then kept to an allowlist of MathML elements and
attributes, since a student's TeX reaches it (``\\href{javascript:...}`` becomes an ``href``
attribute). TeX it cannot convert stays as it was, as text.
"""
import html
import re
import xml.etree.ElementTree as ElementTree

from latex2mathml.converter import convert

MATHML = "{http://www.w3.org/1998/Math/MathML}"
ELEMENTS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub", "msup",
            "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
            "menclose", "merror", "semantics", "annotation"}
ATTRIBUTES = {"display", "stretchy", "fence", "separator", "mathvariant", "displaystyle", "scriptlevel", "lspace",
              "rspace", "width", "height", "depth", "minsize", "maxsize", "accent", "accentunder", "movablelimits",
              "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame",
              "linethickness", "notation", "symmetric", "largeop", "form"}
SAFE_VALUE = re.compile(r"[\w\s.%+-]*")  # numbers, units, keywords: no URL, no markup
# $$...$$ (display) or $...$ (inline, on one line), not inside <code> or <pre>
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
VERBATIM = re.compile(r"(<(code|pre)\b.*?</\2>)", re.S | re.I)


def _clean(element):
    """Keep ``element`` (a MathML ElementTree element) to ELEMENTS and ATTRIBUTES, in place."""
    for child in list(element):
        if child.tag.removeprefix(MATHML) not in ELEMENTS:
            element.remove(child)
        else:
            _clean(child)
    for name, value in list(element.attrib.items()):
        if name not in ATTRIBUTES or not SAFE_VALUE.fullmatch(value):
            del element.attrib[name]


def mathml(tex, display=False):
    """The MathML of ``tex`` (str, TeX without delimiters) as HTML, or None when it cannot be converted."""
    try:
        root = ElementTree.fromstring(convert(tex, display="block" if display else "inline"))
    except Exception:  # latex2mathml raises many kinds on TeX it does not know
        return None
    _clean(root)
    ElementTree.register_namespace("", MATHML[1:-1])
    return ElementTree.tostring(root, encoding="unicode")


def _replace(match):
    tex = html.unescape(match.group(1) if match.group(1) is not None else match.group(2))
    return mathml(tex, display=match.group(1) is not None) or match.group(0)


def tex_to_mathml(text):
    """HTML ``text`` with its $...$ and $$...$$ formulas as MathML (code and preformatted text left alone)."""
    pieces, last = [], 0
    for verbatim in VERBATIM.finditer(text):
        pieces += [MATH.sub(_replace, text[last:verbatim.start()]), verbatim.group(0)]
        last = verbatim.end()
    return "".join(pieces) + MATH.sub(_replace, text[last:])
