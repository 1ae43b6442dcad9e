"""The ledger (OUT/results.json): what has been graded, from which file, under which master version,
with what status and reasons, so that an interrupted run resumes where it stopped, an unchanged file
is not graded again, and a new master regrades what was graded under an earlier one.

Each entry is appended as it is recorded to OUT/results.journal, one JSON line, and results.json is
written whole (atomically: a new file renamed over the old) at most every SAVE_SECONDS and when the run
ends, then the journal emptied: recording stays as cheap for the 10,000th student as for the first (the
whole ledger written after every entry cost the coordinator O(N) each). Reading replays the journal over
results.json; a last line cut short by a crash is left out (that student is graded again).
"""
import json
import time
from pathlib import Path

FILE = "results.json"
JOURNAL = "results.journal"  # the entries recorded since results.json was last written whole
SAVE_SECONDS = 10.0


class Ledger:
    """{student id: entry}, an entry being a dict: sha256, file, name, status ('graded', 'partial' or
    'error'), reason, reasons ({grade_id: why it lost points}), review (list of str), version,
    seconds, merged_sha256 (the SHA-256 of the file whose grades were last merged into the class
    gradebook: what formgrader showed, and hand grades were given for) and hand_graded (a digest of the
    hand grades the feedback was last made with)."""

    def __init__(self, out):
        self.path, self.journal = Path(out) / FILE, Path(out) / JOURNAL
        self.entries = json.loads(self.path.read_text()) if self.path.exists() else {}
        if self.journal.exists():
            for line in self.journal.read_text().splitlines():
                try:
                    student, entry = json.loads(line)
                except ValueError:  # cut short by a crash
                    continue
                self.entries[student] = entry
        self._saved = time.monotonic()

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
        with open(self.journal, "a") as journal:
            journal.write(json.dumps([submission.student_id, self.entries[submission.student_id]]) + "\n")
        if time.monotonic() - self._saved > SAVE_SECONDS:
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
        """Write results.json whole, then empty the journal (every entry it held is in results.json)."""
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        temporary.replace(self.path)
        self.journal.unlink(missing_ok=True)
        self._saved = time.monotonic()
