"""The class gradebook on a PostgreSQL server (./kit grade --db-url postgresql://...), a server of the test's own
(tests/postgres.py): the result bundles of the examples graded once (conftest.examples_graded, SQLite) written into
it as ./kit grade writes them give the same scores and the same grades.csv; hand grades, the late penalty and the
feedback made again go through it on a later run without --db-url; its password is never printed nor written; a
rebuild of the class course backs it up with pg_dump, and the dump restores into an empty database."""
import csv
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import postgres as postgres_server  # tests/postgres.py
import pytest
from grading import EXAMPLES, enter_hand_grade  # tests/grading.py
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

from autograder.assignment import master, release
from autograder.classrun import class_course, nbgrader_commands
from autograder.classrun.class_course import ClassCourse
from autograder.classrun.ledger import Ledger
from autograder.classrun.nbgrader_commands import Isolation
from autograder.grading import environment
from autograder.grading.bundle import ResultBundle
from autograder.grading.options import GradingOptions
from autograder.sandbox.kernel_launcher import sandbox_tier

# with the other tests of the examples graded once, on the worker that grades them (./kit test: --dist loadgroup)
DRIVER = "postgresql+psycopg2"  # what SQLAlchemy connects with here (its postgresql:// is psycopg 3, not installed)
pytestmark = [pytest.mark.xdist_group("examples_graded"),
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]  # nbgrader's autoflush warnings


@pytest.fixture(scope="module")
def postgres(request):
    """A running PostgreSQL server, stopped and removed after the module's tests whatever happens."""
    programs = postgres_server.programs()
    if programs is None:
        pytest.skip(f"PostgreSQL is not installed (no {postgres_server.PROGRAMS}/initdb; Debian: apt-get install "
                    "postgresql): the class gradebook on a server is not tested")
    server = postgres_server.Server(programs)
    request.addfinalizer(server.stop)
    server.start()
    return server


def scores(url):
    """What the gradebook at ``url`` (for SQLAlchemy: a driver it has) holds of each submission: {student:
    {"late": penalty, part: (auto score, manual score, extra credit, needs a hand grade, hand comment)}}."""
    with Gradebook(url, course_id="hw2") as gradebook:
        held = {}
        for notebook in gradebook.notebook_submissions(release.NOTEBOOK, release.ASSIGNMENT):
            comments = {c.name: c.manual_comment for c in notebook.comments}
            held[notebook.student.id] = {"late": notebook.late_submission_penalty, **{
                g.name: (g.auto_score, g.manual_score, g.extra_credit, bool(g.needs_manual_grade), comments.get(g.name))
                for g in notebook.grades}}
        return held


def bundles_of(out):
    """The ResultBundles of the students graded in ``out`` (./kit grade's OUT, SQLite gradebook) as the grading core
    made them: verdicts, reasons, review, notebooks and feedback page, and a gradebook holding their scores."""
    gradebook = (out / "course" / "gradebook.db").read_bytes()
    bundles = {}
    for student, entry in Ledger(out).entries.items():
        if entry["status"] not in ("graded", "partial"):
            continue
        recorded = json.loads((out / "verdicts" / f"{student}.json").read_text())
        files = {name: path.read_bytes() for name, step in class_course.STEPS.items()
                 if (path := out / "course" / step / student / release.ASSIGNMENT /
                     f"{release.NOTEBOOK}{Path(name).suffix}").exists()}
        bundles[student] = ResultBundle(student, entry["version"], success=True, reasons=entry["reasons"],
                                        verdicts=recorded["verdicts"], missing=recorded["missing"],
                                        review=entry["review"], files=files, gradebook=gradebook)
    return bundles


@dataclass
class PostgresClass:
    out: Path  # ./kit grade's OUT whose class gradebook is on the server
    database: str  # its database there
    sqlite_scores: dict  # scores() of the SQLite gradebook the bundles were merged into first


@pytest.fixture(scope="module")
def postgres_class(examples_graded, postgres, tmp_path_factory):
    """The examples' OUT (graded into SQLite) with its result bundles written into a PostgreSQL class course."""
    out = tmp_path_factory.mktemp("postgresql") / "out"
    shutil.copytree(examples_graded[0], out, symlinks=True)
    bundles = bundles_of(out)
    sqlite_scores = scores(f"sqlite:///{out / 'course' / 'gradebook.db'}")
    (out / "course" / "gradebook.db").unlink()  # this class's gradebook is the server's from now on
    postgres.client("createdb", "hw2")
    options = GradingOptions(blas_threads=1, tier=sandbox_tier())
    course = ClassCourse(out, release.master_version(), postgres.url("hw2"))
    course.prepare(backups=out / "work", grading=environment.prepare(out / "work", options), options=options)
    ledger = Ledger(out)
    for student, bundle in bundles.items():
        assert course.write(bundle, ledger.get(student)["sha256"], ledger.merged(student)) == []
    return PostgresClass(out, "hw2", sqlite_scores)


def kit_grade(out, *options):
    """./kit grade on the examples into ``out``: (exit code, stdout, stderr)."""
    run = subprocess.run([sys.executable, "-m", "autograder.classrun.grade", str(EXAMPLES), "--out", str(out),
                          "--blas-threads", "1", *options], cwd=release.REPO, capture_output=True, text=True,
                         timeout=600)
    return run.returncode, run.stdout, run.stderr


def rows_of(out):
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_a_class_on_postgresql_gets_the_grades_it_gets_on_sqlite(postgres_class, postgres, examples_graded, tmp_path,
                                                                 monkeypatch):
    out, url = postgres_class.out, postgres.url(postgres_class.database, driver=DRIVER)
    assert scores(url) == postgres_class.sqlite_scores and len(postgres_class.sqlite_scores) == 4

    # graded by hand in formgrader (which writes the gradebook), and late: the inputs of tests/e2e/test_grader.py's
    # late policy on SQLite; then ./kit grade with the password in the URL, as a user may write it
    with Gradebook(url, course_id="hw2") as gradebook:
        for part in (p for p in master.read().parts if p.by_hand):
            enter_hand_grade(gradebook, "alice", part.grade_id, part.points / 2, comment="Half marks: see the notes.")
    (tmp_path / "times.csv").write_text("student,submitted_at\nalice,2026-10-03T10:00:00-07:00\n"
                                        "bob,2026-10-01T23:59:30-07:00\n")
    code, stdout, stderr = kit_grade(out, "--db-url", postgres.url(postgres_class.database), "--due",
                                     "2026-10-01T23:59-07:00", "--late-percent-per-day", "10", "--late-cap", "15",
                                     "--grace-minutes", "5", "--times", str(tmp_path / "times.csv"))
    assert code == 0, stdout + stderr
    assert "0 to grade" in stdout and "class gradebook: postgresql+psycopg2://grader@/hw2?host=" in stdout, stdout

    # grades.csv from the server: what SQLite gave, but for what the late policy and alice's hand grades add
    rows, late = rows_of(out), ("submitted_at", "late_days", "late_penalty", "final", "auto_final")
    sqlite_rows = examples_graded[1]
    assert sorted(rows) == sorted(sqlite_rows) and rows["alice"] != sqlite_rows["alice"]
    for student, row in rows.items():
        by_hand = {p.grade_id for p in master.read().parts if p.by_hand} | {"total", "needs_manual_grade"} \
            if student == "alice" else set()
        assert {k: v for k, v in row.items() if k not in {*late, *by_hand}} == \
            {k: v for k, v in sqlite_rows[student].items() if k not in {*late, *by_hand}}, student
    alice = rows["alice"]
    assert (alice["total"], alice["late_days"], alice["late_penalty"], alice["final"], alice["auto_final"]) == \
        ("49.5", "2", "9", "40.5", "33.15"), alice
    assert scores(url)["alice"]["late"] == 9 and scores(url)["bob"]["late"] is None  # formgrader shows it
    assert "feedback made again for 1 student whose hand grades or late penalty changed" in stdout, stdout
    page = (out / "feedback" / "alice.html").read_text()
    assert "Late submission penalty (Score: -9.0)" in page and "Score: 40.5 / 60.0" in page
    assert "Half marks: see the notes." in page
    printed = [stdout, stderr]

    # the password: never printed, nowhere in OUT (results.json, nbgrader_config.py, the recorded URL, logs...)
    assert not [text for text in printed if postgres.password in text]
    assert not [path for path in out.rglob("*") if path.is_file() and not path.is_symlink()
                and postgres.password.encode() in path.read_bytes()]
    # nbgrader's own commands and formgrader in OUT/course: the URL without the password, which PGPASSWORD gives
    monkeypatch.setattr(nbgrader_commands, "isolate", lambda options: Isolation(options.ipc_tmpfs_mb, "test"))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(out / "course")).load_config()
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    with Gradebook(config.CourseDirectory.db_url, course_id="hw2") as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(postgres_class.sqlite_scores)


def test_a_rebuild_backs_the_server_gradebook_up_with_pg_dump_and_the_dump_restores(postgres_class, postgres,
                                                                                   tmp_path, monkeypatch, capsys):
    """The master changed: before the submissions leave the gradebook, pg_dump archives it in OUT/work; restored into
    an empty database, it holds every score it held."""
    out = tmp_path / "out"
    shutil.copytree(postgres_class.out, out, symlinks=True)
    postgres.client("createdb", "--template", postgres_class.database, "moved")  # a copy of the class's database
    (out / "course" / "gradebook_url").write_text(postgres.url("moved", password=False))  # moved, as README says
    monkeypatch.setenv("PGPASSWORD", postgres.password)  # what a later run without --db-url connects with
    before = scores(postgres.url("moved", driver=DRIVER))
    assert len(before) == 4

    options = GradingOptions(blas_threads=1, tier=sandbox_tier())
    course = ClassCourse(out, "the-next-version", None)
    course.prepare(backups=out / "work", grading=environment.prepare(out / "work", options), options=options)
    printed = capsys.readouterr().out
    dump = out / "work" / "gradebook-before-the-next-version.dump"
    assert f"the class gradebook was backed up first: {dump}" in printed and "pg_restore --no-owner" in printed, printed
    assert "the course was rebuilt" in printed and postgres.password not in printed
    assert scores(postgres.url("moved", driver=DRIVER)) == {}, "the rebuild takes the submissions out to regrade them"

    postgres.client("createdb", "restored")
    postgres.client("pg_restore", "--no-owner", "--dbname", "restored", str(dump))
    assert scores(postgres.url("restored", driver=DRIVER)) == before
