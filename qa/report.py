"""The bug bank's verdicts and its mutation report, from the grading results of its entries.

A result is ``{grade_id: Loss or None}`` over the master's autograded test cells (``points()``). A mutant is
caught exactly when it loses points in its ``fails`` cells and only those, and the first of them (notebook
order) shows its ``message`` (and any other cell the message its ``messages`` give it); a variant must lose
nothing. One bug, one charge: a cell other than the buggy function's own may lose points only where it depends
on that function (the master model's ``dependencies``, which docs/grading.md describes), and its reason must
then name the function first ("probably caused by ...").
"""
import re
import sys
from collections import namedtuple
from functools import lru_cache

from autograder.assignment import master
from qa.bank import MUTANTS, VARIANTS, Variant

Loss = namedtuple("Loss", ["points", "message"])
Loss.__doc__ = "What a test cell lost: points (float) and why (str: its first failure, as the student reads it)."
BARE_EXCEPTION = re.compile(r"(\d+ of \d+ cases failed; \w+ case [^:]*: )?\w+(Error|Exception): ")  # names no function

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


def own_cells(entry):
    """The test cells that judge the solution cells ``entry`` changes."""
    dependencies = master.read().dependencies
    return {dependencies.owner(solution) for solution in entry.mutations}


def buggy_functions(entry):
    """The functions defined in the solution cells ``entry`` changes."""
    dependencies = master.read().dependencies
    return {function for solution in entry.mutations for function in dependencies.defines(solution)}


def charged_outside(entry, results):
    """(points lost outside the buggy functions' own cells, of which where the cell does not depend on them,
    of which where the reason does not name them first)."""
    dependencies = master.read().dependencies
    outside = {g: loss for g, loss in results.items() if loss and g not in own_cells(entry)}
    undocumented = {g for g in outside if not buggy_functions(entry) & set(dependencies.of(g))}
    unnamed = {g for g, loss in outside.items() if not cause_named(loss.message, buggy_functions(entry))}
    return (sum(loss.points for loss in outside.values()), sum(outside[g].points for g in undocumented),
            sum(outside[g].points for g in unnamed))


def cause_named(message, functions):
    """Whether ``message`` (a cell's reason) starts by naming one of ``functions`` as the probable cause."""
    first = message.splitlines()[0] if message else ""
    return first.startswith("probably caused by ") and any(re.search(rf"\b{f}\b", first) for f in functions)


def message_ok(entry, results):
    """Whether the first failing cell shows the mutant's message, and every cell its ``messages`` name the
    message given for it (True when nothing is expected)."""
    if isinstance(entry, Variant):
        return True
    first = first_failing(failed_cells(results))
    expected = [*([(first, entry.message)] if entry.message else []), *entry.messages.items()]
    return all(results.get(g) is not None and text in results[g].message for g, text in expected)


def report(results, out=sys.stdout):
    """Print the mutation report for {name: {grade_id: Loss or None}}; return the headline."""
    total = sum(points().values())
    width = max(len(n) for n in results) + 2
    lines = ["Mutants (each: the correct solution with one bug); lost: all points lost, outside: lost outside the "
             "buggy function's own cell", f"{'mutant':<{width}}{'lost':>6}{'outside':>8}  {'verdict':<12}{'message':<9} "
             "failed cells"]
    caught = messages = mutant_count = 0
    outside_total = undocumented_total = unnamed_total = 0.0
    for entry in MUTANTS:
        if entry.name not in results:
            continue
        mutant_count += 1
        failed = failed_cells(results[entry.name])
        lost = sum(loss.points for loss in results[entry.name].values() if loss)
        outside, undocumented, unnamed = charged_outside(entry, results[entry.name])
        outside_total, undocumented_total = outside_total + outside, undocumented_total + undocumented
        unnamed_total += unnamed
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
        if unnamed:
            lines.append(f"{'':<{width}}        {unnamed:g} points lost outside its own cell without naming the "
                         "buggy function as the cause")
        if status != "OK":
            expected = ", ".join(g.removeprefix("test_") for g in points() if g in entry.fails) or "-"
            lines.append(f"{'':<{width}}        expected to fail: {expected}")
        first = first_failing(failed | set(entry.fails))
        if first:
            message = (results[entry.name].get(first) or Loss(0, "(passed)")).message.splitlines()
            lines.append(f"{'':<{width}}        {first}: {message[0][:150]}")
            for grade_id in (g for g in points() if g in entry.messages and g != first):
                message = (results[entry.name].get(grade_id) or Loss(0, "(passed)")).message.splitlines()
                lines.append(f"{'':<{width}}        {grade_id}: {message[0][:150]}")
            if not has_message:
                expected = {first: entry.message, **entry.messages}
                lines.append(f"{'':<{width}}        expected the messages {expected!r}")
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
             f"is documented, {unnamed_total:g} without naming it as the cause), {bare} reasons a bare exception")
    lines += ["", f"failing cells show the expected messages: {messages}/{mutant_count}", score]
    print("\n".join(lines), file=out)
    return score
