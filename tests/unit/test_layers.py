"""Which wing of the kit may import which (autograder/__init__.py draws the wings), and no import cycle.

Every import of every module under autograder/ and qa/ is read with ast, those inside functions too: an
import in a function is a dependency all the same, only a later one. hw2.py and hw2_checks.py, the files
released to students, are no wing: any wing may import them, as it may import a library.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KIT = "autograder"  # its subpackages are the wings
OTHER_WINGS = ("qa",)  # top-level packages that are wings of their own
ANY = None  # a wing that may import every other

# wing: (the wings it may import, why)
ALLOWED = {
    "assignment": (set(), "the master model (parts, points, release files, cases) that every wing reads: it "
                          "depends on none of them"),
    "sandbox": (set(), "the kernel launcher and its limits: it knows nothing of the assignment or of grading"),
    "intake": ({"assignment"}, "submissions from folders, zips and downloads, known by the assignment's names"),
    "grading": ({"assignment", "sandbox"}, "the core: one notebook in, graded in a sandboxed kernel against the "
                                           "master's cases, a result out"),
    "outputs": ({"assignment", "intake", "grading"}, "grades.csv, the Canvas CSV and the reports, written from "
                                                     "graded data: of grading, its result types only "
                                                     "(RESULT_TYPES_ONLY), never its machinery"),
    "classrun": ({"assignment", "intake", "grading", "sandbox", "outputs"}, "a class: it schedules the core "
                                                                            "and writes the outputs"),
    "lms": ({"assignment", "intake", "grading", "sandbox", "outputs", "classrun"}, "front-ends (Gradescope, "
                                                                                   "formgrader) that call the core "
                                                                                   "and the class run"),
    "build": ({"assignment", "grading", "intake", "outputs"}, "everything generated from the master, made with "
                                                              "the grader's own pipeline"),
    "qa": (ANY, "the bug bank grades buggy notebooks end to end with every wing; no wing imports it"),
}
# (importer, imported) wings where only classes may be imported by name: from autograder.grading.X import Class
RESULT_TYPES_ONLY = {("outputs", "grading")}



@dataclass(frozen=True)
class Import:
    """One import of a module of the tree: importer and imported (module names), name (str: what ``from
    imported import name`` takes from it, '' for a module as a whole) and line (int)."""
    importer: str
    imported: str
    name: str
    line: int


def modules(root, packages):
    """{module name: path} of every .py file under ``root``/``package`` for ``packages`` (str names)."""
    found = {}
    for package in packages:
        for path in sorted((Path(root) / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(module, path, known):
    """The Imports of ``module`` (at ``path``) of modules in ``known`` (names), at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, "", node.lineno) for alias in node.names if alias.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.append(Import(module, f"{base}.{alias.name}", "", node.lineno))
                elif base in known:
                    found.append(Import(module, base, alias.name, node.lineno))
    return found


def wing_of(module):
    """The wing of a module name: its package under KIT, a wing of OTHER_WINGS, or '' for KIT itself."""
    parts = module.split(".")
    return parts[0] if parts[0] in OTHER_WINGS else (parts[1] if len(parts) > 1 else "")


def classes_of(path):
    return {node.name for node in ast.parse(path.read_text()).body if isinstance(node, ast.ClassDef)}


def forbidden(all_imports, found):
    """[(Import, why)] of the Imports in ``all_imports`` that ALLOWED and RESULT_TYPES_ONLY refuse; ``found``
    is {module: path} of the tree."""
    refused = []
    for each in all_imports:
        importer, imported = wing_of(each.importer), wing_of(each.imported)
        if importer == imported:
            continue
        if importer not in ALLOWED:
            refused.append((each, f"{each.importer} is in no wing of ALLOWED ({importer or KIT + '/__init__'})"))
        elif imported not in ALLOWED:
            refused.append((each, f"{each.imported} is in no wing of ALLOWED"))
        elif ALLOWED[importer][0] is not ANY and imported not in ALLOWED[importer][0]:
            refused.append((each, f"{importer} may not import {imported}: {ALLOWED[importer][1]}"))
        elif (importer, imported) in RESULT_TYPES_ONLY and each.name not in classes_of(found[each.imported]):
            refused.append((each, f"{importer} may import only classes of {imported}, not "
                                  f"{each.name or 'the module ' + each.imported}"))
    return refused


def cycles(all_imports):
    """The import cycles of ``all_imports``: sets of modules that all import each other, directly or not
    (the strongly connected components of the import graph with more than one module)."""
    graph = {}
    for each in all_imports:
        if each.importer != each.imported:
            graph.setdefault(each.importer, set()).add(each.imported)
    reach = {module: _reachable(graph, module) for module in graph}
    components = {frozenset({module} | {other for other in reach[module] if module in reach.get(other, ())})
                  for module in graph}
    return {component for component in components if len(component) > 1}


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for following in graph.get(todo.pop(), ()):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def check(root, packages):
    """(forbidden imports [(Import, why)], cycles {frozenset of modules}) of the packages under ``root``."""
    found = modules(root, packages)
    all_imports = [each for module, path in found.items() for each in imports_of(module, path, found)]
    return forbidden(all_imports, found), cycles(all_imports)


def test_every_wing_imports_only_the_wings_it_may():
    refused, _ = check(REPO, (KIT, *OTHER_WINGS))
    found = [f"{each.importer} line {each.line} imports {each.imported}: {why}" for each, why in refused]
    assert not found, "imports across wings that ALLOWED refuses:\n" + "\n".join(found)


def test_no_import_cycle():
    _, found = check(REPO, (KIT, *OTHER_WINGS))
    assert not found, f"modules that import each other (directly or through others): {[sorted(c) for c in found]}"


def test_the_wings_are_layers():
    """ALLOWED itself has no cycle: no wing may import itself through others, and none may import a wing
    that may import anything."""
    lists = {wing: may for wing, (may, _) in ALLOWED.items() if may is not ANY}
    for wing in lists:
        assert wing not in _reachable(lists, wing), f"{wing} may import itself through others in ALLOWED"
        assert all(ALLOWED[other][0] is not ANY for other in lists[wing]), \
            f"{wing} may import a wing that may import anything"


def _write(root, files):
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def test_the_checker_finds_a_forbidden_import_and_a_cycle(tmp_path):
    """A tiny kit: assignment imports outputs inside a function (forbidden, and a cycle with outputs, which
    imports it back relatively); outputs imports a function of grading (only classes are allowed); qa
    imports everything (allowed)."""
    kit = tmp_path / KIT
    _write(tmp_path, {
        f"{KIT}/__init__.py": "",
        f"{KIT}/assignment/__init__.py": "",
        f"{KIT}/assignment/model.py": f"def main():\n    from {KIT}.outputs import report\n    return report\n",
        f"{KIT}/grading/__init__.py": "",
        f"{KIT}/grading/core.py": "class Verdict:\n    pass\n\n\ndef grade():\n    pass\n",
        f"{KIT}/outputs/__init__.py": "",
        f"{KIT}/outputs/report.py": f"from ..assignment import model\nfrom {KIT}.grading.core import Verdict, grade\n",
        "qa/__init__.py": "",
        "qa/bank.py": f"import {KIT}.outputs.report\nfrom {KIT}.grading import core\n",
    })
    refused, found = check(tmp_path, (KIT, "qa"))
    assert sorted((each.importer, each.imported, each.name, each.line) for each, _ in refused) == [
        (f"{KIT}.assignment.model", f"{KIT}.outputs.report", "", 2),
        (f"{KIT}.outputs.report", f"{KIT}.grading.core", "grade", 2)]
    assert found == {frozenset({f"{KIT}.assignment.model", f"{KIT}.outputs.report"})}
    (kit / "assignment" / "model.py").write_text("def main():\n    return 1\n")
    refused, found = check(tmp_path, (KIT, "qa"))
    assert [each.name for each, _ in refused] == ["grade"] and found == set()
