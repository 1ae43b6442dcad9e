"""Find the submissions in what a course collected, and check each before grading.

Accepted layouts (a folder, or a zip of one):
    <dir>/<student>.ipynb                    one notebook per student
    <dir>/<student>/assignment.ipynb         one folder per student
    Canvas download zip                      <name>_[LATE_]<user id>_<submission id>_assignment[-N].ipynb
    Gradescope export zip                    submission_<id>/assignment.ipynb (+ submission_metadata.yml)
"""
import dataclasses
import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

from autograder.intake import validate
from autograder.intake.late import parse_time

NOTEBOOK_NAME = "assignment.ipynb"
MAX_NOTEBOOK_MB = 20
MAX_ZIP_MB = 2000
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")  # fullmatch: "$" lets a final newline pass
CANVAS_NAME = re.compile(r"^(?P<name>[^_]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
CANVAS_NOTEBOOK = re.compile(r"^assignment(-\d+)?\.ipynb$")


@dataclass(frozen=True)
class Submission:
    """One student's submission: where it is, and why it cannot be graded (if it cannot)."""
    student_id: str
    path: Path
    name: str = ""
    problem: str = ""
    note: str = ""  # graded, with something the instructor should know (e.g. the file's name was not the usual)
    submitted_at: datetime = None  # when the export says it was submitted (Gradescope), else None
    marked_late: bool = False  # the export marks it late without its time (Canvas's LATE_)
    canvas_id: str = ""  # the student's Canvas user id, when the export is Canvas's (its file names carry it)

    @property
    def sha256(self):
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.is_file() else ""


def find_submissions(location, unpack_dir):
    """All submissions in a folder or zip; a zip is extracted (safely) into ``unpack_dir``."""
    location = Path(location)
    refused = []
    if not location.exists():
        raise FileNotFoundError(f"no such folder or zip: {location}")
    if location.is_file():
        if not zipfile.is_zipfile(location):
            raise ValueError(f"{location} is neither a folder nor a zip file")
        location, refused = _extract(location, Path(unpack_dir))
    folder = _single_subfolder(location)
    if (folder / "submission_metadata.yml").exists() or any(folder.glob("submission_*/")):
        submissions = _gradescope(folder)
    elif any(CANVAS_NAME.match(p.name) for p in folder.glob("*.ipynb")):
        submissions = _canvas(folder)
    else:
        submissions = _plain(folder)
    return _deduplicate([check(s, folder) for s in submissions] + refused)


def check(submission, root):
    """The submission (found in the folder ``root``), with ``problem`` set when it cannot be graded: its id,
    a link, its file, and its notebook (autograder.intake.validate: what later stages may take for granted)."""
    link = _link_in(submission.path, root)
    if not STUDENT_ID.fullmatch(submission.student_id):
        problem = (f"student id {submission.student_id!r} is not usable as a folder name: use letters, digits "
                   "and _ . @ - only")
    elif link:
        problem = f"{link!r} is a symbolic link: links are never followed"
    else:
        problem = submission.problem or _file_problem(submission.path)
    return dataclasses.replace(submission, problem=problem)


def _file_problem(path):
    """Why the file at ``path`` is not a notebook that can be graded ('' when it is one)."""
    if not stat.S_ISREG(path.lstat().st_mode):
        return "the submission is not a regular file"
    size = path.stat().st_size
    if size == 0:
        return "the notebook file is empty (0 bytes)"
    if size > MAX_NOTEBOOK_MB * 1024 * 1024:
        return (f"the notebook is {size / 1024 / 1024:.0f} MB, over the {MAX_NOTEBOOK_MB} MB limit (huge outputs?): "
                "clear the outputs and submit again")
    return validate.notebook_problem(path)


def _link_in(path, root):
    """The name of the submission's file or of a folder of it below ``root`` that is a symbolic link,
    if one is: a link could lead the grader to any file it can read."""
    if not path.is_relative_to(root):
        return None
    for part in [path, *path.parents]:
        if part == root:
            return None
        if part.is_symlink():
            return str(part.relative_to(root))
    return None


def _extract(archive, unpack_dir):
    """Extract a zip, leaving out entries with absolute paths, '..' or backslashes (each becomes an error row), and
    refusing archives that unpack to too much. Returns (folder, [Submission with a problem, ...])."""
    target = unpack_dir / archive.stem
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    refused = []
    with zipfile.ZipFile(archive) as zipped:
        members = [m for m in zipped.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        if sum(m.file_size for m in members) > MAX_ZIP_MB * 1024 * 1024:
            raise ValueError(f"{archive} unpacks to more than {MAX_ZIP_MB} MB")
        for member in members:
            destination = (target / member.filename).resolve()
            if not destination.is_relative_to(target.resolve()) or "\\" in member.filename:
                refused.append(Submission(f"zip-entry-{len(refused) + 1}", target / "refused", problem=(
                    f"the zip entry {member.filename!r} has an unsafe path (absolute, or leaving the folder "
                    "with '..'): it was not extracted")))
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(destination, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    out.write(chunk)
                    if out.tell() > member.file_size:  # a header that lies about the size
                        raise ValueError(f"{archive}: entry {member.filename!r} holds more than it declares")
    return target, refused


def _single_subfolder(folder):
    """A zip often wraps everything in one folder: look inside it."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() \
            and not any(entries[0].glob("*.ipynb")) \
            and not entries[0].name.startswith("submission_"):
        return _single_subfolder(entries[0])
    return folder


def _plain(folder):
    submissions = [Submission(p.stem, p) for p in sorted(folder.glob("*.ipynb"))]
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        submissions.append(from_folder(student_dir.name, student_dir))
    return submissions


def from_folder(student_id, folder, name="", submitted_at=None):
    """The Submission of one student's folder: its assignment.ipynb, or its only notebook whatever its name."""
    expected = folder / NOTEBOOK_NAME
    if expected.is_file():
        return Submission(student_id, expected, name, submitted_at=submitted_at)
    found = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if len(found) == 1:  # a re-download ("assignment (1).ipynb") or a renamed file: the only notebook there
        return Submission(student_id, found[0], name, note=_other_name(found[0].relative_to(folder)),
                          submitted_at=submitted_at)
    problem = (f"no {NOTEBOOK_NAME} in the submission; found {', '.join(p.name for p in found)}: keep only "
               f"{NOTEBOOK_NAME}" if found else f"no {NOTEBOOK_NAME} (no notebook at all) in the submission")
    return Submission(student_id, expected, name, problem, submitted_at=submitted_at)


def _other_name(name):
    return f"graded {str(name)!r}, the one notebook in the submission (not named {NOTEBOOK_NAME})"


def _canvas(folder):
    files = [(path, CANVAS_NAME.match(path.name)) for path in sorted(folder.iterdir()) if not path.is_dir()]
    files = [(path, match) for path, match in files if match]
    notebooks = {}  # user: how many notebooks Canvas holds for them
    for _, match in files:
        notebooks[match["user"]] = notebooks.get(match["user"], 0) + match["file"].endswith(".ipynb")
    submissions = []
    for path, match in files:
        late = bool(match["late"])
        if CANVAS_NOTEBOOK.match(match["file"]):
            submissions.append(Submission(match["user"], path, match["name"], marked_late=late,
                                          canvas_id=match["user"]))
        elif match["file"].endswith(".ipynb") and notebooks[match["user"]] == 1:  # e.g. "assignment (1).ipynb"
            submissions.append(Submission(match["user"], path, match["name"], note=_other_name(match["file"]),
                                          marked_late=late, canvas_id=match["user"]))
        else:
            submissions.append(Submission(match["user"], path, match["name"],
                                          f"the file is named {match['file']!r}, not {NOTEBOOK_NAME}", marked_late=late,
                                          canvas_id=match["user"]))
    return submissions


def _gradescope(folder):
    metadata_file = folder / "submission_metadata.yml"
    readable = metadata_file.is_file() and not metadata_file.is_symlink()  # never follow a link
    metadata = _gradescope_metadata(metadata_file) if readable else {}
    submissions = []
    for student_dir in sorted(folder.glob("submission_*/")):
        entry = metadata.get(student_dir.name)
        submitters = (entry.get(":submitters") if isinstance(entry, dict) else None) or [{}]
        person = submitters[0] if isinstance(submitters, list) and isinstance(submitters[0], dict) else {}
        student_id = str(person.get(":sid") or str(person.get(":email") or "").split("@")[0]
                         or student_dir.name.removeprefix("submission_"))
        submissions.append(from_folder(student_id, student_dir, str(person.get(":name") or ""),
                                        _created_at(entry)))
    return submissions


def _gradescope_metadata(path):
    """The submission_metadata.yml of a Gradescope export ({} when it holds no mapping); ValueError naming
    the file, line and column when it is not YAML."""
    try:
        metadata = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: byte {error.start} is not UTF-8 text: export the submissions from Gradescope "
                         "again") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}{where}: not YAML ({getattr(error, 'problem', None) or error}): export the "
                         "submissions from Gradescope again, or delete the file to name students by their "
                         "submission folders") from None
    return metadata if isinstance(metadata, dict) else {}


def _created_at(entry):
    """The submission time of a Gradescope metadata entry (its line ``:created_at: ...``), or None."""
    value = entry.get(":created_at") if isinstance(entry, dict) else None
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


def _deduplicate(submissions):
    """Two submissions for one student id: keep both as error rows rather than guess."""
    counts = {}
    for submission in submissions:
        counts[submission.student_id] = counts.get(submission.student_id, 0) + 1
    return [s if counts[s.student_id] == 1 or s.problem else
            dataclasses.replace(s, problem=f"{counts[s.student_id]} submissions for this student id "
                                           f"(one is {s.path.name}); keep only one")
            for s in submissions]
