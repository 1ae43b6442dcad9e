"""A late-work policy, applied from the times a course's export carries.

    policy = LatePolicy(due=parse_time("2026-10-01 23:59 -07:00"), percent_per_day=10, cap_percent=50,
                        grace_minutes=15)
    policy.penalty(total=52, submitted_at=..., marked_late=False)    -> Penalty(days, percent, points)

A submission is late when it came after the due time plus the grace period; it then loses
``percent_per_day`` of its total for every day or part of a day after the due time, at most
``cap_percent``. Times come from Gradescope's ``submission_metadata.yml`` (``:created_at:``), or from a
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


@dataclass(frozen=True)
class Penalty:
    """What lateness costs one submission: days (int, days or parts of days after the due time; 0 when on
    time), percent (float, of the total) and points (float)."""
    days: int
    percent: float
    points: float


@dataclass(frozen=True)
class LatePolicy:
    """due (aware datetime); percent_per_day, cap_percent (float, percent of the total); grace_minutes
    (float: later than due by at most this is on time)."""
    due: datetime
    percent_per_day: float
    cap_percent: float = 100.0
    grace_minutes: float = 0.0

    def days_late(self, submitted_at, marked_late=False):
        """Days or parts of days after the due time (0 when within the grace period); a submission only
        marked late (no time known) counts one day."""
        if submitted_at is None:
            return 1 if marked_late else 0
        late = submitted_at - self.due
        if late <= timedelta(minutes=self.grace_minutes):
            return 0
        return math.ceil(late / timedelta(days=1))

    def penalty(self, total, submitted_at, marked_late=False):
        days = self.days_late(submitted_at, marked_late)
        percent = min(self.cap_percent, days * self.percent_per_day)
        return Penalty(days, percent, round(total * percent / 100, 2))


def add_arguments(parser):
    """The late policy's options of ./kit grade (each checked as it is read: argparse names the option)."""
    group = parser.add_argument_group("late work (all optional; without --due nothing is late)")
    group.add_argument("--due", type=_due, help=f'due time, ISO 8601 with its zone, e.g. "{TIME_EXAMPLE}"')
    group.add_argument("--late-percent-per-day", type=_number(0, math.inf), default=10.0,
                       help="percent of the total lost per day or part of a day late (default 10)")
    group.add_argument("--late-cap", type=_number(0, 100), default=100.0,
                       help="at most this percent is lost (default 100)")
    group.add_argument("--grace-minutes", type=_number(0, math.inf), default=0.0,
                       help="this much after the due time is on time")
    group.add_argument("--times", type=Path,
                       help="CSV of student,submitted_at: submission times the export does not carry")


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
    return LatePolicy(args.due, args.late_percent_per_day, args.late_cap, args.grace_minutes)
