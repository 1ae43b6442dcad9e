"""The late policy recorded with the grades (OUT/late_policy.json): given once, it is applied by every
later run on the same OUT, a regrade request included, so that no run drops it silently; another
policy replaces it only with --change-late-policy, and every run prints the policy in force.

The record keeps the policy's fields (due time, rate, cap, grace and the penalty's base, which a
feedback page can read there too) and the submission times the times file gave (and the file's name
and SHA-256), so a later run needs neither the options nor the file again.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake.late import RECORD_FILE, LatePolicy, parse_time

FILE = RECORD_FILE


@dataclass(frozen=True)
class RecordedPolicy:
    """policy: intake.late.LatePolicy or None (times kept, nothing late); times: {student: aware
    datetime} from the times file; times_file: str, where they came from ('' for none);
    times_sha256: str, that file's SHA-256 when it was read."""
    policy: LatePolicy | None
    times: dict = field(default_factory=dict)
    times_file: str = ""
    times_sha256: str = ""

    def describe(self):
        """One line for the terminal: the policy in force."""
        if self.policy is None:
            return "late policy: none (nothing is late)"
        times = (f"; times of {len(self.times)} students from {self.times_file} (sha256 {self.times_sha256[:12]})"
                 if self.times_file else "")
        return f"late policy: {self.policy.describe()}{times}"

    def gaps(self, submissions):
        """(students of ``submissions`` (intake Submissions) with no submission time, who count as on
        time; students the times file names who have no submission), each a sorted list of str."""
        if self.policy is None:
            return [], []
        students = {s.student_id for s in submissions}
        without = sorted(s.student_id for s in submissions
                         if s.student_id not in self.times and s.submitted_at is None and not s.marked_late)
        return without, sorted(set(self.times) - students)

    def times_from_before(self, students, before):
        """Those of ``students`` (str: they sent a new file) whose time is still the one the times file gave
        for their earlier file: the times in force are those of ``before`` (the RecordedPolicy recorded
        before this run, or None). A sorted list of str."""
        if self.policy is None or before is None or self.times != before.times:
            return []
        return sorted(student for student in students if student in self.times)

    def to_json(self):
        return {"policy": None if self.policy is None else self.policy.to_json(),
                "times": {student: time.isoformat() for student, time in sorted(self.times.items())},
                "times_file": self.times_file, "times_sha256": self.times_sha256}

    @classmethod
    def from_json(cls, data):
        policy = data.get("policy")
        return cls(policy=None if policy is None else LatePolicy.from_json(policy),
                   times={student: parse_time(time) for student, time in data.get("times", {}).items()},
                   times_file=data.get("times_file", ""), times_sha256=data.get("times_sha256", ""))


def given(policy, times, times_file):
    """The RecordedPolicy this command's options give: ``policy`` (LatePolicy or None), ``times``
    ({student: datetime}) read from ``times_file`` (Path or None); None when neither was given."""
    if policy is None and times_file is None:
        return None
    digest = hashlib.sha256(Path(times_file).read_bytes()).hexdigest() if times_file else ""
    return RecordedPolicy(policy, dict(times), str(times_file) if times_file else "", digest)


def read(out):
    """The RecordedPolicy recorded in ``out`` (Path), or None."""
    path = Path(out) / FILE
    return RecordedPolicy.from_json(json.loads(path.read_text())) if path.exists() else None


class PolicyConflict(ValueError):
    """The options give another late policy than the one recorded, without --change-late-policy."""


def settle(out, options_policy, change=False):
    """The RecordedPolicy in force for the run on ``out`` (Path), and the one it replaces (or None):
    the recorded one unless the options give another (``options_policy``: from ``given``), which
    replaces it only with ``change``; with ``change`` and no options, the policy is removed. The
    record is written when it changes. Raises PolicyConflict when options and record disagree."""
    path = Path(out) / FILE
    recorded = read(out)
    if options_policy is None and not change:
        return recorded, None
    if recorded is not None and options_policy != recorded and not change:
        raise PolicyConflict(
            f"{path} already holds another {recorded.describe()}; these options give another "
            f"({options_policy.describe().removeprefix('late policy: ')}). Repeat the command with "
            "--change-late-policy to replace it (the students whose final score changes are listed), or "
            "leave the late options out to keep it")
    if options_policy is None:  # --change-late-policy alone: no late policy any more
        path.unlink(missing_ok=True)
        return None, recorded
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(options_policy.to_json(), indent=1))
    return options_policy, (recorded if recorded != options_policy else None)
