"""Mutated notebooks for the fuzzing of intake (tests/unit/test_fuzz_intake.py) and the fuzzed grading run
(tests/e2e/test_fuzzed_class.py): a bundled example's JSON (or a run of its cells), changed as an
attacker or a broken editor would change it, as the bytes of a file.

    mutant(Choices.from_hypothesis(data))   # shrinkable: Hypothesis draws every choice
    mutant(Choices.from_seed(7))             # the same bytes on every run

Mutations of the parsed JSON: a value swapped for one of another type or an odd one (huge, empty,
formulas, control characters, bidi and zero-width marks, lone surrogates, numbers at the edges), a key
removed, a value copied under another key or into another cell, a cell duplicated, removed or given
another type, deep nesting, other nbformat versions. Mutations of the text: a key written twice, bytes of
junk inserted, the file cut short, a byte-order mark, another encoding, or no notebook at all.
"""
import json
import random
from dataclasses import dataclass
from typing import Callable

from hypothesis import strategies as st

from autograder.assignment import release

EXAMPLES = release.REPO / "examples" / "submissions"
BASES = {name: json.loads((EXAMPLES / f"{name}.ipynb").read_text()) for name in ["alice", "bob", "dave", "erin"]}
BASES["assignment"] = json.loads((release.REPO / "assignment.ipynb").read_text())
ODD_TEXT = ["", "x", "=1+1", "\ufeff=1+1", " =2+2", "@SUM(A1)", "-2+3", "\t=cmd|' /C calc'!A0", "\r=1",
            "\u202e\u2066gnp.exe\u2069", "\u200b\u200d\u2060", "\x00", "\x1b[2J\x1b[H", "\ud800", "a\udfffb",
            "\U0001d518\U0001d52b\u0301\u0301", "\r\n\r\n", "../../etc/passwd", "<script>alert(1)</script>",
            "3", "true", "null", "test_training", "setup", "x" * 100_000, "\u0000" * 1000]
ODD_NUMBERS = [0, -1, 1, 3, 2**63, 2**70, -(2**63), 1.5, -0.0, 1e308, -1e-308]
ODD_VALUES = [None, True, False, *ODD_NUMBERS, *ODD_TEXT, [], {}, ["a", 1], {"a": "b"}, [[["x"]]], [None],
              {"grade_id": "x"}, {"grade": True}, {"nbgrader": "x"}]
NBFORMATS = [4, 3, 5, 4.0, "4", None, True, -1, 2**70, [4]]
NBFORMAT_MINORS = [0, 4, 5, 6, 99, -1, "5", None, 5.0, 2**70]
NBGRADER_KEYS = ["grade", "solution", "locked", "task", "grade_id", "points", "schema_version", "checksum",
                 "cell_type", "score", "unknown_key"]
CELL_KEYS = ["cell_type", "metadata", "source", "outputs", "execution_count", "id", "attachments"]
MAX_CELLS_KEPT = 8  # most mutants keep a run of cells: the stages' time grows with the cells


@dataclass(frozen=True)
class Choices:
    """Where a mutant's choices come from: integer(low, high) -> an int from low to high, both included."""
    integer: Callable

    @staticmethod
    def from_hypothesis(data):
        return Choices(lambda low, high: data.draw(st.integers(low, high)))

    @staticmethod
    def from_seed(seed):
        return Choices(random.Random(seed).randint)

    def choice(self, options):
        return options[self.integer(0, len(options) - 1)]

    def chance(self, one_in):
        """True one time in ``one_in`` (Hypothesis draws the smallest numbers most: then less often)."""
        return self.integer(1, one_in) == one_in


def mutant(choose):
    """(description, the bytes of a mutated notebook file)."""
    name = choose.choice(sorted(BASES))
    notebook, done = BASES[name], [name]
    if choose.chance(4):
        done.append("the whole notebook")
    else:
        start = choose.integer(0, len(notebook["cells"]) - 1)
        notebook = dict(notebook, cells=notebook["cells"][start:start + choose.integer(1, MAX_CELLS_KEPT)])
    for _ in range(choose.integer(1, 3)):
        mutation = choose.choice(TREE_MUTATIONS)
        notebook = mutation(notebook, choose)
        done.append(mutation.__name__)
    text = json.dumps(notebook, ensure_ascii=choose.chance(2))  # escaped or raw: "\ud800" both ways
    if choose.chance(6):
        mutation = choose.choice(TEXT_MUTATIONS)
        done.append(mutation.__name__)
        return " ".join(done), mutation(text, choose)
    return " ".join(done), text.encode("utf-8", "surrogatepass")


# --- the parsed JSON, changed copy-on-write (the bases are shared) -------------------------------------

def _children(value):
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        return list(range(len(value)))
    return []


def _pick_path(notebook, choose):
    """A path to a node: most often in a cell's nbgrader metadata, source or outputs, else anywhere."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    target = choose.integer(0, 5)
    if target <= 3 and isinstance(cells, list) and cells and isinstance(cells[0], dict):
        number = choose.integer(0, len(cells) - 1)
        cell = cells[number]
        prefix = {0: ("metadata", "nbgrader"), 1: ("metadata",), 2: ("outputs",), 3: ()}[target]
        path = ("cells", number)
        node = cell
        for key in prefix:
            if not isinstance(node, dict) or key not in node:
                break
            path, node = (*path, key), node[key]
    else:
        path, node = (), notebook
    for _ in range(choose.integer(0 if path else 1, 4)):  # the whole file is not_a_notebook's
        children = _children(node)
        if not children:
            break
        key = choose.choice(children)
        path, node = (*path, key), node[key]
    return path


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _set(tree, path, change):
    """A copy of ``tree`` with the node at ``path`` replaced by change(node); copies only along the path."""
    if not path:
        return change(tree)
    key, rest = path[0], path[1:]
    copy = list(tree) if isinstance(tree, list) else dict(tree)
    copy[key] = _set(tree[key], rest, change)
    return copy


def swap_value(notebook, choose):
    return _set(notebook, _pick_path(notebook, choose), lambda _: choose.choice(ODD_VALUES))


def swap_type(notebook, choose):
    def other_type(value):
        if isinstance(value, str):
            return choose.choice([[value], len(value), {"text": value}, value.encode("utf-8", "surrogatepass").hex()])
        if isinstance(value, list):
            return choose.choice([dict(enumerate(map(str, value))), json.dumps(value), value[:1] * 3])
        if isinstance(value, dict):
            return choose.choice([list(value.values()), list(value), json.dumps(value)])
        return choose.choice([str(value), [value], {"value": value}, not value])
    return _set(notebook, _pick_path(notebook, choose), other_type)


def remove_key(notebook, choose):
    path = _pick_path(notebook, choose)
    parent = _get(notebook, path[:-1]) if path else None
    if not path or not isinstance(parent, dict):
        return notebook
    return _set(notebook, path[:-1], lambda node: {key: value for key, value in node.items() if key != path[-1]})


def copy_value(notebook, choose):
    """A value put under another key of a dictionary (or appended to a list) along a picked path."""
    source = _get(notebook, _pick_path(notebook, choose))
    path = _pick_path(notebook, choose)
    key = choose.choice([*NBGRADER_KEYS, *CELL_KEYS, "nbgrader", "nbformat"])
    return _set(notebook, path, lambda node: {**node, key: source} if isinstance(node, dict)
                else [*node, source] if isinstance(node, list) else source)


def edit_nbgrader(notebook, choose):
    """One key of one cell's nbgrader metadata set to an odd value (or the metadata itself)."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not cells:
        return notebook
    number = choose.integer(0, len(cells) - 1)

    def edit(cell):
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata"), dict):
            return cell
        nbgrader = cell["metadata"].get("nbgrader", {})
        if choose.chance(5) or not isinstance(nbgrader, dict):
            nbgrader = choose.choice(ODD_VALUES)
        else:
            nbgrader = {**nbgrader, choose.choice(NBGRADER_KEYS): choose.choice(ODD_VALUES)}
        return {**cell, "metadata": {**cell["metadata"], "nbgrader": nbgrader}}
    return _set(notebook, ("cells", number), edit)


def reshuffle_cells(notebook, choose):
    """A cell duplicated, removed, moved or given another cell type."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not cells:
        return notebook
    cells, number = list(cells), choose.integer(0, len(cells) - 1)
    how = choose.integer(0, 3)
    if how == 0:
        cells.insert(choose.integer(0, len(cells)), cells[number])
    elif how == 1:
        del cells[number]
    elif how == 2:
        cells.insert(choose.integer(0, len(cells) - 1), cells.pop(number))
    elif isinstance(cells[number], dict):
        cells[number] = {**cells[number], "cell_type": choose.choice(["code", "markdown", "raw", "heading", "", 3])}
    return dict(notebook, cells=cells)


def nest_deeply(notebook, choose):
    depth = choose.choice([10, 60, 99, 101, 300])  # json.dumps recurses: deeper ones are deep_text
    deep = "x"
    for _ in range(depth):
        deep = [deep] if choose.chance(2) else {"a": deep}
    return _set(notebook, _pick_path(notebook, choose), lambda _: deep)


def change_version(notebook, choose):
    key, values = choose.choice([("nbformat", NBFORMATS), ("nbformat_minor", NBFORMAT_MINORS)])
    return dict(notebook, **{key: choose.choice(values)}) if isinstance(notebook, dict) else notebook


# nbgrader metadata and cells most often: what survives intake there is what later stages read
TREE_MUTATIONS = [edit_nbgrader, reshuffle_cells, edit_nbgrader, swap_value, swap_type, remove_key, copy_value,
                  edit_nbgrader, reshuffle_cells, nest_deeply, change_version]


# --- the file's text ------------------------------------------------------------------------------------

def duplicate_key(text, choose):
    """A key written twice in one object (JSON readers keep the last): the odd value first."""
    key = choose.choice([*NBGRADER_KEYS, *CELL_KEYS, "nbgrader", "nbformat", "cells"])
    position = text.find(f'"{key}": ')
    if position < 0:
        return text.encode("utf-8", "surrogatepass")
    odd = json.dumps(choose.choice(ODD_VALUES))
    return (text[:position] + f'"{key}": {odd}, ' + text[position:]).encode("utf-8", "surrogatepass")


def insert_junk(text, choose):
    data = text.encode("utf-8", "surrogatepass")
    position = choose.integer(0, len(data))
    junk = bytes(choose.integer(0, 255) for _ in range(choose.integer(1, 16)))
    return data[:position] + junk + data[position:]


def cut_short(text, choose):
    data = text.encode("utf-8", "surrogatepass")
    return data[:choose.integer(0, len(data) - 1)]


def byte_order_mark(text, choose):
    return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")


def other_encoding(text, choose):
    return text.encode(choose.choice(["utf-16", "utf-32", "latin-1"]), "replace")


def deep_text(text, choose):
    """Nesting past what a JSON reader can recurse into, as a value of the first object."""
    depth = choose.choice([1000, 5000, 100_000])
    return ('{"deep": ' + "[" * depth + "]" * depth + ", " + text.lstrip()[1:]).encode("utf-8", "surrogatepass")


def not_a_notebook(text, choose):
    return choose.choice([b"", b"null", b"[]", b"{}", b"42", b'"text"', b"\x00" * 64, bytes(range(256)),
                          b'{"cells": "x", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
                          b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', b"NaN",
                          b'{"cells": [{}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}'])


TEXT_MUTATIONS = [duplicate_key, insert_junk, cut_short, byte_order_mark, other_encoding, deep_text, not_a_notebook]
