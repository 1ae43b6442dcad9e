"""The grader's verdict on one test cell (``CellVerdict``): every case it ran, public then hidden, which
decides the cell's score (the share of its cases passed), the reason points were lost (grades.csv) and
the summary under the cell in the feedback."""
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
    """
    cases: list = field(default_factory=list)
    stopped: str = None

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
        """One line on why points were lost (the first failure, or the required case that failed), or None."""
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
        for case in self.cases:
            lines.append(f"  {'passed' if case.failure is None else 'FAILED'}  {case.part}: {case.description}")
            if case.failure:
                lines += ["            " + line for line in case.failure.splitlines()]
        if self.stopped:
            lines.append(f"  the cell stopped before its end, so it earns no points: {self.stopped}")
        if self.required_failed:
            lines.append(f"  the cell earns no points unless this case passes: {self.required_failed}")
        return "\n".join(lines)
