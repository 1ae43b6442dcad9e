"""Signs of tampering in a submitted notebook, for a person to review.

Tampering cannot earn points -- the hidden tests run outside the student's kernel and nbgrader
restores every test cell from the gradebook -- but a student who tried should be looked at. This
module reads the submitted notebook as the student sent it and returns the reasons it needs review:

- nbgrader cell metadata that differs from the released notebook: grade ids that are unknown or
  appear twice, points, cell types or the grade/solution/locked flags changed, scores written in;
- code that reaches into what grading relies on: assigning attributes of imported modules
  (``np.allclose = ...``), ``sys.modules``, builtins, IPython input/AST transformers and event
  hooks, ``NBGRADER_EXECUTION``, comparison and array-protocol dunders (``__eq__``, ``__array__``),
  tracing hooks, processes and signals, and files of the grader (gradebook, hidden reference).

A correct solution written in any reasonable way has none of these (the bug bank's variants and the
examples are checked in the tests).
"""
import ast
import hashlib
import json
import re
from pathlib import Path

import nbformat

from autograder.assignment.master import without_ipython_syntax

FLAGS = ("grade", "solution", "locked", "task")
SUSPICIOUS_ATTRIBUTES = {
    "modules": "replaces modules in sys.modules",
    "input_transformers_cleanup": "installs an IPython input transformer (it can rewrite the test cells)",
    "input_transformers_post": "installs an IPython input transformer (it can rewrite the test cells)",
    "input_transformer_manager": "installs an IPython input transformer (it can rewrite the test cells)",
    "ast_transformers": "installs an IPython AST transformer (it can rewrite the test cells)",
    "register_transformer": "installs an IPython transformer",
    "events": "registers an IPython event hook (code that runs around every cell)",
    "displayhook": "replaces the display hook",
    "excepthook": "replaces the exception hook",
    "set_custom_exc": "swallows exceptions raised in later cells",
    "settrace": "installs a tracing hook",
    "setprofile": "installs a profiling hook",
    "addaudithook": "installs an audit hook",
    "fork": "starts processes",
    "system": "runs shell commands",
    "kill": "sends signals",
}
SUSPICIOUS_NAMES = {
    "builtins": "changes Python's builtins",
    "__builtins__": "changes Python's builtins",
    "__eq__": "defines __eq__ (an object that compares equal to anything defeats comparisons)",
    "__ne__": "defines __ne__ (an object that compares equal to anything defeats comparisons)",
    "__array__": "defines __array__ (an object that turns into any array defeats comparisons)",
    "__array_ufunc__": "overrides numpy functions for its objects",
    "__array_function__": "overrides numpy functions for its objects",
    "subprocess": "starts processes",
    "ctypes": "calls C code directly",
    "signal": "handles or sends signals",
}
SUSPICIOUS_TEXT = {
    "NBGRADER_EXECUTION": "checks whether it is being graded (NBGRADER_EXECUTION)",
    "gradebook": "looks for the gradebook",
    "hidden_reference": "looks for the hidden tests' answers",
    "hw2_checks.": "changes the checks",
    "get_ipython": "reaches into IPython itself",
    "_hw2_grader": "takes the place of the grader's code in the kernel",
    "connection_file": "looks for the kernel's connection to the grader",
}


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def release_record(notebook):
    """What a student received in one release (a released notebook): {"cells": {grade_id: {"cell_type",
    "points", and the flags}}, "code": [digests of its code cells' sources]} -- kept in
    generated/releases.json by ./kit build, so that a notebook downloaded before the master changed is
    compared with the release it came from."""
    cells = {c.metadata.nbgrader["grade_id"]: {"cell_type": c.cell_type, **{key: c.metadata.nbgrader.get(key, False)
                                                                            for key in ("points", *FLAGS)}}
             for c in notebook.cells if "grade_id" in c.metadata.get("nbgrader", {})}
    return {"cells": cells, "code": sorted({_digest(c.source) for c in notebook.cells if c.cell_type == "code"})}


def load_releases(path):
    """The release records of the releases file at ``path`` (a JSON list; none when it does not exist)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else []


def review_reasons(submitted, released, releases=()):
    """Reasons the notebook at ``submitted`` needs review (empty when nothing is suspicious).

    submitted, released: paths of the student's notebook and of the released student notebook.
    releases: release records (release_record) of earlier releases: what matches any release is the
        instructor's, not the student's.
    """
    notebook = nbformat.read(submitted, as_version=4)
    records = [release_record(nbformat.read(released, as_version=4)), *releases]
    given = {digest for record in records for digest in record["code"]}  # code the student received
    reasons = metadata_reasons(notebook.cells, records)
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type == "code" and _digest(cell.source) not in given:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if any(record["cells"].get(grade_id, {}).get("locked") for record in records):
                continue  # nbgrader puts back the released code of locked cells; edits there never run
            reasons += [f"cell {number}: {why}" for why in code_reasons(cell.source)]
    return list(dict.fromkeys(reasons))


def metadata_reasons(cells, records):
    """Edited nbgrader metadata: what matches no release in ``records`` (release_record dicts, the
    current release first)."""
    reasons, seen = [], set()
    for number, cell in enumerate(cells, 1):
        nbgrader = cell.metadata.get("nbgrader")
        if not nbgrader:
            continue
        grade_id = nbgrader.get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            reasons.append(f"cell {number}: grade id {grade_id!r} appears twice (a copied graded cell)")
        seen.add(grade_id)
        known = [record["cells"][grade_id] for record in records if grade_id in record["cells"]]
        if not known:
            reasons.append(f"cell {number}: unknown grade id {grade_id!r} (cell metadata edited)")
            continue
        differences = [[f"{key} {released.get(key)!r} -> {nbgrader.get(key)!r}" for key in ("points", *FLAGS)
                        if nbgrader.get(key, False) != released.get(key, False)] +
                       ([f"cell type {released['cell_type']} -> {cell.cell_type}"]
                        if cell.cell_type != released["cell_type"] else []) for released in known]
        changed = [] if [] in differences else differences[0]  # shown against the newest release that has it
        if "score" in nbgrader:
            changed.append(f"a score written in ({nbgrader['score']!r})")
        if changed:
            reasons.append(f"cell {number} ({grade_id}): metadata edited: {', '.join(changed)}")
    return reasons


# What ast may raise on code a valid notebook can hold: not Python (SyntaxError, ValueError for a NUL
# byte), or nested or long enough to exhaust the parser or a recursive walk (RecursionError, MemoryError).
UNREADABLE_CODE = (SyntaxError, ValueError, RecursionError, MemoryError)


def code_reasons(source):
    """What in ``source`` (str, one code cell) reaches into grading, one reason per finding: read as
    Python where ast can read it, else by the names its text holds."""
    reasons = [why for text, why in SUSPICIOUS_TEXT.items() if text in source]
    try:
        return reasons + _syntax_reasons(ast.parse(without_ipython_syntax(source)))
    except UNREADABLE_CODE:
        return reasons + [why for name, why in {**SUSPICIOUS_NAMES, **SUSPICIOUS_ATTRIBUTES}.items()
                          if re.search(rf"\b{re.escape(name)}\b", source)]


def _syntax_reasons(tree):
    """The findings of code_reasons in ``tree`` (ast.Module)."""
    reasons = []
    modules = {alias.asname or alias.name.split(".")[0]
               for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for alias in node.names if isinstance(node, ast.Import)}
    modules |= {"np", "numpy", "sys", "os", "builtins", "hw2", "hw2_checks", "plt", "math"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _root_name(target) in modules:
                    reasons.append(f"assigns {ast.unparse(target)} (changes a module others rely on)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and node.args and _root_name(node.args[0]) in modules:
            reasons.append(f"calls {node.func.id} on {ast.unparse(node.args[0])} (changes a module others rely on)")
        elif isinstance(node, ast.Attribute) and node.attr in SUSPICIOUS_ATTRIBUTES:
            if node.attr not in ("fork", "system", "kill") or _root_name(node) == "os":
                reasons.append(f"{SUSPICIOUS_ATTRIBUTES[node.attr]} ({ast.unparse(node)})")
        elif isinstance(node, ast.Name) and node.id in SUSPICIOUS_NAMES:
            reasons.append(SUSPICIOUS_NAMES[node.id])
        elif isinstance(node, ast.FunctionDef) and node.name in SUSPICIOUS_NAMES:
            reasons.append(SUSPICIOUS_NAMES[node.name])
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            reasons += [SUSPICIOUS_NAMES[n.split(".")[0]] for n in names if n.split(".")[0] in SUSPICIOUS_NAMES]
    return reasons


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
