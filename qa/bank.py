"""The bug bank's entries, read from one YAML file per entry: mutants in qa/mutants/, variants in qa/variants/.

A file is named ``NN-name.yaml``: NN (a number) puts the entry in its place in the report. It holds

    name          the entry's name, as in the file's name
    description   what the bug (or the correct variant) does
    mutations     {solution cell's grade_id: [{find: text, replace: text}, ...]}: text replacements in the
                  master's solution code as ``completed()`` fills it into the student notebook (without the
                  ``### BEGIN/END SOLUTION`` lines), applied in order; each ``find`` occurs exactly once
    fails         (mutants) the grade cells that must lose points, and only those; [] if none should
    message       (mutants, when fails is not empty) what the first failing cell, in notebook order, must say
    messages      (mutants, optional) {grade_id of another cell in fails: what it must say}, e.g. an outcome
                  cell naming the function that caused its loss ("probably caused by layer_forward")

Reading a file checks all of this against the current master and raises ``BankFileError``, naming the
file, for an unknown or missing field, a field of the wrong type, or a ``find`` that is not in the
master's code exactly once.
"""
import dataclasses
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import yaml

from autograder.assignment import release
from autograder.build.examples import SOLUTION_MARKERS

MUTANTS_FOLDER = Path(__file__).parent / "mutants"
VARIANTS_FOLDER = Path(__file__).parent / "variants"
FILE_NAME = re.compile(r"(?P<number>\d+)-(?P<name>\w+)\.yaml")


@dataclass(frozen=True)
class Mutant:
    """One realistic student bug: the master's solution with ``mutations`` ({grade_id: [(find, replace), ...]}),
    which must lose points in exactly the grade cells ``fails``, show ``message`` in the first of them and
    ``messages`` ({grade_id: text}) in the others it names."""
    name: str
    description: str
    mutations: dict
    fails: frozenset
    message: str = ""
    messages: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """A correct solution written differently (``mutations`` as a Mutant's): it must keep every point."""
    name: str
    description: str
    mutations: dict


class BankFileError(ValueError):
    """A bank file that cannot be used; the message starts with the file's path."""


@lru_cache(maxsize=None)
def master_notebook():
    """solutions/master.ipynb (nbformat NotebookNode), read once."""
    return nbformat.read(release.MASTER, as_version=4)


@lru_cache(maxsize=None)
def solution_code():
    """{grade_id: source} of the master's solution cells as ``completed()`` fills them in."""
    return {cell.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", cell.source)
            for cell in master_notebook().cells if cell.metadata.get("nbgrader", {}).get("solution")}


def _is_text_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _field_problems(data, kind, file_name):
    """What is wrong with the fields of ``data`` (a file's YAML) for a ``kind`` entry (list of str)."""
    if not isinstance(data, dict):
        return ["expected a mapping of fields (name, description, mutations, ...)"]
    fields = {f.name: f for f in dataclasses.fields(kind)}
    required = [name for name, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    problems = [f"unknown field {key!r} (a {kind.__name__} has {', '.join(fields)})" for key in data if key not in fields]
    problems += [f"missing field {name!r}" for name in required if name not in data]
    problems += [f"{name!r} must be text" for name in ("name", "description", "message")
                 if name in data and not isinstance(data[name], str)]
    if "name" in data and data["name"] != file_name:
        problems.append(f"name {data['name']!r} differs from the file's name ({file_name!r})")
    if "fails" in data:
        if not _is_text_list(data["fails"]):
            problems.append("'fails' must be a list of grade ids")
        elif data["fails"] and not data.get("message"):
            problems.append("a mutant that fails cells needs a 'message' (what the student reads)")
    if "messages" in data:
        messages = data["messages"]
        if not (isinstance(messages, dict) and all(isinstance(v, str) for v in messages.values())):
            problems.append("'messages' must map grade ids to text")
        elif _is_text_list(data.get("fails")) and set(messages) - set(data["fails"]):
            problems.append(f"'messages' names cells that are not in 'fails': {sorted(set(messages) - set(data['fails']))}")
    mutations = data.get("mutations")
    if "mutations" in data and not (isinstance(mutations, dict) and mutations):
        problems.append("'mutations' must map solution cells' grade ids to lists of {find, replace}")
    elif mutations:
        for grade_id, replacements in mutations.items():
            if not (isinstance(replacements, list) and replacements and all(
                    isinstance(r, dict) and r.keys() == {"find", "replace"} and _is_text_list(list(r.values()))
                    for r in replacements)):
                problems.append(f"mutations of {grade_id!r} must be a list of {{find: text, replace: text}}")
    return problems


def _mutation_problems(mutations):
    """Where {grade_id: [(find, replace), ...]} does not apply to the master's solution code (list of str)."""
    problems = []
    for grade_id, replacements in mutations.items():
        if grade_id not in solution_code():
            problems.append(f"{grade_id!r} is not a solution cell of the master")
            continue
        code = solution_code()[grade_id]
        for number, (find, replace) in enumerate(replacements, 1):
            found = code.count(find)
            if found != 1:
                problems.append(f"mutation {number} of {grade_id}: {find!r} occurs {found} times in the master's "
                                "code (after the mutations before it); it must occur exactly once")
            code = code.replace(find, replace)
    return problems


def _file_name(path):
    """The match of FILE_NAME for ``path``'s name: its number and its entry's name."""
    match = FILE_NAME.fullmatch(path.name)
    if not match:
        raise BankFileError(f"{path}: a bank file is named NN-name.yaml (NN a number; name letters, digits and _)")
    return match


def read_entry(path, kind):
    """The ``kind`` (Mutant or Variant) that the YAML file at ``path`` holds, checked against the master."""
    path = Path(path)
    file_name = _file_name(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise BankFileError(f"{path}: not valid YAML: {error}") from None
    problems = _field_problems(data, kind, file_name["name"])
    if not problems:
        data["mutations"] = {grade_id: [(r["find"], r["replace"]) for r in replacements]
                             for grade_id, replacements in data["mutations"].items()}
        problems = _mutation_problems(data["mutations"])
    if problems:
        raise BankFileError(f"{path}: " + "; ".join(problems))
    if kind is Mutant:
        data["fails"] = frozenset(data["fails"])
    return kind(**data)


def load(folder, kind):
    """The ``kind`` entries of every file in ``folder``, in the order of the numbers their names start with."""
    paths = [path for path in Path(folder).iterdir() if not path.name.startswith(".")]
    paths.sort(key=lambda path: (int(_file_name(path)["number"]), path.name))
    return [read_entry(path, kind) for path in paths]


MUTANTS = load(MUTANTS_FOLDER, Mutant)
VARIANTS = load(VARIANTS_FOLDER, Variant)
BY_NAME = {entry.name: entry for entry in MUTANTS + VARIANTS}
