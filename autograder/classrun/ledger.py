"""The ledger (OUT/results.json): what has been graded, from which file, under which master version,
with what status and reasons, so that an interrupted run resumes where it stopped, an unchanged file
is not graded again, and a new master regrades what was graded under an earlier one. Written
atomically after each entry: an interrupted run never leaves half a ledger.
"""
import json
from pathlib import Path

FILE = "results.json"


class Ledger:
    """{student id: entry}, an entry being a dict: sha256, file, name, status ('graded', 'partial' or
    'error'), reason, reasons ({grade_id: why it lost points}), review (list of str), version,
    seconds, merged_sha256 (the SHA-256 of the file whose grades were last merged into the class
    gradebook: what formgrader showed, and hand grades were given for) and hand_graded (a digest of the
    hand grades the feedback was last made with)."""

    def __init__(self, out):
        self.path = Path(out) / FILE
        self.entries = json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, student):
        """The entry of ``student`` (str), or {} when there is none."""
        return self.entries.get(student, {})

    def record(self, submission, version, status, reason="", reasons=None, seconds=None, review=None):
        """Record ``submission`` (intake.collect.Submission) graded under ``version`` and save. An error
        merges nothing into the class gradebook: the file merged before stays its merged_sha256."""
        merged = self.merged(submission.student_id) if status == "error" else submission.sha256
        self.entries[submission.student_id] = {
            "sha256": submission.sha256, "file": str(submission.path), "name": submission.name,
            "status": status, "reason": reason, "reasons": reasons or {}, "review": review or [], "version": version,
            "seconds": round(seconds, 2) if seconds else None, "merged_sha256": merged}
        self.save()

    def merged(self, student):
        """The SHA-256 (str) of the file of ``student`` whose grades were last merged into the class
        gradebook, or None when none was (a ledger written before merged_sha256 was recorded: the file of a
        graded entry)."""
        entry = self.get(student)
        return entry.get("merged_sha256", entry.get("sha256") if entry.get("status") in ("graded", "partial") else None)

    def mark_hand_graded(self, student, digest):
        """Note that the feedback of ``student`` was made with the hand grades of ``digest`` (str)."""
        self.entries[student]["hand_graded"] = digest

    def save(self):
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        temporary.replace(self.path)
