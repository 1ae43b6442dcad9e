"""A late-work policy, applied from the times a course's export carries.

    policy = LatePolicy(due=parse_time("2026-10-01 23:59 -07:00"), percent_per_day=10, cap_percent=50,
                        grace_minutes=15, base="possible")
    policy.penalty(score=52, possible=60, submitted_at=..., marked_late=False)  -> Penalty(days, percent, points)

A submission is late when it came after the due time plus the grace period; it then loses
``percent_per_day`` for every day or part of a day after the due time, at most ``cap_percent``, and never
more than its score. The percent is of the base: the points possible (``possible``, the default, as
Canvas's own late policy takes it: the same days cost every student the same points, and hand grading
does not change a penalty) or the student's score (``score``: a penalty that grows as hand grades come
in). Times come from Gradescope's ``submission_metadata.yml`` (``:created_at:``), or from a
times file (``student,submitted_at`` rows, for anything else); a Canvas download only marks a file
``LATE`` without its time: such a submission counts one day late unless the times file says when.
"""
import argparse
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.intake.tables import TableError, read_table

TIME_EXAMPLE = "2026-10-01T23:59:00-07:00"
EXPECTED_TIME = f"a date and time in ISO 8601 with its zone, e.g. {TIME_EXAMPLE}"


def parse_time(value):
    """A datetime (aware) from ISO 8601 text ("2026-10-01T23:59:00-07:00", "2026-10-01 23:59 -07:00", a
    trailing Z, or Gradescope's nanoseconds) or from a datetime; a time without a zone is taken as UTC.
    ValueError for anything else."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = " ".join(str(value).strip().replace("Z", "+00:00").split())
        date, _, rest = text.partition(" ") if "T" not in text else (text, "", "")
        if rest:  # "2021-09-02 20:47:54.627618000 -07:00": seconds to microseconds, zone attached
            clock, _, zone = rest.partition(" ")
            whole, dot, fraction = clock.partition(".")
            text = f"{date}T{whole}{dot + fraction[:6] if dot else ''}{zone}"
        parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def read_times(path):
    """{student id: submission time} from the CSV file ``path`` with the columns student and submitted_at
    (rows without a time are left out); TableError (a ValueError) naming the file, line and column of every
    row that is not a student and a time, or repeats a student."""
    table = read_table(path, required=("student", "submitted_at"))
    times, lines, problems = {}, {}, []
    for row in table.rows:
        student, text = row.values["student"].strip(), row.values["submitted_at"].strip()
        if not text:
            continue
        if not student:
            problems.append(f"{table.place(row, 'student')}: empty; expected the student's id")
        elif student in lines:
            problems.append(f"{table.place(row, 'student')}: {student!r} already has a time on line "
                            f"{lines[student]}; keep one")
        else:
            try:
                times[student] = parse_time(text)
            except ValueError:
                problems.append(f"{table.place(row, 'submitted_at')}: {text!r} (student {student!r}) is not "
                                f"{EXPECTED_TIME}")
            lines[student] = row.line
    if problems:
        raise TableError(problems)
    return times


RECORD_FILE = "late_policy.json"  # where ./kit grade records the policy in OUT (autograder/classrun/late_record.py)
BASES = {"possible": "the points possible", "score": "the score"}  # the penalty's base: what its percent is of


@dataclass(frozen=True)
class Penalty:
    """What lateness costs one submission: days (int, days or parts of days after the due time; 0 when on
    time), percent (float, of the policy's base) and points (float, or None while the score it depends on
    is not known: a score base with hand parts still to grade)."""
    days: int
    percent: float
    points: float | None


@dataclass(frozen=True)
class LatePolicy:
    """due (aware datetime); percent_per_day, cap_percent (float, percent of the base); grace_minutes
    (float: later than due by at most this is on time); base (a key of BASES: what the percent is of)."""
    due: datetime
    percent_per_day: float
    cap_percent: float = 100.0
    grace_minutes: float = 0.0
    base: str = "possible"

    def __post_init__(self):
        if self.base not in BASES:
            raise ValueError(f"the late penalty's base is {self.base!r}; expected one of {', '.join(BASES)}")

    def days_late(self, submitted_at, marked_late=False):
        """Days or parts of days after the due time (0 when within the grace period); a submission only
        marked late (no time known) counts one day."""
        if submitted_at is None:
            return 1 if marked_late else 0
        late = submitted_at - self.due
        if late <= timedelta(minutes=self.grace_minutes):
            return 0
        return math.ceil(late / timedelta(days=1))

    def penalty(self, score, possible, submitted_at, marked_late=False):
        """The Penalty of a submission with ``score`` (float, or None while hand parts are still to grade)
        of ``possible`` (float) points; the points lost are at most the score."""
        days = self.days_late(submitted_at, marked_late)
        percent = min(self.cap_percent, days * self.percent_per_day)
        if not percent:
            return Penalty(days, percent, 0)
        base = possible if self.base == "possible" else score
        if base is None:
            return Penalty(days, percent, None)
        points = base * percent / 100
        return Penalty(days, percent, round(points if score is None else min(points, score), 2))

    def describe(self):
        """The policy in one line: 'due ..., 10% of the points possible per day or part of a day, ...'."""
        return (f"due {self.due.isoformat()}, {self.percent_per_day:g}% of {BASES[self.base]} per day or part of "
                f"a day, at most {self.cap_percent:g}% (never more than the score), {self.grace_minutes:g} "
                "minutes' grace")

    def to_json(self):
        return {"due": self.due.isoformat(), "percent_per_day": self.percent_per_day, "cap_percent": self.cap_percent,
                "grace_minutes": self.grace_minutes, "base": self.base}

    @classmethod
    def from_json(cls, data):
        """The policy of ``to_json``'s dict; a record written before the base was an option has none: its
        penalties were of the score, and stay so until the policy is changed on purpose."""
        return cls(parse_time(data["due"]), data["percent_per_day"], data["cap_percent"], data["grace_minutes"],
                   data.get("base", "score"))


def add_arguments(parser):
    """The late policy's options of ./kit grade (each checked as it is read: argparse names the option)."""
    group = parser.add_argument_group("late work (all optional; without --due nothing is late)")
    group.add_argument("--due", type=_due, help=f'due time, ISO 8601 with its zone, e.g. "{TIME_EXAMPLE}"')
    add_rate_arguments(group)
    group.add_argument("--times", type=Path,
                       help="CSV of student,submitted_at: submission times the export does not carry")


def add_rate_arguments(group):
    """The options of a late policy but its due time (an argparse group's): the rate, cap, base and grace."""
    group.add_argument("--late-percent-per-day", type=_number(0, math.inf), default=10.0,
                       help="percent of the base (--late-base) lost per day or part of a day late (default 10)")
    group.add_argument("--late-cap", type=_number(0, 100), default=100.0,
                       help="at most this percent is lost (default 100)")
    group.add_argument("--late-base", choices=BASES, default=LatePolicy.base,
                       help="what the percent is of: possible, the points possible (default, as Canvas's late "
                            "policy: the same for every student, unchanged by hand grading), or score, the "
                            "student's score (grows as hand grades come in)")
    group.add_argument("--grace-minutes", type=_number(0, math.inf), default=0.0,
                       help="this much after the due time is on time")


def _due(text):
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {EXPECTED_TIME}") from None


def _number(low, high):
    """An argparse type: a float from ``low`` to ``high``."""
    def number(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            bound = f"at least {low:g}" if high == math.inf else f"from {low:g} to {high:g}"
            raise argparse.ArgumentTypeError(f"{text!r} is not a number {bound}")
        return value
    return number


def from_arguments(args):
    """The LatePolicy of parsed arguments, or None without --due."""
    if args.due is None:
        return None
    return LatePolicy(args.due, args.late_percent_per_day, args.late_cap, args.grace_minutes, args.late_base)
