"""The bug bank's verdicts and its mutation report, from the grading results of its entries.

A result is ``{grade_id: Loss or None}`` over the master's autograded test cells (``points()``). A mutant is
caught exactly when it loses points in its ``fails`` cells and only those, and the first of them (notebook
order) shows its ``message``; a variant must lose nothing. One bug, one charge: a cell other than the buggy
function's own may lose points only where ``DEPENDENCIES`` (and docs/grading.md) name that function.
"""
import ast
import re
import sys
from collections import namedtuple
from functools import lru_cache

from autograder.assignment import master
from qa.bank import MUTANTS, VARIANTS, Variant, master_notebook

Loss = namedtuple("Loss", ["points", "message"])
Loss.__doc__ = "What a test cell lost: points (float) and why (str: its first failure, as the student reads it)."
BARE_EXCEPTION = re.compile(r"(\d+ of \d+ cases failed; \w+ case [^:]*: )?\w+(Error|Exception): ")  # names no function

# The cells that judge more than their own function, and the solution cells whose bugs they may also be
# charged for (docs/grading.md names the same); every other cell is judged with the tests' own parts
# (activations, caches made with fixed activations) for what its function depends on.
TRAINED = {"flatten_images", "sigmoid_activation", "relu_activation", "logistic_loss", "layer_forward",
           "create_weights_and_biases", "forward_pass", "backward_pass", "train_network"}
DEPENDENCIES = {
    "test_backward_pass": {"layer_forward"},  # the caches are the student's own, made by their layer_forward
    "test_nn_finite_difference_checker": {"finite_difference_checker"},  # the checker may call it
    # the student's network on the test batch; and a checker that changes the test batch's weights in place
    # changes the loss the notebook computes after it
    "test_test_batch_loss": {"forward_pass", "layer_forward", "relu_activation", "sigmoid_activation",
                             "logistic_loss", "finite_difference_checker", "my_nn_finite_difference_checker"},
    "test_training": TRAINED,  # the student's whole network, trained
}


@lru_cache(maxsize=None)
def points():
    """{grade_id: points} of the master's autograded (code) test cells, in notebook order."""
    return {part.grade_id: part.points for part in master.read().auto}


def failed_cells(results):
    return {grade_id for grade_id, loss in results.items() if loss}


def first_failing(failed):
    """The first of the grade ids ``failed``, in notebook order (None if none)."""
    return next((g for g in points() if g in failed), None)


def verdict(entry, failed):
    """'OK', 'NOT CAUGHT' or 'WRONG CELLS' for a mutant; 'OK' or 'LOST POINTS' for a variant."""
    failed = set(failed)
    if isinstance(entry, Variant):
        return "OK" if not failed else "LOST POINTS"
    if failed == set(entry.fails):
        return "OK"
    return "NOT CAUGHT" if not failed and entry.fails else "WRONG CELLS"


def own_cells():
    """{solution cell: the test cell that judges its functions}: the one whose Cases(...) names a function
    the solution cell defines, else the first test cell after it (a cell that defines no function)."""
    cells = master_notebook().cells
    judged = {}  # test cell: the functions its Cases(...) names
    for cell in cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbgrader.get("grade"):
            named = re.search(r"Cases\(\"([^\"]*)\"\)", cell.source)
            judged[nbgrader["grade_id"]] = set(named.group(1).split(", ")) if named else set()
    owner = {}
    for index, cell in enumerate(cells):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbgrader.get("solution"):
            defined = {node.name for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)}
            after = [c.metadata["nbgrader"]["grade_id"] for c in cells[index + 1:]
                     if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
            owner[nbgrader["grade_id"]] = next((g for g, functions in judged.items() if functions & defined),
                                               after[0] if after else None)
    return owner


def charged_outside(entry, results):
    """(points lost outside the buggy functions' own cells, of which where no dependency is documented)."""
    own = {own_cells()[solution] for solution in entry.mutations}
    outside = {g: loss.points for g, loss in results.items() if loss and g not in own}
    undocumented = {g: p for g, p in outside.items()
                    if not any(solution in DEPENDENCIES.get(g, ()) for solution in entry.mutations)}
    return sum(outside.values()), sum(undocumented.values())


def message_ok(entry, results):
    """Whether the first failing cell shows the mutant's message (True when nothing is expected)."""
    if isinstance(entry, Variant) or not entry.message:
        return True
    first = first_failing(failed_cells(results))
    return first is not None and entry.message in results[first].message


def report(results, out=sys.stdout):
    """Print the mutation report for {name: {grade_id: Loss or None}}; return the headline."""
    total = sum(points().values())
    width = max(len(n) for n in results) + 2
    lines = ["Mutants (each: the correct solution with one bug); lost: all points lost, outside: lost outside the "
             "buggy function's own cell", f"{'mutant':<{width}}{'lost':>6}{'outside':>8}  {'verdict':<12}{'message':<9} "
             "failed cells"]
    caught = messages = mutant_count = 0
    outside_total = undocumented_total = 0.0
    for entry in MUTANTS:
        if entry.name not in results:
            continue
        mutant_count += 1
        failed = failed_cells(results[entry.name])
        lost = sum(loss.points for loss in results[entry.name].values() if loss)
        outside, undocumented = charged_outside(entry, results[entry.name])
        outside_total, undocumented_total = outside_total + outside, undocumented_total + undocumented
        status = verdict(entry, failed)
        caught += status == "OK"
        has_message = message_ok(entry, results[entry.name])
        messages += has_message
        shown = ", ".join(f"{g.removeprefix('test_')} {-results[entry.name][g].points:g}" for g in points()
                          if g in failed) or "-"
        lines.append(f"{entry.name:<{width}}{lost:>6g}{outside:>8g}  {status:<12}{'ok' if has_message else 'WRONG':<9} "
                     f"{shown}")
        if undocumented:
            lines.append(f"{'':<{width}}        {undocumented:g} points lost where no dependency is documented")
        if status != "OK":
            expected = ", ".join(g.removeprefix("test_") for g in points() if g in entry.fails) or "-"
            lines.append(f"{'':<{width}}        expected to fail: {expected}")
        first = first_failing(failed | set(entry.fails))
        if first:
            message = (results[entry.name].get(first) or Loss(0, "(passed)")).message.splitlines()
            lines.append(f"{'':<{width}}        {first}: {message[0][:150]}")
            if not has_message:
                lines.append(f"{'':<{width}}        expected the message {entry.message!r}")
    lines += ["", "Variants (correct solutions written differently)", f"{'variant':<{width}}{'kept':>6}  verdict"]
    full = variant_count = 0
    for entry in VARIANTS:
        if entry.name not in results:
            continue
        variant_count += 1
        failed = failed_cells(results[entry.name])
        kept = total - sum(loss.points for loss in results[entry.name].values() if loss)
        status = verdict(entry, failed)
        full += status == "OK"
        lines.append(f"{entry.name:<{width}}{kept:>6g}  {status}")
        for grade_id in (g for g in points() if g in failed):
            lines.append(f"{'':<{width}}        {grade_id}: {results[entry.name][grade_id].message.splitlines()[0][:150]}")
    bare = sum(bool(BARE_EXCEPTION.match(loss.message)) for entries in results.values() for loss in entries.values()
               if loss)
    score = (f"{caught}/{mutant_count} mutants caught exactly, {full}/{variant_count} variants at full marks, "
             f"{outside_total:g} points lost outside the buggy function ({undocumented_total:g} where no dependency "
             f"is documented), {bare} reasons a bare exception")
    lines += ["", f"first failing cell shows the expected message: {messages}/{mutant_count}", score]
    print("\n".join(lines), file=out)
    return score
