"""The grader's verdict on one test cell (``CellVerdict``): every case it ran, public then hidden, which
decides the cell's score (the share of its cases passed), the reason points were lost (grades.csv) and
the summary under the cell in the feedback; and, for a cell that depends on functions other cells judge,
which of them lost points there (``dependency_cause``), named first."""
from dataclasses import dataclass, field
from typing import NamedTuple


class Case(NamedTuple):
    """One case of a test cell, as the grader ran it.

    part: str, "public" or "hidden"
    description: str, what the case tried
    failure: str, why it failed (the check's message; for a hidden case without expected values), or None
    required: bool, the cell earns nothing unless this case passes
    """
    part: str
    description: str
    failure: str | None
    required: bool = False


@dataclass
class CellVerdict:
    """The grader's verdict on one test cell: every case it ran, public then hidden, and whether the
    cell stopped outside any case (then it earns nothing).

    cases: list of Case (or of lists of its fields, as the verdict is stored in JSON)
    stopped: str, why the cell could not go on (e.g. a name it needs is missing), or None
    cause: str, the functions this cell depends on that lost points in their own cells above
        ("probably caused by layer_forward, which failed 3 of 3 of its own cases above"), or None
    """
    cases: list = field(default_factory=list)
    stopped: str = None
    cause: str = None

    def __post_init__(self):
        self.cases = [Case(*case) for case in self.cases]

    @property
    def required_failed(self):
        """The description of the first required case that failed (then the cell earns nothing), or None."""
        return next((case.description for case in self.cases if case.required and case.failure), None)

    @property
    def passed(self):
        return sum(case.failure is None for case in self.cases)

    @property
    def fraction(self):
        """The share of the cell's points earned: the share of its cases passed (0 if it stopped or a
        required case failed)."""
        return 0.0 if self.stopped or self.required_failed or not self.cases else self.passed / len(self.cases)

    def score(self, points, kind=None):
        """The points (float, rounded to 0.01 as nbgrader's gradebook keeps them) earned out of the cell's
        ``points``: by all its cases, or by its ``kind`` ("public" or "hidden") of cases, the hidden ones
        taking the remainder so that the two add up to the cell's score exactly."""
        earned = round(points * self.fraction, 2)
        if kind is None:
            return earned
        public = sum(case.failure is None for case in self.cases if case.part == "public")
        public = round(points * public / len(self.cases), 2) if self.fraction else 0.0
        return public if kind == "public" else round(earned - public, 2)

    def reason(self):
        """One line on why points were lost, or None: the cause (the functions it depends on that lost points
        in their own cells) first, then the first failure, or the required case that failed."""
        reason = self._first_reason()
        return f"{self.cause}; {reason}" if reason and self.cause else reason

    def _first_reason(self):
        failed = [case for case in self.cases if case.failure]
        if self.stopped:
            return self.stopped.splitlines()[0]
        if self.required_failed:
            failed.sort(key=lambda case: case.description != self.required_failed)  # the case that decided first
        if not failed:
            return None
        part, description, failure, _ = failed[0]
        lines = [line.strip() for line in failure.splitlines() if line.strip()]
        cause = next((line for line in lines if line.startswith("Likely cause")), None)
        first = lines[0] if len(lines[0]) <= 240 else lines[0][:240] + "..."
        return f"{len(failed)} of {len(self.cases)} cases failed; {part} case {description[:120]}: {first}" + \
            (f" ({cause[:300]})" if cause else "")

    def summary(self, points):
        """What the feedback shows under the cell: each case passed or failed, with the failure's message
        (which for a hidden case describes it without its expected values). points: float, the cell's."""
        earned = points * self.fraction
        lines = [f"Graded by the grader: {self.passed} of {len(self.cases)} cases passed, "
                 f"{earned:.4g} of {points:g} points"]
        if self.cause and self.fraction < 1:
            lines.append(f"  {self.cause[:1].upper()}{self.cause[1:]}.")
        for case in self.cases:
            lines.append(f"  {'passed' if case.failure is None else 'FAILED'}  {case.part}: {case.description}")
            if case.failure:
                lines += ["            " + line for line in case.failure.splitlines()]
        if self.stopped:
            lines.append(f"  the cell stopped before its end, so it earns no points: {self.stopped}")
        if self.required_failed:
            lines.append(f"  the cell earns no points unless this case passes: {self.required_failed}")
        return "\n".join(lines)


def dependency_cause(judges, verdicts):
    """Why a cell that depends on other cells' functions probably lost points: those of ``judges``
    ({function: grade_id of the test cell that judges it}) whose cell lost points in ``verdicts``
    ({grade_id: CellVerdict}, the cells graded so far), the most failed first; None when none did.

    "probably caused by layer_forward, which failed 3 of 3 of its own cases above"
    """
    by_cell = {}
    for function, grade_id in judges.items():
        verdict = verdicts.get(grade_id)
        if verdict is not None and verdict.fraction < 1:
            by_cell.setdefault(grade_id, []).append(function)
    if not by_cell:
        return None
    parts = []
    for grade_id, functions in sorted(by_cell.items(), key=lambda item: verdicts[item[0]].fraction):
        verdict, names = verdicts[grade_id], ", ".join(functions)
        own = "its" if len(functions) == 1 else "their"
        if verdict.stopped or not verdict.cases:
            parts.append(f"{names}, whose own cell above stopped before its end")
        else:
            parts.append(f"{names}, which failed {len(verdict.cases) - verdict.passed} of {len(verdict.cases)} "
                         f"of {own} own cases above")
    return "probably caused by " + ", and by ".join(parts)
