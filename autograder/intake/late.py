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
import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


def parse_time(value):
    """A datetime (aware) from ISO 8601 text ("2026-10-01T23:59:00-07:00", "2026-10-01 23:59 -07:00", a
    trailing Z, or Gradescope's nanoseconds) or from a datetime; a time without a zone is taken as UTC."""
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
    """{student id: submission time} from a CSV file with the columns student and submitted_at."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    if rows and not {"student", "submitted_at"} <= set(rows[0]):
        raise ValueError(f"{path}: the times file needs the columns student and submitted_at, it has {list(rows[0])}")
    return {row["student"]: parse_time(row["submitted_at"]) for row in rows if row["submitted_at"].strip()}


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
    """The late policy's options of ./kit grade."""
    group = parser.add_argument_group("late work (all optional; without --due nothing is late)")
    group.add_argument("--due", type=parse_time, help='due time, ISO 8601 with its zone, e.g. "2026-10-01T23:59-07:00"')
    group.add_argument("--late-percent-per-day", type=float, default=10.0,
                       help="percent of the total lost per day or part of a day late (default 10)")
    group.add_argument("--late-cap", type=float, default=100.0, help="at most this percent is lost (default 100)")
    group.add_argument("--grace-minutes", type=float, default=0.0, help="this much after the due time is on time")
    group.add_argument("--times", type=Path,
                       help="CSV of student,submitted_at: submission times the export does not carry")


def from_arguments(args):
    """The LatePolicy of parsed arguments, or None without --due."""
    if args.due is None:
        return None
    return LatePolicy(args.due, args.late_percent_per_day, args.late_cap, args.grace_minutes)
