"""What grading one notebook gives: a result bundle, serialisable as bytes so that it can travel from
the process (or machine) that graded to the one that records (only that one writes the class course,
the gradebook and the ledger).
"""
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field

from autograder.grading.preprocessors import KERNEL_DIED, TIME_BUDGET

SUMMARY = "result.json"
GRADEBOOK = "gradebook.db"


@dataclass
class ResultBundle:
    """One graded submission.

    student: str, the student id it was graded as
    version: str, the master version it was graded under (autograder.assignment.release.master_version)
    success: bool, nbgrader's autograde ran to the end (else ``error`` says why, and the rest is empty)
    error: str, why it could not be graded (a reason for grades.csv)
    log: str, the end of nbgrader's log when it failed
    reasons: dict {grade_id: str}, why each part lost points
    verdicts: dict {grade_id: CellVerdict as a dict}, every case of every test cell as the grader decided it
    missing: dict {grade_id: [cell ids]}, the graded parts whose cells the submission lacks
    review: list of str, signs of tampering for a person to look at
    files: dict {str: bytes}, the notebooks graded: "submitted.ipynb", "autograded.ipynb" and "feedback.html"
        (when feedback was made)
    gradebook: bytes, the private SQLite gradebook holding this submission's scores and comments
    seconds: float, wall time of the grading
    """
    student: str
    version: str
    success: bool = False
    error: str = ""
    log: str = ""
    reasons: dict = field(default_factory=dict)
    verdicts: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    review: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    gradebook: bytes = b""
    seconds: float = 0.0

    @property
    def crashed(self):
        """bool: a cell killed the kernel or the submission ran out of time (the status is 'partial')."""
        return any(stopped in reason for reason in self.reasons.values() for stopped in (KERNEL_DIED, TIME_BUDGET))

    def to_bytes(self):
        """The bundle as the bytes of a zip: result.json, the files, and the gradebook."""
        summary = {key: value for key, value in asdict(self).items() if key not in ("files", "gradebook")}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(SUMMARY, json.dumps(summary))
            for name, content in self.files.items():
                archive.writestr(f"files/{name}", content)
            if self.gradebook:
                archive.writestr(GRADEBOOK, self.gradebook)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data):
        """The bundle ``data`` (bytes from to_bytes) holds."""
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            summary = json.loads(archive.read(SUMMARY))
            files = {name.removeprefix("files/"): archive.read(name) for name in names if name.startswith("files/")}
            gradebook = archive.read(GRADEBOOK) if GRADEBOOK in names else b""
        return cls(**summary, files=files, gradebook=gradebook)
