"""Which student functions each test cell of the master depends on, and which test cell judges each
function, read from the master's code (``Dependencies``): the one place where a cell's dependencies are
declared is the code of the master itself, so a new question needs no table.

A test cell depends on the student functions its code names (directly, or through what the cells above
it made: ``history`` depends on every function ``train_network`` was given and calls) and on those they
call, except the functions it replaces by the reference's or the tests' own (``alone(f, "layer_forward",
backward_pass=...)``). A call of a student function in a cell outside the test cells counts as a change
of the variables it is given (a function that changes its arguments in place changes them for every cell
below: the network checker run on the test batch's weights). The grader names, in a cell that lost
points, those of its dependencies that lost points in their own cells (autograder.grading.verdict); the
bug bank checks that a bug costs points outside its own cell only where a dependency explains it.
"""
import ast
import re
from dataclasses import dataclass
from typing import NamedTuple

CASES_NAME = re.compile(r"Cases\(\"([^\"]*)\"\)")


@dataclass(frozen=True)
class Dependencies:
    """owners: ((solution cell's grade_id, grade_id of the test cell that judges it), ...); defined_in:
    ((function, solution cell's grade_id), ...) for every function a solution cell defines; uses: ((test
    cell's grade_id, (function, ...)), ...): the student functions each test cell depends on, its own
    included. All in notebook order."""
    owners: tuple
    defined_in: tuple
    uses: tuple

    def owner(self, solution):
        """The grade_id of the test cell that judges solution cell ``solution`` (None if none does)."""
        return dict(self.owners).get(solution)

    def defines(self, solution):
        """The functions solution cell ``solution`` defines (a tuple)."""
        return tuple(function for function, cell in self.defined_in if cell == solution)

    def judge(self, function):
        """The grade_id of the test cell that judges ``function`` (None for an unknown name)."""
        return self.owner(dict(self.defined_in).get(function))

    def of(self, grade_id):
        """{function: the test cell that judges it} for the functions test cell ``grade_id`` depends on that
        another cell judges, in notebook order ({} for a cell that depends on none, or an unknown cell)."""
        return {function: self.judge(function) for function in dict(self.uses).get(grade_id, ())
                if self.judge(function) not in (None, grade_id)}


def _code(source):
    """``source`` with its IPython lines blanked, parsed (ast.Module; empty for code that is not Python, which
    release.check_master reports)."""
    try:
        return ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                                   for line in source.splitlines()))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _loaded(node, bound=frozenset()):
    """The names ``node`` reads from outside: in the functions and comprehensions it holds, not their
    arguments, loop variables and locals."""
    if isinstance(node, SCOPES):
        bound = bound | {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)} | \
            {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) and node.id not in bound else set()
    return set().union(*(_loaded(child, bound) for child in ast.iter_child_nodes(node)))


def _stored(statement):
    """The names a top-level statement binds (not those local to the functions or classes it defines)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    return {n.id for n in _outside_definitions(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _outside_definitions(node):
    """The nodes under ``node`` that run when it runs: not the bodies of the functions and lambdas it defines."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                stack.append(child)


def _replaced(module):
    """The names a test cell replaces through ``alone(function, "name", ..., name=...)``."""
    replaced = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "alone":
            replaced |= {a.value for a in node.args[1:] if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            replaced |= {keyword.arg for keyword in node.keywords if keyword.arg}
    return replaced


class CodeCell(NamedTuple):
    """A code cell of the master: grade_id (str or None), kind ("solution", "test" or "other"), source (str,
    all of it) and public (str: what the student's kernel runs; a test cell's hidden tests are not in it)."""
    grade_id: str
    kind: str
    source: str
    public: str


def _own_cells(cells):
    """{solution cell's grade_id: the test cell that judges its functions}: the one whose Cases(...) names a
    function the solution cell defines, else the first test cell after it (a cell that defines no function)."""
    judged = {}  # test cell: the functions its Cases(...) names
    for cell in cells:
        if cell.kind == "test":
            named = CASES_NAME.search(cell.source)
            judged[cell.grade_id] = set(named.group(1).split(", ")) if named else set()
    owner = {}
    for index, cell in enumerate(cells):
        if cell.kind == "solution":
            defined = {node.name for node in _code(cell.source).body if isinstance(node, ast.FunctionDef)}
            after = [later.grade_id for later in cells[index + 1:] if later.kind == "test"]
            owner[cell.grade_id] = next((g for g, functions in judged.items() if functions & defined),
                                        after[0] if after else None)
    return owner


def _made_from(names, made_from):
    """The student functions that the values of ``names`` were made with."""
    return set().union(*(made_from.get(name, set()) for name in names))


def from_cells(cells):
    """The Dependencies of a notebook's code cells (CodeCell, in notebook order)."""
    owners = _own_cells(cells)
    calls = {}  # student function: the names its body loads
    defined_in = {}
    made_from = {}  # a name in the kernel: the student functions it was made with (or changed by)
    uses = []
    for cell in cells:
        if cell.kind == "test":
            module = _code(cell.source)
            own_names = set().union(*(_stored(statement) for statement in module.body))
            uses.append((cell.grade_id, _closure(_made_from(_loaded(module) - own_names, made_from), calls,
                                                 _replaced(module))))
        for statement in _code(cell.public).body:
            if cell.kind == "solution" and isinstance(statement, ast.FunctionDef):
                calls[statement.name] = _loaded(statement)
                defined_in[statement.name] = cell.grade_id
                made_from[statement.name] = {statement.name}
                continue
            roots = _made_from(_loaded(statement), made_from)
            for name in _stored(statement):
                made_from[name] = roots
            if cell.kind == "test":
                continue  # a test cell checks itself that the functions it calls leave their arguments unchanged
            for call in (n for n in _outside_definitions(statement) if isinstance(n, ast.Call)):
                if getattr(call.func, "id", None) in calls:
                    for argument in (a for a in call.args if isinstance(a, ast.Name)):
                        made_from[argument.id] = made_from.get(argument.id, set()) | {call.func.id}
    order = list(calls)
    return Dependencies(tuple(owners.items()), tuple(defined_in.items()),
                        tuple((grade_id, tuple(sorted(functions, key=order.index))) for grade_id, functions in uses))


def _closure(roots, calls, replaced):
    """The student functions among ``roots`` and every student function they call, not through ``replaced``."""
    found, stack = set(), [r for r in roots if r not in replaced]
    while stack:
        function = stack.pop()
        if function in found:
            continue
        found.add(function)
        stack += [name for name in calls.get(function, ()) if name in calls and name not in replaced]
    return found
