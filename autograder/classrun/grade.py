"""Grade a class: parallel nbgrader autograding of a folder or zip of submissions.

    python -m autograder.classrun.grade SUBMISSIONS [--out OUT] [--workers N] [--db-url URL] ...

Writes, under OUT (default ./output):
    grades.csv              one row per student: every graded part, total, status, reason, and why it
                            needs review (signs of tampering; see autograder/grading/review.py)
    feedback/<student>.html feedback with the student's plots and the checks' messages (no hidden test code)
    course/                 the nbgrader course: gradebook, autograded notebooks, feedback (formgrader works here)
    results.json            what has been graded, and under which version of the master (release.master_version),
                            so an interrupted run resumes where it stopped and an edited master regrades
    hand_grades.json        hand grades saved while the course is rebuilt for a new master (autograder/classrun/hand_grades.py)
    similarity.json, .html  pairs of submissions with much solution code in common (autograder/outputs/similarity.py)
    verdicts/<student>.json every case of every test cell, passed or failed, as the grader decided it

Run again after grading by hand in formgrader, it grades nothing new but writes grades.csv, the report
and the feedback of students whose hand grades changed again, from the gradebook.

Each submission is autograded by nbgrader in a private course with its own gradebook (in parallel,
without "database is locked"), then merged into the class gradebook by this process alone.
Submissions are only ever read.
"""
import argparse
import csv
import fcntl
import hashlib
import json
import multiprocessing
import os
import re
import resource
import select
import shutil
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from autograder.assignment import master, release
from autograder.classrun import hand_grades
from autograder.grading import core as grade_one
from autograder.grading import course
from autograder.grading.core import KERNEL_NAME
from autograder.intake import collect, late
from autograder.outputs import report, similarity
from autograder.sandbox import kernel_launcher

KILL_MARGIN = 120  # seconds past the submission timeout before a worker process is killed
# Address space of a grading worker (it peaks near 0.75 GB on a correct submission): what a kernel
# sends is bounded message by message, but not what zmq queues for one message of many parts; a
# worker that goes over dies, and the crash is charged to the submission it was grading alone.
GRADER_MEMORY_MB = 2048
IPC_TMPFS_MB = 256  # sandbox: the room a kernel has in its ipc folder (sockets, large arrays for the hidden tests)
VERSION_FILE = "master_version"  # in a course folder: the master version it was generated from


def init_worker(grader_pid, ipc_tmpfs):
    """Set up a pool worker: its own mounts (the ipc tmpfs it makes vanish with it), a memory limit
    (GRADER_MEMORY_MB), and a watch on the grading process, so that the worker exits when that
    process is gone (killed, say): it never goes on grading, nor idles holding memory, for a run
    that has ended."""
    if ipc_tmpfs:  # before any thread starts: unshare refuses a process with threads
        kernel_launcher.private_mount_namespace()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]  # left as it is: the kernel launcher sets its own limits
    limit = GRADER_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    threading.Thread(target=_exit_with, args=(grader_pid,), daemon=True, name="watch-grader").start()


def _exit_with(pid):
    """Wait until process ``pid`` has exited, then end this process."""
    try:
        select.select([os.pidfd_open(pid)], [], [])  # readable once the process has exited; immune to pid reuse
    except (AttributeError, OSError):  # no pidfd here: look every second
        while os.path.exists(f"/proc/{pid}"):
            time.sleep(1)
    os._exit(3)  # the kernel launcher sees its parent go and kills the kernel


def grade_in_worker(task):
    """Grade one submission in a pool worker; return grade_one's result with its wall time.

    The student's folder is locked while it is graded, so that a run never races a worker left over
    from an earlier run for it."""
    pid_file, log_file, lock_file = task.pop("pid_file"), task.pop("log_file"), task.pop("lock_file")
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pid_file.write_text(str(os.getpid()))
        with open(log_file, "w") as log:  # nbgrader's and the kernel's chatter, kept off the progress bar
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        started = time.perf_counter()
        try:
            result = grade_one.grade(**task)
        except Exception as error:  # a bug or an I/O failure: an error row, not a stopped batch
            result = {"success": False, "error": f"the grader failed: {type(error).__name__}: {error}"}
        finally:
            pid_file.unlink(missing_ok=True)
    return dict(result, seconds=time.perf_counter() - started)


class ClassGrader:
    def __init__(self, out, workers, db_url=None, cell_timeout=120, submission_timeout=600, memory_mb=4096,
                 blas_threads=None, sandbox=None, kernel_spec=None):
        self.out = Path(out).resolve()
        self.course_root = self.out / "course"
        self.work = self.out / "work"
        self.template = self.work / "template"
        self.db_url = db_url or f"sqlite:///{self.course_root / 'gradebook.db'}"
        self.workers = workers
        self.cell_timeout = cell_timeout
        self.submission_timeout = submission_timeout
        self.memory_mb = memory_mb
        self.blas_threads = blas_threads or max(1, (os.cpu_count() or 1) // workers)
        self.kernel_spec = kernel_spec
        self.sandbox = not kernel_spec and (kernel_launcher.sandbox_available() if sandbox is None else sandbox)
        self.ledger_path = self.out / "results.json"
        self.ledger = json.loads(self.ledger_path.read_text()) if self.ledger_path.exists() else {}
        self.version = release.master_version()

    def prepare(self):
        """The class course and the template that private courses copy, for the master as it is now:
        made once, and made again when the master's version changes (the class gradebook keeps its
        students; their hand grades are saved and put back as each one is regraded)."""
        release.check_master()
        stamp = lambda root: root / VERSION_FILE  # noqa: E731
        if not (self.template / "gradebook.db").exists() or _read_text(stamp(self.template)) != self.version:
            shutil.rmtree(self.template, ignore_errors=True)
            course.generate_release(self.template)
            stamp(self.template).write_text(self.version)
        if not (self.course_root / "source").exists() or not self._assignment_in_gradebook():
            course.generate_release(self.course_root, db_url=self.db_url)
            stamp(self.course_root).write_text(self.version)
        elif _read_text(stamp(self.course_root)) != self.version:
            self._rebuild_class_course()
        shutil.copyfile(course.CONFIG_FILE, self.course_root / "nbgrader_config.py")
        kernel_dir = self.work / "jupyter" / "kernels" / KERNEL_NAME
        kernel_dir.mkdir(parents=True, exist_ok=True)
        launcher = Path(kernel_launcher.__file__).resolve()
        if self.kernel_spec:  # the course's own kernel, e.g. in a container (SECURITY.md)
            shutil.copyfile(self.kernel_spec, kernel_dir / "kernel.json")
            return
        (kernel_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, str(launcher), *(["--sandbox"] if self.sandbox else []),
                     "--memory-mb", str(self.memory_mb), "--threads", str(self.blas_threads),
                     "-f", "{connection_file}"],
            "display_name": "hw2 grading kernel (sandboxed)" if self.sandbox else "hw2 grading kernel (limited)",
            "language": "python"}, indent=1))
        if not self.sandbox:
            print("WARNING: no sandbox (it needs root on Linux): student code runs as this user and can read "
                  "what this user can; see SECURITY.md", file=sys.stderr)

    def _rebuild_class_course(self):
        """The master changed: save the hand grades, take the submissions out of the class gradebook
        (nbgrader changes no assignment that has some; a SQLite gradebook is backed up first), and
        generate the assignment again."""
        old = _read_text(self.course_root / VERSION_FILE) or "unknown"
        if self.db_url.startswith("sqlite:///") and Path(self.db_url.removeprefix("sqlite:///")).exists():
            backup = self.work / f"gradebook-before-{self.version}.db"
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.db_url.removeprefix("sqlite:///"), backup)
        with Gradebook(self.db_url, course_id="hw2") as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # as in _merge
            kept = hand_grades.save(gb, self.out / hand_grades.FILE)
            for submission in list(gb.find_assignment(release.ASSIGNMENT).submissions):
                gb.remove_submission(release.ASSIGNMENT, submission.student_id)
        course.generate_release(self.course_root, db_url=self.db_url)
        (self.course_root / VERSION_FILE).write_text(self.version)
        print(f"The master changed (version {old} -> {self.version}): the course was rebuilt; every submission is "
              f"graded again" + (f", and the hand grades of {len(kept)} students are put back" if kept else ""))

    def _assignment_in_gradebook(self):
        with Gradebook(self.db_url, course_id="hw2") as gb:
            return any(a.name == release.ASSIGNMENT for a in gb.assignments)

    def run(self, location, force=False, students=()):
        """Grade what is new, changed or ended in an error (everything with ``force``; only ``students``,
        graded again whatever their state, when given: a regrade request leaves the others as they are)."""
        self.prepare()
        submissions = collect.find_submissions(location, self.out / "unpacked")
        unknown = set(students) - {s.student_id for s in submissions}
        if unknown:
            raise ValueError(f"no submission for {', '.join(sorted(map(_printable, unknown)))} in {location}")
        todo, stale = [], 0
        for submission in submissions:
            previous = self.ledger.get(submission.student_id, {})
            outdated = bool(previous) and previous.get("version") != self.version
            if students and submission.student_id not in students and not outdated:
                continue
            if submission.problem:
                self._record(submission, status="error", reason=submission.problem)
            elif force or students or outdated or previous.get("sha256") != submission.sha256 \
                    or previous.get("status") == "error":
                todo.append(submission)
                stale += outdated and previous.get("status") != "error"
        done = len(submissions) - len(todo)
        asked = f" (asked: {', '.join(map(_printable, students))})" if students else ""
        print(f"{len(submissions)} submissions: {len(todo)} to grade{asked}, {done} already graded, unreadable "
              f"or left as they are ({self.workers} workers)")
        if stale:
            print(f"{stale} of them were graded under an earlier version of the master: graded again under {self.version}")
        try:
            self._grade_all(todo)
        except KeyboardInterrupt:
            print("\nInterrupted: what was graded is saved; run the same command again to resume.")
            raise
        return submissions

    def _grade_all(self, todo):
        """Grade ``todo`` in pools of workers. When a worker process dies (out of memory, killed), the
        submissions it may have been grading are graded again each in a worker of its own, so that a
        crash is charged only to the submission that causes it, never to one that shared its pool."""
        os.environ["JUPYTER_PATH"] = str(self.work / "jupyter")  # where the grading kernel is
        with tqdm(total=len(todo), unit="submission", desc="grading", dynamic_ncols=True) as bar:
            suspects = []
            while todo:
                todo, crashed = self._grade_in_pool(todo, bar, self.workers)
                suspects += crashed
            for submission in suspects:
                self._grade_in_pool([submission], bar, 1, alone=True)

    def _grade_in_pool(self, todo, bar, workers, alone=False):
        """Grade in a pool of long-lived worker processes (nbgrader is imported once per worker).

        Returns (submissions that never started, submissions whose worker died while grading them)
        when a worker dies: a submission that outlives its timeout has its worker killed, and out
        of memory the system kills one; either breaks the pool. ``alone``: the only submission in
        its pool, so a crash is its own.
        """
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.grading.core"])
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker,
                                   initargs=(os.getpid(), self.sandbox))
        running = self.work / "running"
        running.mkdir(parents=True, exist_ok=True)
        (self.work / "logs").mkdir(exist_ok=True)
        (self.work / "locks").mkdir(exist_ok=True)
        futures = {pool.submit(grade_in_worker, self._task(s)): s for s in todo}
        not_started, crashed, killed = [], [], set()
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=1, return_when=FIRST_COMPLETED)
                for future in done:
                    submission = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        pid_file = running / f"{submission.student_id}.pid"
                        was_running = pid_file.exists()
                        pid_file.unlink(missing_ok=True)
                        if submission.student_id in killed:
                            result = {"success": False, "error": f"grading took longer than "
                                      f"{self.submission_timeout + KILL_MARGIN} s and was stopped"}
                        elif alone:
                            result = {"success": False, "error": "the grading process died while grading this "
                                      "submission alone (out of memory, or killed)"}
                        else:
                            (crashed if was_running else not_started).append(submission)
                            continue
                    self._merge(submission, result, result.get("seconds"))
                    bar.set_postfix_str(_printable(submission.student_id))
                    bar.update()
                killed |= self._kill_overdue(running)
        except KeyboardInterrupt:
            # drop what has not started, stop what has: nothing unmerged reaches the gradebook
            pool.shutdown(wait=False, cancel_futures=True)
            self._kill_overdue(running, after=0)
            raise
        pool.shutdown()
        return not_started, crashed

    def _task(self, submission):
        return dict(template=self.template, work=self.work / "students" / submission.student_id,
                    student=submission.student_id, submission=submission.path.resolve(),
                    cell_timeout=self.cell_timeout, submission_timeout=self.submission_timeout,
                    ipc=self.sandbox or bool(self.kernel_spec), ipc_tmpfs_mb=IPC_TMPFS_MB if self.sandbox else 0,
                    pid_file=self.work / "running" / f"{submission.student_id}.pid",
                    lock_file=self.work / "locks" / f"{submission.student_id}.lock",
                    log_file=self.work / "logs" / f"{submission.student_id}.log")

    def _kill_overdue(self, running, after=None):
        """Kill the workers whose submission has run for more than ``after`` seconds (default: past
        its time); return those students."""
        after = self.submission_timeout + KILL_MARGIN if after is None else after
        killed = set()
        for pid_file in running.glob("*.pid"):
            try:
                if time.time() - pid_file.stat().st_mtime > after:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                    killed.add(pid_file.stem)
                    pid_file.unlink()
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
        return killed

    def _merge(self, submission, result, seconds):
        """Copy one private course's results into the class course and gradebook."""
        student = submission.student_id
        if not result.get("success"):
            self._record(submission, status="error", reason=result.get("error", "grading failed"), seconds=seconds,
                         review=result.get("review"))
            return
        private = self.work / "students" / student
        (self.out / "verdicts").mkdir(exist_ok=True)  # every case of every test cell, as the grader decided it
        (self.out / "verdicts" / f"{student}.json").write_text(json.dumps(
            {"version": self.version, "verdicts": result.get("verdicts", {}), "missing": result.get("missing", {})}))
        for step in ["submitted", "autograded", "feedback"]:
            source = private / step / student / release.ASSIGNMENT
            target = self.course_root / step / student / release.ASSIGNMENT
            if target.exists():
                shutil.rmtree(target)
            if source.exists():
                shutil.copytree(source, target)
        feedback_html = self.course_root / "feedback" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.html"
        if feedback_html.exists():
            (self.out / "feedback").mkdir(exist_ok=True)
            shutil.copyfile(feedback_html, self.out / "feedback" / f"{student}.html")
        with Gradebook(f"sqlite:///{private / 'gradebook.db'}", course_id="hw2") as private_gb, \
                Gradebook(self.db_url, course_id="hw2") as class_gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's relationships warn on autoflush
            copy_submission(private_gb, class_gb, student)
            notes = hand_grades.restore(class_gb, student, self.out / hand_grades.FILE)
        crashed = any("KernelDied" in r or "SubmissionTimeout" in r for r in result["reasons"].values())
        self._record(submission, status="partial" if crashed else "graded",
                     reason=" | ".join(filter(None, [submission.note, *notes])), reasons=result["reasons"], seconds=seconds, review=result.get("review"))
        shutil.rmtree(private, ignore_errors=True)

    def _record(self, submission, status, reason="", reasons=None, seconds=None, review=None):
        self.ledger[submission.student_id] = {
            "sha256": submission.sha256, "file": str(submission.path), "name": submission.name,
            "status": status, "reason": reason, "reasons": reasons or {}, "review": review or [], "version": self.version,
            "seconds": round(seconds, 2) if seconds else None}
        self._save_ledger()

    def _save_ledger(self):
        temporary = self.ledger_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.ledger, indent=1, sort_keys=True))
        temporary.replace(self.ledger_path)  # atomic: an interrupted run never leaves half a ledger

    def refresh_feedback(self, submissions):
        """Make the feedback again, from the class gradebook, for every graded student whose hand grades
        (formgrader's scores, extra credit, comments) changed since it was made; return those students.
        grades.csv reads the gradebook anyway: no regrading needed after hand grading."""
        changed = []
        with Gradebook(self.db_url, course_id="hw2") as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # as in _merge
            for submission in submissions:
                entry = self.ledger.get(submission.student_id, {})
                if entry.get("status") not in ("graded", "partial") or entry.get("version") != self.version:
                    continue
                found = gb.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, submission.student_id)
                hand = [[f"score {g.name}", g.manual_score, g.extra_credit] for g in found.grades
                        if g.manual_score is not None or g.extra_credit]
                hand += [[f"comment {c.name}", c.manual_comment] for c in found.comments if c.manual_comment]
                mark = hashlib.sha256(json.dumps(sorted(hand)).encode()).hexdigest()[:12] if hand else ""
                if mark != entry.get("hand_graded", ""):
                    changed.append((submission.student_id, mark))
        config = grade_one.feedback_config(course.course_config(self.course_root, db_url=self.db_url))
        for student, mark in changed:
            if grade_one.generate_feedback(config, student):
                made = self.course_root / "feedback" / student / release.ASSIGNMENT / f"{release.NOTEBOOK}.html"
                (self.out / "feedback").mkdir(exist_ok=True)
                shutil.copyfile(made, self.out / "feedback" / f"{student}.html")
                self.ledger[student]["hand_graded"] = mark
        self._save_ledger()
        return [student for student, _ in changed]

    def write_grades_csv(self, submissions, policy=None, times=None):
        """grades.csv: one row per student with the score of every graded part, and with a late policy
        (late.LatePolicy) the submission time (from the export, else ``times``: {student: datetime}),
        days late, penalty and final score."""
        times = times or {}
        order = list(master.read().grade_ids)
        with Gradebook(self.db_url, course_id="hw2") as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # as in _merge
            notebook = gb.find_notebook(release.NOTEBOOK, release.ASSIGNMENT)
            cells = list(notebook.grade_cells) + list(notebook.task_cells)
            parts = sorted((c.name for c in cells), key=order.index)
            maximum = {c.name: c.max_score for c in cells}
            automatic = [c.name for c in notebook.grade_cells if c.cell_type == "code"]
            rows = []
            for submission in sorted(submissions, key=lambda s: s.student_id):
                entry = self.ledger.get(submission.student_id, {})
                if entry and entry.get("version") != self.version:  # an interrupted regrade: not mixed in
                    entry = {"status": "stale", "reason": f"graded under an earlier version of the master "
                             f"({entry.get('version')}); run ./kit grade again to grade it under {self.version}"}
                row = {"student": submission.student_id, "name": submission.name, "status": entry.get("status"),
                       "auto_max": _number(sum(maximum[p] for p in automatic)), "max": _number(sum(maximum.values()))}
                scores = {}
                if entry.get("status") in ("graded", "partial"):
                    found = gb.find_submission_notebook(release.NOTEBOOK, release.ASSIGNMENT, submission.student_id)
                    scores = {g.name: g.score for g in found.grades}
                    row["needs_manual_grade"] = sum(g.needs_manual_grade for g in found.grades)
                for part in parts:
                    row[part] = _number(scores.get(part)) if scores else ""
                row["auto_score"] = _number(sum(scores.get(p) or 0 for p in automatic))
                row["total"] = _number(sum(v or 0 for v in scores.values()))
                submitted_at = times.get(submission.student_id, submission.submitted_at)
                row["submitted_at"] = submitted_at.isoformat() if submitted_at else ""
                penalty = policy.penalty(row["total"], submitted_at, submission.marked_late) if policy else None
                row["late_days"] = penalty.days if penalty else ""
                row["late_penalty"] = _number(penalty.points) if penalty else ""
                row["final"] = _number(row["total"] - (penalty.points if penalty else 0))
                lost = [f"{part}: {why}" for part, why in sorted(
                    entry.get("reasons", {}).items(),
                    key=lambda item: order.index(item[0]) if item[0] in order else len(order))]
                row["reason"] = " | ".join(filter(None, [entry.get("reason", "")] + lost))
                row["review"] = " | ".join(entry.get("review", []))
                rows.append(row)
        columns = ["student", "name", "status", *parts, "auto_score", "auto_max", "needs_manual_grade",
                   "total", "max", "submitted_at", "late_days", "late_penalty", "final", "reason", "review"]
        with open(self.out / "grades.csv", "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in rows)
        return rows


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def spreadsheet_safe(value):
    """A CSV field that no spreadsheet runs as a formula (OWASP: text starting with = + - @ gets a
    leading '; tabs, carriage returns and other control characters go). Numbers stay numbers."""
    if not isinstance(value, str):
        return value
    value = CONTROL_CHARACTERS.sub("", value.replace("\r", " ").replace("\n", " "))
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _printable(text):
    """``text`` for the terminal: control characters (escape sequences that clear or fake the screen)
    shown as escapes, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _read_text(path):
    return path.read_text().strip() if path.exists() else None


def _number(value):
    if value is None:
        return ""
    return int(value) if float(value).is_integer() else round(float(value), 2)


def copy_submission(source_gb, target_gb, student):
    """Copy a student's autograded scores and comments between gradebooks (manual scores are kept)."""
    submission = source_gb.find_submission(release.ASSIGNMENT, student)
    target_gb.update_or_create_student(student)
    target = target_gb.update_or_create_submission(release.ASSIGNMENT, student, timestamp=submission.timestamp)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            copy = target_gb.find_grade(grade.name, notebook.name, release.ASSIGNMENT, student)
            copy.auto_score = grade.auto_score
            copy.needs_manual_grade = grade.needs_manual_grade if copy.manual_score is None else False
        for comment in notebook.comments:
            copy = target_gb.find_comment(comment.name, notebook.name, release.ASSIGNMENT, student)
            copy.auto_comment = comment.auto_comment
        target_notebook = target_gb.find_submission_notebook(notebook.name, release.ASSIGNMENT, student)
        target_notebook.late_submission_penalty = notebook.late_submission_penalty
    target_gb.db.commit()
    return target


def print_summary(rows, out):
    width = max([len(_printable(r["student"])) for r in rows] + [7])
    print(f"\n{'student':<{width}}  {'status':<8} {'auto':>9} {'by hand':>7}  reason")
    for row in rows:
        auto = f"{row['auto_score']}/{row['auto_max']}" if row["status"] in ("graded", "partial") else "-"
        pending = row.get("needs_manual_grade", "")
        reason = _printable(f"NEEDS REVIEW: {row['review']}" if row["review"] else row["reason"])
        reason = reason[:100] + ("..." if len(reason) > 100 else "")
        print(f"{_printable(row['student']):<{width}}  {row['status'] or '':<8} {auto:>9} {pending!s:>7}  {reason}")
    flagged = sum(bool(row["review"]) for row in rows)
    late_rows = [f"{_printable(row['student'])} -{row['late_penalty']}" for row in rows if row.get("late_days")]
    if late_rows:
        print(f"\nlate: {len(late_rows)} ({', '.join(late_rows)}); the column 'final' has the score after the penalty")
    if any(row.get("needs_manual_grade") for row in rows):
        print("\nby hand: parts still to grade by hand (written answers, plots); grade them in formgrader "
              f"(./kit formgrade {out}), then run the same ./kit grade again: grades.csv and the feedback take "
              "the hand grades, nothing is graded again")
    print(f"\ngrades: {out / 'grades.csv'}" + (f" ({flagged} need review: column 'review')" if flagged else "") +
          f"\nfeedback: {out / 'feedback'}\ngradebook and formgrader course: {out / 'course'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder or zip of submissions")
    parser.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="parallel graders (default: cores)")
    parser.add_argument("--db-url", help="SQLAlchemy URL of the gradebook (default: SQLite in OUT/course)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--submission-timeout", type=int, default=600,
                        help="seconds per submission, all cells together (default 600)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="memory limit of each kernel (default 4096)")
    parser.add_argument("--blas-threads", type=int,
                        help="BLAS threads of each kernel (default: the cores shared among the workers)")
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_false", default=None,
                        help="run kernels without the sandbox even as root (see SECURITY.md)")
    parser.add_argument("--kernel-spec", type=Path,
                        help="kernel.json of the course's own grading kernel, reached over ipc (e.g. a container)")
    parser.add_argument("--force", action="store_true", help="grade again what was already graded")
    parser.add_argument("--student", action="append", default=[], metavar="ID",
                        help="grade only this student again (a regrade request), leaving the others; repeatable")
    late.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        policy, times = late.from_arguments(args), late.read_times(args.times) if args.times else {}
    except (OSError, ValueError) as error:
        parser.error(str(error))
    grader = ClassGrader(args.out, args.workers, args.db_url, args.cell_timeout, args.submission_timeout,
                         args.memory_mb, args.blas_threads, args.sandbox, args.kernel_spec)
    try:
        submissions = grader.run(args.submissions, force=args.force, students=args.student)
    except ValueError as error:
        parser.error(str(error))
    hand_graded = grader.refresh_feedback(submissions)
    if hand_graded:
        print(f"feedback made again with the hand grades of {len(hand_graded)} students")
    pairs = similarity.write_similarity(submissions, grader.out)
    print_summary(grader.write_grades_csv(submissions, policy, times), grader.out)
    print(f"similar solutions: {len(pairs)} pairs ({grader.out / 'similarity.html'}; no grade changes)")
    print(f"class report: {report.write_report(grader.out)}")


if __name__ == "__main__":
    main()
