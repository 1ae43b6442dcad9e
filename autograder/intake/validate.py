"""What the kit relies on in a submitted notebook, checked once, at intake, before anything else reads it.

    problem = notebook_problem(path)    # '' when the notebook has the validated form, else why not

The validated form, which every later stage (the review, nbgrader's pipeline, the similarity report) may
take for granted of a submission whose ``problem`` is empty:

- UTF-8 JSON of an object, nested at most MAX_DEPTH deep, all of its text valid Unicode (no lone
  surrogates, which no file or database can store);
- nbformat 4 (``nbformat`` the integer 4, ``nbformat_minor`` an integer from 0), accepted by nbformat's
  validator: every cell a dictionary with its cell type (code, markdown or raw), metadata (a dictionary)
  and source (a string or a list of strings), every output well formed. Extra keys are allowed
  (nbformat's ``relax_add_props``: older and other front-ends add some), and so are cells without an id or
  with a duplicated one (nbformat gives them fresh ids when it reads them);
- at least one cell, at most MAX_CELLS;
- every cell's nbgrader metadata, where there is some, a dictionary; its grade id, where there is one,
  a string; a cell it marks graded, a solution or locked has a grade id (nbgrader's DeduplicateIds
  reads that id);
- the cells nbgrader keeps as the release's (_kept_release_cells) at nbgrader's schema version 3, with a
  cell type nbgrader knows where they name one (nbgrader's CheckCellMetadata refuses the notebook else).

Everything else in nbgrader metadata is left to the grading pipeline, which repairs it today: unknown keys
(a ``score`` written in) are dropped by CleanMetadata, edited flags and points are put back by RestoreCells
and noted by the review, unknown grade ids and duplicated cells become ordinary cells. Messages say what
is wrong where (cell numbers count from 1, as Jupyter shows them) and what the student can do about it.
"""
import reprlib
import warnings

import nbformat
from nbformat import validator

from autograder.assignment import master

FORMAT = 4
NBGRADER_SCHEMA = 3  # nbgrader 0.9's cell metadata schema
MAX_DEPTH = 100  # nesting of lists and objects: a notebook's deepest (widget state, plot JSON) is about 10
MAX_CELLS = 2000  # the assignment has under 100
MAX_PATH_WORDS = 6  # a place in a message: "cell 4, 'metadata', 'widgets', ..."
MARKS = ("grade", "solution", "locked")  # nbgrader flags that make a cell need a grade id
CELL_TYPES = ("code", "markdown", "raw")
KINDS = {"cells": ("cell_type", CELL_TYPES, "{}_cell"),  # in nbformat's schema: key, kinds, definition
         "outputs": ("output_type", ("execute_result", "display_data", "stream", "error"), "{}")}
FRESH_COPY = "download a fresh copy of the assignment and paste your answers in"
PLACEHOLDER_ID = "cell-id-added-when-read"  # a cell without an id, for the validator only (nbformat adds one)
JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "true or false", int: "a whole number",
              float: "a number", type(None): "null"}
SCHEMA_TYPES = {"object": "an object", "array": "a list", "string": "a string", "boolean": "true or false",
                "integer": "a whole number", "number": "a number", "null": "null"}
_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist, _short.maxdict, _short.maxlevel = 40, 40, 3, 3, 2


def notebook_problem(path):
    """Why the notebook file at ``path`` does not have the validated form ('' when it does)."""
    try:
        with open(path, encoding="utf-8") as file:  # as nbformat.read opens it
            text = file.read()
        raw = nbformat.reader.parse_json(text)
    except (UnicodeDecodeError, nbformat.reader.NotJSONError) as error:
        return f"the file is not valid notebook JSON ({type(error).__name__}: {error})"
    except RecursionError:
        return f"the file nests lists or objects thousands of levels deep; {FRESH_COPY}"
    return (_shape_problem(raw) or _format_problem(raw) or _size_problem(raw["cells"])
            or _nbgrader_problem(raw["cells"]) or _reader_problem(text))


def _reader_problem(text):
    """What nbformat's own reader, which every later stage uses, refuses in ``text`` (str) that the checks
    above let through: an accepted notebook is always one nbformat.read can read."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat logs and warns as it repairs; the problem is said here
        try:
            nbformat.reads(text, as_version=4)
        except Exception as error:  # noqa: BLE001 (whatever nbformat raises, the notebook cannot be graded)
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return f"the notebook does not follow the Jupyter notebook format: {first[:200]}; {FRESH_COPY}"
    return ""


def _shape_problem(raw):
    """Nesting depth and Unicode, everywhere in the parsed JSON (before any code recurses into it)."""
    if not isinstance(raw, dict):
        return (f"the file is JSON but not a notebook: it holds {JSON_TYPES.get(type(raw), 'a value')}, not an object "
                f"with cells; {FRESH_COPY}")
    stack = [(raw, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return f"{_where(path)}: data nested more than {MAX_DEPTH} levels deep; {FRESH_COPY}"
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            if any(isinstance(text, str) and not _is_unicode(text) for text in (key, child)):
                return (f"{_where((*path, key))}: text that is not valid Unicode (a lone surrogate such as \\ud800, "
                        f"which no file can store); {FRESH_COPY}")
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1, (*path, key)))
    return ""


def _is_unicode(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _format_problem(raw):
    """What nbformat's validator finds wrong, for notebook format 4 only."""
    major, minor = raw.get("nbformat"), raw.get("nbformat_minor")
    if type(major) is not int or type(minor) is not int:
        return (f"the file does not say which notebook format it is in (nbformat {_short.repr(major)}, "
                f"nbformat_minor {_short.repr(minor)}: two whole numbers expected); {FRESH_COPY}")
    if major != FORMAT or minor < 0:
        return (f"the notebook is in format {major}.{minor}, the assignment in format {FORMAT}: open it in a current "
                f"Jupyter and save it, or {FRESH_COPY}")
    cells = raw.get("cells")
    if isinstance(cells, list):
        for number, cell in enumerate(cells, 1):  # nbformat's messages fail on a cell type that is not text, and
            if isinstance(cell, dict) and cell.get("cell_type") not in CELL_TYPES:  # a newer minor takes any type
                kind = f"its cell_type {_found(cell['cell_type'])}" if "cell_type" in cell else "it has no cell_type"
                return (f"the notebook does not follow the Jupyter notebook format: cell {number}: {kind}, none of "
                        f"{', '.join(CELL_TYPES)}; {FRESH_COPY}")
        if minor >= 5:  # nbformat gives a cell without an id one when it reads it
            raw = dict(raw, cells=[dict(cell, id=PLACEHOLDER_ID) if isinstance(cell, dict) and "id" not in cell
                                   else cell for cell in cells])
    try:
        error = next(validator.iter_validate(raw, relax_add_props=True), None)
    except Exception as failure:  # noqa: BLE001 -- third-party code on a student's file: an error row, never a crash
        return (f"the notebook could not be checked against the Jupyter notebook format ({type(failure).__name__}); "
                f"{FRESH_COPY}")
    if error is None:
        return ""
    return f"the notebook does not follow the Jupyter notebook format: {_schema_message(error, minor)}; {FRESH_COPY}"


def _schema_message(error, minor, within=()):
    """What nbformat's validator found, where (``within``: the path of what was validated)."""
    path = (*within, *error.absolute_path)
    # a cell or an output that is none of its kinds (nbformat narrows that to its kind without relax_add_props,
    # to an error about an extra key at times): narrowed here, relaxed
    if error.validator in ("oneOf", "additionalProperties") and len(path) > 1 and path[-2] in KINDS \
            and isinstance(error.instance, dict):
        key, kinds, definition = KINDS[path[-2]]
        kind = error.instance.get(key)
        if kind not in kinds:
            return f"{_where(path)}: its {key} {_short.repr(kind)} is none of {', '.join(kinds)}"
        error = next(validator.iter_validate(error.instance, ref=definition.format(kind), version=FORMAT,
                                             version_minor=minor, relax_add_props=True), error)
        if error.absolute_path:
            return _schema_message(error, minor, path)
    if error.validator == "required":
        return f"{_where(path)}: {error.message}"
    return f"{_where(path)}: {_found(error.instance)} where {_expected(error.schema)} is expected"


def _found(value):
    return f"{_short.repr(value)} ({JSON_TYPES.get(type(value), 'a value')})"


def _expected(schema):
    """What a JSON schema (a dict) accepts, in words."""
    if not isinstance(schema, dict):
        return "another value"
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        words = [SCHEMA_TYPES.get(kind, kind) for kind in types]
        if "array" in types and isinstance(schema.get("items"), dict) and "type" in schema["items"]:
            item = _expected(schema["items"]).removeprefix("a ").removeprefix("an ")
            words[types.index("array")] = f"a list of {item}s"
        return " or ".join(words)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        return " or ".join(dict.fromkeys(_expected(alternative) for alternative in alternatives))
    return "another value"


def _where(path):
    """A JSON path as a person reads it: ('cells', 35, 'outputs', 0, 'text') -> "cell 36, output 1, 'text'"."""
    words = []
    for parent, key in zip((None, *path), path):
        if parent in ("cells", "outputs") and isinstance(key, int):
            words[-1] = f"{'cell' if parent == 'cells' else 'output'} {key + 1}"
        else:
            words.append(_short.repr(key))
    return ", ".join(words[:MAX_PATH_WORDS] + ["..."] * (len(words) > MAX_PATH_WORDS)) or "the notebook"


def _size_problem(cells):
    if not cells:
        return "the notebook has no cells"
    if len(cells) > MAX_CELLS:
        return f"the notebook has {len(cells)} cells, more than the {MAX_CELLS} the grader takes; {FRESH_COPY}"
    return ""


def _nbgrader_problem(cells):
    """What nbgrader's metadata must be for the kit to read it (see the module's docstring)."""
    for number, cell in enumerate(cells, 1):
        if "nbgrader" not in cell["metadata"]:
            continue
        nbgrader = cell["metadata"]["nbgrader"]
        if not isinstance(nbgrader, dict):
            return f"cell {number}: its nbgrader metadata is not a dictionary; {FRESH_COPY}"
        if "grade_id" in nbgrader and not isinstance(nbgrader["grade_id"], str):
            return (f"cell {number}: its nbgrader grade id is {JSON_TYPES[type(nbgrader['grade_id'])]}, not text; "
                    f"{FRESH_COPY}")
        if "grade_id" not in nbgrader and any(nbgrader.get(mark) for mark in MARKS):
            return f"cell {number}: its nbgrader metadata marks it as graded or locked but has no grade id; {FRESH_COPY}"
    for number, nbgrader in _kept_release_cells(cells):
        version, cell_type = nbgrader.get("schema_version"), nbgrader.get("cell_type", "code")
        if type(version) is not int or version != NBGRADER_SCHEMA:
            return (f"cell {number} ({nbgrader['grade_id']}): its nbgrader schema version is {_found(version)}, not "
                    f"{NBGRADER_SCHEMA}; {FRESH_COPY}")
        if cell_type not in CELL_TYPES:
            return (f"cell {number} ({nbgrader['grade_id']}): its nbgrader cell type is {_found(cell_type)}, none of "
                    f"{', '.join(CELL_TYPES)}; {FRESH_COPY}")
    return ""


def _kept_release_cells(cells):
    """[(cell number, nbgrader metadata)] of the cells nbgrader keeps as the release's and checks against its
    schema (nbgrader 0.9's DeduplicateIds, RestoreCells, CheckCellMetadata): a grade id of the release, and of
    marked cells with one id only the last (DeduplicateIds blanks the others). RestoreCells puts back their
    flags, points and checksum; their schema version and cell type stay as the student's file has them."""
    release_ids, marked, kept = set(master.read().grade_ids), set(), []
    for number, cell in reversed(list(enumerate(cells, 1))):
        nbgrader = cell["metadata"].get("nbgrader", {})
        if nbgrader.get("grade_id") not in release_ids:
            continue
        if any(nbgrader.get(mark) for mark in MARKS):
            if nbgrader["grade_id"] in marked:
                continue
            marked.add(nbgrader["grade_id"])
        kept.append((number, nbgrader))
    return kept[::-1]
