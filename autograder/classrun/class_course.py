"""The class course (OUT/course): nbgrader's course folder with the class gradebook, where formgrader
and nbgrader's own commands work. Made once, made again when the master's version changes (the hand
grades saved and put back), and the one place each student's result bundle is written into.
"""
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from autograder.assignment import release
from autograder.classrun import class_gradebook, hand_grades, nbgrader_commands
from autograder.grading import course
from autograder.grading.environment import VERSION_FILE, read_version
from autograder.grading.feedback import feedback_config, generate_feedback
from autograder.outputs.terminal import plural

STEPS = {"submitted.ipynb": "submitted", "autograded.ipynb": "autograded", "feedback.html": "feedback"}


class ClassCourse:
    """OUT/course and its gradebook, for master version ``version``: ``db_url`` (str, an SQLAlchemy URL), else
    the one an earlier run recorded, else SQLite in OUT/course (class_gradebook.settle: ValueError for a URL
    other than the gradebook the course has)."""

    def __init__(self, out, version, db_url=None):
        self.out = Path(out)
        self.root = self.out / "course"
        self.version = version
        self.db_url = class_gradebook.settle(self.root, db_url)

    @property
    def default_gradebook(self):
        """bool: the gradebook is the SQLite file OUT/course/gradebook.db."""
        return self.db_url == class_gradebook.default_url(self.root)

    def gradebook(self):
        """nbgrader's Gradebook of the class (a context manager)."""
        return Gradebook(self.db_url, course_id="hw2")

    def prepare(self, backups, grading, options):
        """Make the course, or make it again for a new master version (``backups``: the folder where the
        gradebook is backed up first: class_gradebook.backup), and its nbgrader_config.py for the
        GradingEnvironment ``grading`` and the GradingOptions ``options`` of this run. A course without a
        gradebook yet, SQLite, is a copy of ``grading.template`` (nbgrader made it the same way for the same
        version); else the assignment is added to the gradebook by nbgrader's generate_assignment."""
        template = grading.template
        if not self.default_gradebook:  # opened first: a server out of reach stops the run here (OperationalError)
            self._assignment_in_gradebook()
        if not (self.root / "source").exists() or not self._assignment_in_gradebook():
            gradebook = self.root / "gradebook.db"
            if self.default_gradebook and not gradebook.exists() and read_version(template) == self.version:
                for folder in ["source", "release"]:
                    shutil.copytree(template / folder, self.root / folder, dirs_exist_ok=True)
                shutil.copyfile(template / "gradebook.db", gradebook)
            else:
                course.generate_release(self.root, db_url=self.db_url)
            (self.root / VERSION_FILE).write_text(self.version)
        elif read_version(self.root) != self.version:
            self._rebuild(backups)
        class_gradebook.record(self.root, self.db_url)
        self._write_config(grading, options)

    def _write_config(self, grading, options):
        """OUT/course/nbgrader_config.py: nbgrader's own commands in the course folder grade as this run
        does (nbgrader_commands: its pipeline, ``options`` and the kernel of ``grading``), with the class
        gradebook and an exchange folder inside OUT (nbgrader's default, /usr/local/share/nbgrader/exchange,
        is seldom writable), so that nbgrader's list, collect and export work there too. A gradebook's URL is
        written without its password (class_gradebook: PGPASSWORD or ~/.pgpass give it there)."""
        exchange = self.out / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        settings = nbgrader_commands.course_settings(
            self.root, options, grading.jupyter_path, exchange,
            None if self.default_gradebook else class_gradebook.without_password(self.db_url))
        (self.root / "nbgrader_config.py").write_text(nbgrader_commands.config_text(settings))

    def _rebuild(self, backups):
        """The master changed: back the class gradebook up into ``backups`` (class_gradebook.backup:
        BackupFailed stops the rebuild before it changes anything), save the hand grades, take the
        submissions out of the gradebook (nbgrader changes no assignment that has some), and generate the
        assignment again."""
        old = read_version(self.root) or "unknown"
        saved = class_gradebook.backup(self.db_url, backups, self.version)
        if saved:
            print(f"the class gradebook was backed up first: {saved[0]} ({saved[1]})")
        with self.gradebook() as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's relationships warn on autoflush
            kept = hand_grades.save(gb, self.out / hand_grades.FILE)
            for submission in list(gb.find_assignment(release.ASSIGNMENT).submissions):
                gb.remove_submission(release.ASSIGNMENT, submission.student_id)
        course.generate_release(self.root, db_url=self.db_url)
        (self.root / VERSION_FILE).write_text(self.version)
        print(f"The master changed (version {old} -> {self.version}): the course was rebuilt; every submission is "
              f"graded again" + (f", and the hand grades of {plural(len(kept), 'student')} are put back" if kept else ""))

    def _assignment_in_gradebook(self):
        with self.gradebook() as gb:
            return any(a.name == release.ASSIGNMENT for a in gb.assignments)

    def _folder(self, step, student):
        return self.root / step / student / release.ASSIGNMENT

    def write(self, bundle, sha256, given_for):
        """Write a successful ResultBundle of the file ``sha256`` (its SHA-256) into the course: the
        submitted and autograded notebooks and the feedback page (each beside the released student files,
        as nbgrader lays them out), the verdicts (OUT/verdicts/<student>.json), the feedback copy
        (OUT/feedback/<student>.html), and its scores and comments into the class gradebook, keeping hand
        grades, but those of autograded cells only while the file is ``given_for`` (the SHA-256 of the
        file merged before, which they were given for: hand_grades.expire). Returns notes about hand
        grades that were dropped, could not be put back or were given for an earlier file (list of str)."""
        student = bundle.student
        (self.out / "verdicts").mkdir(exist_ok=True)  # every case of every test cell, as the grader decided it
        (self.out / "verdicts" / f"{student}.json").write_text(json.dumps(
            {"version": bundle.version, "verdicts": bundle.verdicts, "missing": bundle.missing}))
        released = self.root / "release" / release.ASSIGNMENT
        for name, step in STEPS.items():
            target = self._folder(step, student)
            if target.exists():
                shutil.rmtree(target)
            if name not in bundle.files:
                continue
            if step != "submitted":  # nbgrader copies the other files of the submission there: linked here (the
                # data alone is 5 MB a student, twice), never written in place (nbgrader removes a folder first)
                shutil.copytree(released, target, ignore=shutil.ignore_patterns(f"{release.NOTEBOOK}.ipynb"),
                                copy_function=_link_or_copy)
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{release.NOTEBOOK}{Path(name).suffix}").write_bytes(bundle.files[name])
        if "feedback.html" in bundle.files:
            (self.out / "feedback").mkdir(exist_ok=True)
            (self.out / "feedback" / f"{student}.html").write_bytes(bundle.files["feedback.html"])
        private = self.out / "work" / "merging" / f"{student}.db"
        private.parent.mkdir(parents=True, exist_ok=True)
        private.write_bytes(bundle.gradebook)
        try:
            with Gradebook(f"sqlite:///{private}", course_id="hw2") as private_gb, self.gradebook() as class_gb, \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore", SAWarning)  # as in _rebuild
                copy_submission(private_gb, class_gb, student)
                return hand_grades.restore(class_gb, student, self.out / hand_grades.FILE) + \
                    hand_grades.expire(class_gb, student, sha256, given_for)
        finally:
            private.unlink(missing_ok=True)

    def record_late_penalties(self, penalties):
        """Put each student's late penalty (``penalties``: {student: points, or None for none or not known
        yet}) into the class gradebook, nbgrader's own place for it (SubmittedNotebook.late_submission_penalty):
        formgrader and nbgrader's export show it, and the feedback page subtracts it from the score."""
        with self.gradebook() as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # as in _rebuild
            for student, penalty in penalties.items():
                try:
                    found = gb.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student)
                except MissingEntry:  # not graded: nothing to charge
                    continue
                if found.late_submission_penalty != penalty:
                    found.late_submission_penalty = penalty
            gb.db.commit()

    def refresh_feedback(self, students, ledger):
        """Make the feedback again, from the class gradebook, for every one of ``students`` (str)
        graded under this version whose hand grades (formgrader's scores, extra credit, comments) or
        late penalty changed since it was made (``ledger``: classrun.ledger.Ledger); return those students."""
        changed = []
        with self.gradebook() as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # as in _rebuild
            for student in students:
                entry = ledger.get(student)
                if entry.get("status") not in ("graded", "partial") or entry.get("version") != self.version:
                    continue
                found = gb.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, student)
                hand = [[f"score {g.name}", g.manual_score, g.extra_credit] for g in found.grades
                        if g.manual_score is not None or g.extra_credit]
                hand += [[f"comment {c.name}", c.manual_comment] for c in found.comments if c.manual_comment]
                if found.late_submission_penalty:  # record_late_penalties: the page shows it and the final
                    hand.append(["late penalty", found.late_submission_penalty])
                mark = hashlib.sha256(json.dumps(sorted(hand)).encode()).hexdigest()[:12] if hand else ""
                if mark != entry.get("hand_graded", ""):
                    changed.append((student, mark))
        config = feedback_config(course.course_config(self.root, db_url=self.db_url))
        for student, mark in changed:
            if generate_feedback(config, student):
                made = self._folder("feedback", student) / f"{release.NOTEBOOK}.html"
                (self.out / "feedback").mkdir(exist_ok=True)
                shutil.copyfile(made, self.out / "feedback" / f"{student}.html")
                ledger.mark_hand_graded(student, mark)
        ledger.save()
        return [student for student, _ in changed]


def _link_or_copy(source, target):
    """A hard link to ``source`` at ``target`` (both str), or a copy where linking fails (another file system)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def copy_submission(source_gb, target_gb, student):
    """Copy a student's autograded scores and comments between gradebooks (manual scores are kept)."""
    submission = source_gb.find_submission(release.ASSIGNMENT, student)
    target_gb.update_or_create_student(student)
    target = target_gb.update_or_create_submission(release.ASSIGNMENT, student, timestamp=submission.timestamp)
    # each notebook's grades and comments read at once through its relationships (nbgrader's find_grade and
    # find_comment make a query of four joins for each cell: most of the coordinator's time per submission)
    targets = {notebook.name: notebook for notebook in target.notebooks}
    for notebook in submission.notebooks:
        target_notebook = targets[notebook.name]
        for cells in (notebook.notebook, target_notebook.notebook):  # in each session's identity map: a grade's or
            cells._base_cells                                         # a comment's name is its cell's, read by key
        grades = {grade.name: grade for grade in target_notebook.grades}
        comments = {comment.name: comment for comment in target_notebook.comments}
        for grade in notebook.grades:
            copy = grades[grade.name]
            copy.auto_score = grade.auto_score
            copy.needs_manual_grade = grade.needs_manual_grade if copy.manual_score is None else False
        for comment in notebook.comments:
            comments[comment.name].auto_comment = comment.auto_comment
        target_notebook.late_submission_penalty = notebook.late_submission_penalty
    target_gb.db.commit()
    return target
