"""Grade a class: parallel nbgrader autograding of a folder or zip of submissions.

    python -m autograder.classrun.grade SUBMISSIONS [--out OUT] [--workers N | --scheduler tcp://HOST:8786]
                                        [--db-url URL] ...

Writes, under OUT (default ./output):
    grades.csv              one row per student: every graded part, total, status, reason, and why it
                            needs review (signs of tampering; see autograder/grading/review.py)
    feedback/<student>.html feedback with the student's plots and the checks' messages (no hidden test code)
    course/                 the nbgrader course: gradebook (or --db-url's, e.g. on a PostgreSQL server:
                            class_gradebook), autograded notebooks, feedback (formgrader works here)
    results.json            what has been graded, and under which version of the master (release.master_version),
                            so an interrupted run resumes where it stopped and an edited master regrades
    results.journal         the ledger's entries recorded since results.json was last written whole (ledger.py)
    hand_grades.json        hand grades saved while the course is rebuilt for a new master (autograder/classrun/hand_grades.py)
    late_policy.json        the late policy given once (due time, rate, cap, grace, the penalty's base, the
                            times file's times), applied by every later run; --change-late-policy replaces it
    similarity.json, .html  pairs of submissions with much solution code in common (autograder/outputs/similarity.py)
    similarity_fingerprints.json  each notebook's fingerprints by its SHA-256, so a run compares only what changed
    verdicts/<student>.json every case of every test cell, passed or failed, as the grader decided it

Run again after grading by hand in formgrader, it grades nothing new but writes grades.csv, the report
and the feedback of students whose hand grades changed again, from the gradebook.

Each submission is graded by the grading core (autograder.grading.core: nbgrader in a private course
with its own gradebook) in a pool of workers on this machine (autograder.classrun.pool), or with
--scheduler on the workers of a Dask cluster (autograder.classrun.cluster: ./kit worker on each grading
machine; no shared folder), and its result bundle is written into the class course and gradebook by
this process alone (class_course), then recorded in the ledger (ledger). Submissions are only ever read.
"""
import argparse
import sys
from pathlib import Path

from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from autograder.assignment import release
from autograder.classrun import class_gradebook, cluster, late_record
from autograder.classrun.class_course import ClassCourse
from autograder.classrun.ledger import Ledger
from autograder.classrun.pool import LocalPool
from autograder.grading import environment, options
from autograder.intake import collect, late
from autograder.outputs import report, similarity
from autograder.outputs.grades_csv import grade_rows, write_grades_csv
from autograder.outputs.terminal import plural, print_summary, printable
from autograder.sandbox import kernel_launcher, kernel_user


class ClassGrader:
    """Grade a class into ``out`` (Path) with GradingOptions ``options`` on ``workers`` (int) parallel
    graders, or on the workers of the Dask scheduler at ``scheduler`` (str, tcp://HOST:PORT); ``db_url``: the
    class gradebook's SQLAlchemy URL (default: the one recorded in OUT by an earlier run, else SQLite in
    OUT/course: ClassCourse)."""

    def __init__(self, out, options, workers, db_url=None, scheduler=None):
        self.out = Path(out).resolve()
        self.work = self.out / "work"
        self.workers, self.scheduler = workers, scheduler
        self.options = options.for_workers(workers) if scheduler is None else cluster.options_for_cluster(options)
        self.version = release.master_version()
        self.course = ClassCourse(self.out, self.version, db_url)
        self.ledger = Ledger(self.out)

    @property
    def db_url(self):
        return self.course.db_url

    def prepare(self):
        """The grading environment (template and kernel) and the class course, for the master as it
        is now: made once, and made again when the master's version changes (the class gradebook keeps
        its students; their hand grades are saved and put back as each one is regraded)."""
        self.environment = environment.prepare(self.work, self.options)
        self.course.prepare(backups=self.work, grading=self.environment, options=self.options)

    def run(self, location, force=False, students=()):
        """Grade what is new, changed or ended in an error (everything with ``force``; only ``students``,
        graded again whatever their state, when given: a regrade request leaves the others as they are).
        Afterwards ``new_files`` lists the students whose file differs from the one graded before."""
        self.prepare()
        submissions = collect.find_submissions(location, self.out / "unpacked")
        unknown = set(students) - {s.student_id for s in submissions}
        if unknown:
            raise ValueError(f"no submission for {', '.join(sorted(map(printable, unknown)))} in {location}")
        todo, stale, unreadable, left = [], 0, 0, 0
        self.new_files = []
        for submission in submissions:
            previous = self.ledger.get(submission.student_id)
            outdated = bool(previous) and previous.get("version") != self.version
            if students and submission.student_id not in students and not outdated:
                left += 1
                continue
            if submission.problem:
                self.ledger.record(submission, self.version, status="error", reason=submission.problem)
                unreadable += 1
            elif force or students or outdated or previous.get("sha256") != submission.sha256 \
                    or previous.get("status") == "error":
                todo.append(submission)
                stale += outdated and previous.get("status") != "error"
                if previous.get("sha256") not in (None, submission.sha256):
                    self.new_files.append(submission.student_id)
        unchanged = len(submissions) - len(todo) - unreadable - left
        graders = plural(self.workers, "worker") if self.scheduler is None else f"Dask scheduler {self.scheduler}"
        print(batch_line(len(submissions), len(todo), unchanged, unreadable, left, students, graders))
        if stale:
            print(f"{stale} of them were graded under an earlier version of the master: graded again under {self.version}")
        by_student = {s.student_id: s for s in todo}
        record = lambda student, bundle: self._record(by_student[student], bundle)  # noqa: E731
        pool = LocalPool(self.work, self.workers, self.options, record) if self.scheduler is None else \
            cluster.ClusterPool(self.scheduler, self.options, record)
        try:
            pool.grade_all({s.student_id: pool.task(s.student_id, s.path.read_bytes(), self.environment)
                            for s in todo})
        except KeyboardInterrupt:
            print("\nInterrupted: what was graded is saved; run the same command again to resume.")
            raise
        finally:
            self.ledger.save()
        return submissions

    def _record(self, submission, bundle):
        """Write ``bundle`` (ResultBundle) of ``submission`` into the class course and the ledger."""
        if not bundle.success:
            self.ledger.record(submission, self.version, status="error", reason=bundle.error or "grading failed",
                               seconds=bundle.seconds, review=bundle.review)
            return
        notes = self.course.write(bundle, submission.sha256, self.ledger.merged(submission.student_id))
        for note in notes:  # said as it happens: no grade changes silently
            tqdm.write(f"{printable(submission.student_id)}: {note}")
        self.ledger.record(submission, self.version, status="partial" if bundle.crashed else "graded",
                           reason=" | ".join(filter(None, [submission.note, *notes])), reasons=bundle.reasons,
                           seconds=bundle.seconds, review=bundle.review)

    def refresh_feedback(self, submissions):
        """Make the feedback again for every graded student whose hand grades changed; return them."""
        return self.course.refresh_feedback([s.student_id for s in submissions], self.ledger)

    def grade_rows(self, submissions, late_policy=None):
        """(grades.csv's rows for ``submissions`` under ``late_policy`` (late_record.RecordedPolicy or
        None), the graded parts): see outputs.grades_csv.grade_rows."""
        policy, times = (late_policy.policy, late_policy.times) if late_policy else (None, {})
        with self.course.gradebook() as gradebook:
            return grade_rows(gradebook, submissions, self.ledger.entries, self.version, policy, times)

    def write_grades_csv(self, submissions, late_policy=None):
        """grades.csv (outputs.grades_csv) for ``submissions``; returns its rows."""
        rows, parts = self.grade_rows(submissions, late_policy)
        write_grades_csv(self.out / "grades.csv", rows, parts)
        return rows


def batch_line(found, todo, unchanged, unreadable, left, asked, graders):
    """What a run says first (str): of ``found`` submissions, how many are ``todo``, ``unchanged``,
    ``unreadable`` and ``left`` as they are (ints; only those there are), the students ``asked`` for
    (list of str) and who grades (``graders``, str: '2 workers', or a Dask scheduler), e.g. '3 submissions:
    2 to grade, 1 unreadable (an error row) (2 workers)'."""
    others = [f"{unchanged} already graded and unchanged" if unchanged else "",
              f"{unreadable} unreadable ({'an error row each' if unreadable > 1 else 'an error row'})" if unreadable
              else "", f"{left} left as {'they are' if left > 1 else 'it is'}" if left else ""]
    return (f"{plural(found, 'submission')}: {todo} to grade"
            + (f" (asked: {', '.join(map(printable, asked))})" if asked else "")
            + "".join(", " + text for text in others if text) + f" ({graders})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder or zip of submissions")
    parser.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    parser.add_argument("--workers", type=int, default=options.usable_cores(), help="parallel graders (default: cores)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:8786",
                        help="grade on the workers of this Dask scheduler (./kit worker on each grading machine; "
                             "they need the same kit, not this machine's folders) instead of on this machine")
    parser.add_argument("--db-url", help="SQLAlchemy URL of the class gradebook, e.g. postgresql://USER@HOST/DATABASE "
                        "(password in ~/.pgpass or PGPASSWORD; default: SQLite in OUT/course; later runs use "
                        "the one given first)")
    parser.add_argument("--force", action="store_true", help="grade again what was already graded")
    parser.add_argument("--student", action="append", default=[], metavar="ID",
                        help="grade only this student again (a regrade request), leaving the others; repeatable")
    options.add_arguments(parser)
    late.add_arguments(parser)
    parser.add_argument("--change-late-policy", action="store_true",
                        help="replace the late policy recorded in OUT by the one these options give (or remove "
                             "it, without --due and --times); the students whose final score changes are listed")
    args = parser.parse_args(argv)
    try:
        times = late.read_times(args.times) if args.times else {}
        given = late_record.given(late.from_arguments(args), times, args.times)
        before = late_record.read(args.out)
        late_policy, replaced = late_record.settle(args.out, given, args.change_late_policy)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if args.scheduler and args.kernel_spec:
        parser.error("--kernel-spec names a file of this machine, which the workers of --scheduler cannot read")
    # through a scheduler, the workers' kernels are sandboxed fully (they refuse what their machine cannot give),
    # whatever this machine could give
    grading = options.from_arguments(args, cluster.WORKER_TIER if args.scheduler else kernel_launcher.sandbox_tier())
    print(kernel_launcher.TIER_LINES[grading.tier])
    if grading.tier == "container":
        _close_to_kernels(parser, args.out)
    print(late_policy.describe() if late_policy else "late policy: none (nothing is late)")
    try:
        grader = ClassGrader(args.out, grading, args.workers, args.db_url, args.scheduler)
        if not grader.course.default_gradebook:
            print(f"class gradebook: {class_gradebook.without_password(grader.db_url)}")
        submissions = grader.run(args.submissions, force=args.force, students=args.student)
    except (ValueError, class_gradebook.BackupFailed) as error:
        parser.error(str(error))
    except OperationalError as error:  # its text names the server and the cause, never the password
        parser.error(f"the class gradebook {class_gradebook.without_password(grader.db_url)} cannot be opened: "
                     f"{error.orig}".strip())
    except cluster.SchedulerLost as error:
        print(f"\nStopped: {error}; run the same command again to grade the rest.", file=sys.stderr)
        sys.exit(1)
    if late_policy:
        without, unknown = late_policy.gaps(submissions)
        if without:
            print(f"late policy: no submission time for {', '.join(map(printable, without))} (counted on time; "
                  "give their times in the --times file with --change-late-policy)")
        if unknown:
            print(f"late policy: the times file names students with no submission: {', '.join(map(printable, unknown))}")
        resent = late_policy.times_from_before(grader.new_files, before)
        if resent:
            sent = "new files" if len(resent) > 1 else "a new file"
            print(f"late policy: {', '.join(map(printable, resent))} sent {sent}; the time the times file gave for "
                  "the earlier file still counts; to count the new time, give it in the times file with "
                  "--change-late-policy")
    rows, parts = grader.grade_rows(submissions, late_policy)  # making feedback again changes none of them
    grader.course.record_late_penalties({row["student"]: _points_or_none(row.get("late_penalty")) for row in rows
                                         if row["status"] != "error"})
    refreshed = grader.refresh_feedback(submissions)
    if refreshed:
        print(f"feedback made again for {plural(len(refreshed), 'student')} whose hand grades or late penalty changed")
    write_grades_csv(grader.out / "grades.csv", rows, parts)  # first: the reports below read it
    print_summary(rows, grader.out)
    if args.change_late_policy:
        print(f"the late policy changed: {late_changes(grader.grade_rows(submissions, replaced)[0], rows)}")
    compared = _report_stage("similarity report", similarity.write_similarity, submissions, grader.out)
    if compared:
        pairs, left_out = compared
        print(f"similar solutions: {plural(len(pairs), 'pair')} ({grader.out / 'similarity.html'}; no grade changes)"
              + (f"; left out, unreadable: {', '.join(map(printable, sorted(left_out)))}" if left_out else ""))
    written = _report_stage("class report", report.write_report, grader.out)
    if written:
        print(f"class report: {written}")


def _close_to_kernels(parser, out):
    """The container tier: ``out`` (Path; gradebook, submissions, work folders) made 0700 root; a Python
    installation the kernels' users cannot read stops the run, and the master or the hidden reference
    readable by them is a warning (the kit does not change the permissions of what it did not make)."""
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    unreadable = kernel_user.unreadable_python()
    if unreadable:
        parser.error(f"the container sandbox needs the Python installation readable by other users; the kernels' "
                     f"users cannot read {', '.join(unreadable)} (or grade with --no-sandbox: not isolated)")
    for path in kernel_user.readable_by_kernel_user([release.MASTER, release.HIDDEN_REFERENCE]):
        print(f"WARNING: student code can read {path}: close it to other users (chmod o-rwx on it or a folder "
              "above; SECURITY.md)", file=sys.stderr)


def late_changes(before, after):
    """What a change of late policy did, from grades.csv's rows ``before`` and ``after`` (lists of dict):
    'alice 33.15 -> 35.1' for a final score, 'bob penalty 9 -> 6 (final once graded by hand)' for a student
    whose final waits for hand grades, or 'no final score changed'."""
    old = {row["student"]: row for row in before}
    changed = []
    for row in after:
        was = old.get(row["student"], {})
        if was.get("final") != row["final"]:
            changed.append(f"{printable(row['student'])} {was.get('final')} -> {row['final']}")
        elif row["final"] == "" and _penalty(was) != _penalty(row):
            changed.append(f"{printable(row['student'])} penalty {_penalty(was)} -> {_penalty(row)} (final once "
                           "graded by hand)")
    return ", ".join(changed) if changed else "no final score changed"


def _points_or_none(value):
    """A late penalty for the gradebook: its points (float), or None for none or not known yet ("")."""
    return float(value) if value not in ("", None) and float(value) else None


def _penalty(row):
    """A row's late penalty for the terminal: its points, or what it is while the score is not known."""
    points = row.get("late_penalty", "")
    if points == "" and row.get("late_days"):
        return f"a percent of the score ({plural(int(row['late_days']), 'day')} late)"
    return str(points) if points != "" and float(points) else "none"


def _report_stage(name, write, *args):
    """``write(*args)``, or None with the error printed when it fails: a report that cannot be made
    never takes grades.csv, the feedback or the other report with it."""
    try:
        return write(*args)
    except Exception as error:  # any failure of one report: said, and the run goes on
        print(f"WARNING: the {name} could not be written ({type(error).__name__}: {error}); grades.csv and "
              "the feedback are written", file=sys.stderr)
        return None


if __name__ == "__main__":
    main()
