"""The master notebook as the kit reads it: its graded parts in order, their kinds and points, the
headings that announce points, and the version that grades are recorded against.

Every reader of the master (the build, the grader, the report, the bug bank, the tests) goes through
``read()``; the README's points table is written from it (``points_table``) by ``./kit build``.

    python -m autograder.assignment.release     # prints the parts, the points and the version
"""
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from autograder.assignment.dependencies import CodeCell, Dependencies, from_cells

REPO = Path(__file__).resolve().parents[2]
MASTER = REPO / "solutions" / "master.ipynb"
AUTO, WRITTEN, TASK, HAND_CODE = "auto", "written answer", "task", "code graded by hand"
POINTS_IN_TEXT = re.compile(r"\((\d+(?:\.\d+)?) points?\)")
# "**Points** (60 in all): 39 for the autograded checks, 21 for plots and written answers."
IN_ALL = re.compile(r"\((\d+(?:\.\d+)?) (?:points )?in all\)")
SHARE = re.compile(r"(\d+(?:\.\d+)?) (?:points? )?for\b")
SENTENCE_END = re.compile(r"\.(?:\s|$)")
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def split(source):
    """(the part that runs in the kernel, the hidden part) of a test cell's ``source`` (str); hidden
    is '' for a cell without one."""
    if BEGIN not in source:
        return source, ""
    public, rest = source.split(BEGIN, 1)
    hidden, after = rest.split(END, 1) if END in rest else (rest, "")
    return public + after, hidden


def without_ipython_syntax(source):
    """``source`` (str) with its IPython lines (magics, shell escapes), which are not Python, blanked for ast."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


@dataclass(frozen=True)
class Part:
    """One graded cell of the master: grade_id, kind (AUTO, WRITTEN, TASK or HAND_CODE), points
    (float), index (int, its cell's position in the master) and section (str, the heading above it)."""
    grade_id: str
    kind: str
    points: float
    index: int
    section: str

    @property
    def by_hand(self):
        return self.kind != AUTO


@dataclass(frozen=True)
class Master:
    """The master's nbgrader cells: grade_ids (tuple of str, every nbgrader cell in notebook order),
    parts (tuple of Part, the graded ones in notebook order), solutions (tuple of str, the cells
    students write), headings (tuple of (index, text, points announced or None, points of the parts
    below it up to the next heading)), prompts (tuple of (index, text, points announced, points of
    the part it announces: the cell itself when graded, else the next graded cell) for other markdown
    that says "(N points)", such as "**Question (3 points).**"), totals (tuple of (index, text,
    points announced in all, {"auto": points announced for autograded parts, "by hand": for the others})
    for prose that says "(N in all)" and how they split in the same sentence, such as "(60 in all): 39
    for the autograded checks, 21 for plots and written answers", a share counted as autograded when
    what it is for says "autograd") and dependencies (Dependencies: the student functions each test cell
    depends on, and the test cell that judges each function)."""
    grade_ids: tuple
    parts: tuple
    solutions: tuple
    headings: tuple
    prompts: tuple
    totals: tuple
    dependencies: Dependencies

    @property
    def auto(self):
        return tuple(p for p in self.parts if not p.by_hand)

    @property
    def auto_points(self):
        return sum(p.points for p in self.auto)

    @property
    def hand_points(self):
        return sum(p.points for p in self.parts if p.by_hand)

    @property
    def points(self):
        return {p.grade_id: p.points for p in self.parts}

    def part(self, grade_id):
        return next(p for p in self.parts if p.grade_id == grade_id)

    def points_problems(self):
        """Prose whose "(N points)", "(N in all)" or share of them differs from the points of the cells it
        announces (list of str, one sentence each)."""
        return [f"heading {text!r} says {announced:g} points, but the graded cells below it (to the next heading) "
                f"add up to {actual:g}" for _, text, announced, actual in self.headings
                if announced is not None and announced != actual] + [
                f"cell {index} says {announced:g} points ({text!r}), but the graded cell it announces is worth "
                f"{actual:g}" for index, text, announced, actual in self.prompts if announced != actual] + [
                problem for total in self.totals for problem in self._total_problems(*total)]

    def _total_problems(self, index, text, announced, shares):
        """What is wrong with one of ``totals`` (list of str)."""
        actual = {"in all": self.auto_points + self.hand_points, "auto": self.auto_points, "by hand": self.hand_points}
        named = {"auto": "autograded", "by hand": "graded by hand"}
        return ([f"cell {index} says {announced:g} points in all ({text!r}), but the graded cells add up to "
                 f"{actual['in all']:g}"] if announced != actual["in all"] else []) + [
                f"cell {index} says {points:g} points for what is {named[kind]} ({text!r}), but the {named[kind]} "
                f"cells add up to {actual[kind]:g}" for kind, points in shares.items() if points != actual[kind]]


def _kind(cell, nbgrader):
    if nbgrader.get("task"):
        return TASK
    if nbgrader.get("solution"):
        return WRITTEN if cell.cell_type == "markdown" else HAND_CODE
    return AUTO


def from_notebook(notebook):
    """The Master of a notebook (nbformat NotebookNode)."""
    grade_ids, parts, solutions, headings, prompts, unannounced, totals, code = [], [], [], [], [], [], [], []
    section = ""
    for index, cell in enumerate(notebook.cells):
        nbgrader = cell.metadata.get("nbgrader", {})
        graded = nbgrader.get("grade") or nbgrader.get("task")
        if cell.cell_type == "markdown" and not (graded and nbgrader.get("solution")):
            totals += [(index, *total) for total in _totals(cell.source)]
        if cell.cell_type == "code":
            kind = "solution" if nbgrader.get("solution") else "test" if graded else "other"
            code.append(CodeCell(nbgrader.get("grade_id"), kind, cell.source, split(cell.source)[0]))
        if cell.cell_type == "markdown" and cell.source.startswith("#"):
            section = cell.source.splitlines()[0].lstrip("#").strip()
            announced = POINTS_IN_TEXT.search(section)
            headings.append([index, section, float(announced.group(1)) if announced else None, 0.0])
        elif cell.cell_type == "markdown" and not (graded and nbgrader.get("solution")):  # not a student's answer
            announced = POINTS_IN_TEXT.search(cell.source)
            if announced:
                line = next(l for l in cell.source.splitlines() if announced.group(0) in l)
                unannounced.append([index, line.strip()[:80], float(announced.group(1)), None])
        if "grade_id" not in nbgrader:
            continue
        grade_ids.append(nbgrader["grade_id"])
        if nbgrader.get("solution") and not nbgrader.get("grade"):
            solutions.append(nbgrader["grade_id"])
        if nbgrader.get("grade") or nbgrader.get("task"):
            part = Part(nbgrader["grade_id"], _kind(cell, nbgrader), float(nbgrader.get("points", 0)), index, section)
            parts.append(part)
            if headings:
                headings[-1][3] += part.points
            for prompt in unannounced:
                prompt[3] = part.points
                prompts.append(tuple(prompt))
            unannounced = []
    return Master(tuple(grade_ids), tuple(parts), tuple(solutions), tuple(map(tuple, headings)), tuple(prompts),
                  tuple(totals), from_cells(code))


def _totals(source):
    """[(text, points announced in all, {kind: points announced for it})] of markdown ``source`` (str):
    each "(N in all)" with the "M for ..." shares in the rest of its sentence."""
    found = []
    for match in IN_ALL.finditer(source):
        rest = source[match.end():]
        sentence = rest[:end.start()] if (end := SENTENCE_END.search(rest)) else rest
        shares, starts = {}, list(SHARE.finditer(sentence))
        for share, after in zip(starts, [*starts[1:], None]):
            what = sentence[share.end():after.start() if after else None]  # up to the next share
            kind = "auto" if "autograd" in what.lower() else "by hand"
            shares[kind] = shares.get(kind, 0.0) + float(share.group(1))
        line = next(line for line in source.splitlines() if match.group(0) in line)
        found.append((line.strip()[:80], float(match.group(1)), shares))
    return found


@lru_cache(maxsize=8)
def _read(path, modified):
    return from_notebook(nbformat.read(path, as_version=4))


def read(path=MASTER):
    """The Master of the notebook at ``path`` (default: solutions/master.ipynb), read again when it changes."""
    path = Path(path)
    return _read(path, path.stat().st_mtime_ns)


def version(files):
    """The version grades are recorded against: 12 hex digits of a SHA-256 over ``files`` (paths,
    in this order: the master, the hidden reference and the student files), names and contents."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def points_table(master):
    """The README's points table (markdown): one row per heading and kind of grading."""
    rows, seen = [], {}
    for part in master.parts:
        key = (part.section, "auto" if part.kind == AUTO else "by hand")
        seen.setdefault(key, []).append(part)
    for (section, graded), parts in seen.items():
        cells = ", ".join(f"`{p.grade_id}`" for p in parts)
        points = " + ".join(f"{p.points:g}" for p in parts)
        rows.append(f"| {POINTS_IN_TEXT.sub('', section).strip()} | {cells} | {points} | {graded} |")
    total = master.auto_points + master.hand_points
    return "\n".join([f"**{total:g} points**: {master.auto_points:g} autograded, {master.hand_points:g} graded by hand.",
                      "", "| section | cells | points | graded |", "|---|---|---|---|", *rows])
