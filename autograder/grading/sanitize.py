"""Make what a submission shows inert before any browser sees it.

Formgrader and nbgrader's feedback render the autograded notebook with nbconvert, which by default
puts a submission's HTML, markdown, SVG and JavaScript into the page as they are: a student's
``<img onerror=...>`` would run in the instructor's Jupyter server with the instructor's token.
Everything here turns submitted content into what the grader may safely render, keeping it readable:

- HTML (outputs, and the HTML that markdown renders to) keeps an allowlist of tags and attributes,
  links only to http, https, mailto or the page, images only from PNG, JPEG or GIF data in the page
  (nothing is fetched from elsewhere); anything else is shown as text (bleach, the sanitizer
  nbconvert itself uses);
- a student's markdown cell is rendered to HTML the way nbconvert renders it, cleaned, and kept as one
  raw HTML block, which every markdown renderer passes through unchanged, so the grader reads the
  formatted answer (formulas included: MathJax typesets the text) and nothing in it runs;
- SVG keeps its drawing elements and loses scripts, event handlers, foreign objects and links
  that leave the image;
- JavaScript, widgets and every other output type are dropped; an output's metadata keeps only
  numeric image sizes (nbconvert writes ``width=`` unquoted, so text there would add attributes).
"""
import html
import re
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import bleach
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath, markdown2html_mistune

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
        "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
        "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "summary", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
# no id, name or class: a submission's elements must not take the place of formgrader's own (the
# grade inputs are found by id and class)
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "img": {"src", "alt", "title", "width", "height"},
              "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"}, "ol": {"start"},
              "*": {"style"}}
PROTOCOLS = {"http", "https", "mailto", "data"}
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*")
STYLES = CSSSanitizer(allowed_css_properties=["color", "background-color", "font-weight", "font-style",
                                              "text-align", "text-decoration", "vertical-align"])

SAFE_OUTPUT_TYPES = {"text/plain", "image/png", "image/jpeg", "text/latex"}
IMAGE_SIZE = {"width", "height"}

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
SVG_ELEMENTS = {"svg", "g", "path", "defs", "clipPath", "use", "rect", "circle", "ellipse", "line", "polyline",
                "polygon", "text", "tspan", "title", "desc", "image", "linearGradient", "radialGradient", "stop",
                "pattern", "mask", "symbol", "marker"}


def _url(value):
    """A URL as a browser reads it: entities decoded, whitespace and control characters gone, lower case."""
    return re.sub(r"[\x00-\x20\x7f-\x9f]", "", html.unescape(value)).lower()


def _allowed_attribute(tag, name, value):
    allowed = ATTRIBUTES.get(tag, set()) | ATTRIBUTES["*"]
    if name not in allowed:
        return False
    if name == "src":  # images only from data the page holds: nothing is fetched (no beacons)
        return bool(IMAGE_DATA.fullmatch(re.sub(r"\s", "", html.unescape(value))))
    if name == "href":  # links to the web, mail or the page itself
        url = _url(value)
        return url.startswith(("http://", "https://", "mailto:", "#")) or ":" not in url.split("/")[0]
    return True


def clean_html(html):
    """``html`` with every tag, attribute, link and style outside the allowlists shown as text or removed."""
    return bleach.clean(html, tags=TAGS, attributes=_allowed_attribute, protocols=PROTOCOLS,
                        css_sanitizer=STYLES, strip=False, strip_comments=True)


class _ScriptFinder(HTMLParser):
    ACTIVE_TAGS = {"script", "iframe", "object", "embed", "frame", "base", "meta", "form", "foreignobject"}

    def __init__(self):
        super().__init__()
        self.found = False

    def handle_starttag(self, tag, attrs):
        self.found = self.found or tag in self.ACTIVE_TAGS or any(
            name.startswith("on") or value and re.search(r"(javascript|vbscript):|data:text/html", _url(value))
            for name, value in attrs)


def has_script(html):
    """Whether ``html`` holds script: script-like elements, event handlers or javascript: links."""
    finder = _ScriptFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def render_markdown(source, attachments=None):
    """Markdown as nbconvert renders it to HTML (not yet cleaned)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(source)


def markdown_as_safe_html(source, attachments=None):
    """A markdown cell's source as the cleaned HTML nbconvert renders it to, in one raw HTML block.

    attachments: the cell's attachments ({name: {mime type: base64}}); PNG, JPEG and GIF images among
        them are embedded, the rest dropped.
    One line (newlines as ``&#10;``, which is what they are in HTML text and in <pre>), so that no
    blank line ends the block and a markdown renderer passes it through as it is.
    Returns (that block, whether the rendered markdown held script).
    """
    images = {name: {mime: data for mime, data in bundle.items()
                     if mime in ("image/png", "image/jpeg", "image/gif") and isinstance(data, str)}
              for name, bundle in (attachments or {}).items() if isinstance(bundle, dict)}
    images = {name: bundle for name, bundle in images.items() if bundle}
    try:
        html = render_markdown(source, images)
    except Exception:  # noqa: BLE001 (e.g. a missing attachment): show the source as text
        html = "<pre>" + bleach.clean(source) + "</pre>"
    safe = clean_html(html).strip()
    return "<div>" + safe.replace("\r", "").replace("\n", "&#10;") + "</div>", has_script(html)


def clean_svg(svg):
    """An SVG image with only drawing elements, no event handlers, scripts, styles or outside links;
    None when it is not well-formed SVG."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError:
        return None
    if root.tag != SVG + "svg":
        return None
    for parent in list(root.iter()):
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag.removeprefix(SVG) not in SVG_ELEMENTS \
                    or not child.tag.startswith(SVG):
                parent.remove(child)
        for name, value in list(parent.attrib.items()):
            local = name.rsplit("}", 1)[-1].lower()
            link = name in (XLINK_HREF, "href")
            if local.startswith("on") or link and not (value.startswith("#") or IMAGE_DATA.fullmatch(value)) \
                    or "url(" in value.replace(" ", "").lower() and "url(#" not in value.replace(" ", "").lower():
                del parent.attrib[name]
    ElementTree.register_namespace("", SVG[1:-1])
    ElementTree.register_namespace("xlink", XLINK_HREF[1:].split("}")[0])
    return ElementTree.tostring(root, encoding="unicode")


def clean_outputs(outputs):
    """A code cell's outputs with only safe types: HTML cleaned, markdown rendered and cleaned, SVG
    scrubbed, numeric image sizes as the only metadata; everything else (JavaScript, widgets, ...) gone.

    Returns (the outputs kept, what was removed that could have run in a browser: a list of phrases).
    """
    kept, removed = [], []
    for output in outputs:
        if output.get("output_type") in ("stream", "error"):
            kept.append(output)  # rendered as escaped text
            continue
        data, cleaned = output.get("data", {}), {}
        for mime, value in data.items():
            text = "".join(value) if isinstance(value, list) else value
            if "javascript" in mime or "widget" in mime:
                removed.append(f"a {mime} output")
            elif not isinstance(text, str):
                continue
            elif mime in SAFE_OUTPUT_TYPES:
                cleaned[mime] = text
            elif mime == "text/html":
                cleaned[mime] = clean_html(text)
                removed += ["HTML with script"] if has_script(text) else []
            elif mime == "text/markdown":
                html = markdown2html_mistune(text)
                cleaned.setdefault("text/html", clean_html(html))
                removed += ["markdown with script"] if has_script(html) else []
            elif mime == "image/svg+xml":
                svg = clean_svg(text)
                if svg is not None:
                    cleaned[mime] = svg
                removed += ["SVG with script"] if has_script(text) else []
        if not cleaned:
            continue
        output["data"] = cleaned
        output["metadata"] = {mime: {key: number for key, number in sizes.items()
                                     if key in IMAGE_SIZE and type(number) in (int, float)}
                              for mime, sizes in output.get("metadata", {}).items()
                              if mime in cleaned and isinstance(sizes, dict)}
        kept.append(output)
    return kept, list(dict.fromkeys(removed))
