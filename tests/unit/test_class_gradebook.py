"""The class gradebook's URL (autograder/classrun/class_gradebook.py): PostgreSQL through the driver the kit
ships, a password never shown nor written, the place recorded for later runs, the SQLite backup. Without a
server: tests/e2e/test_postgresql_gradebook.py runs one."""
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import make_url

from autograder.classrun import class_gradebook
from autograder.classrun.class_course import ClassCourse
from autograder.grading.options import GradingOptions
from autograder.lms import formgrade

SECRET = "s3cr%t:@/"  # characters a URL must escape
URL = "postgresql://grader:s3cr%25t%3A%40%2F@db.example.org:5433/hw2?sslmode=require"


def test_postgresql_urls_use_the_driver_the_kit_ships_and_other_databases_are_refused():
    """SQLAlchemy 2 reads postgresql:// as psycopg 3, which requirements.txt does not install."""
    normalized = make_url(class_gradebook.normalized(URL))
    assert normalized.drivername == "postgresql+psycopg2" and normalized.password == SECRET
    assert normalized.database == "hw2" and normalized.port == 5433 and normalized.query == {"sslmode": "require"}
    assert class_gradebook.normalized("sqlite:////tmp/g.db") == "sqlite:////tmp/g.db"
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        class_gradebook.normalized("mysql://grader@db/hw2")
    with pytest.raises(ValueError, match="not an SQLAlchemy URL"):
        class_gradebook.normalized("db.example.org/hw2")


def test_the_url_is_shown_and_given_to_postgresqls_programs_without_its_password():
    for url in [URL, "postgresql+psycopg2://grader@/hw2?host=/run/pg&password=s3cr%25t%3A%40%2F"]:
        for shown in [class_gradebook.without_password(url), class_gradebook.libpq_uri(url)]:
            assert "s3cr" not in shown and make_url(shown).password is None and "grader@" in shown, shown
    assert class_gradebook.libpq_uri(URL) == "postgresql://grader@db.example.org:5433/hw2?sslmode=require"


def test_later_runs_use_the_gradebook_given_first_and_refuse_another(tmp_path):
    course = tmp_path / "course"
    assert class_gradebook.settle(course, None) == class_gradebook.default_url(course)
    url = class_gradebook.settle(course, URL)
    assert make_url(url).password == SECRET, "this run connects with the password it was given"
    course.mkdir()
    class_gradebook.record(course, url)
    assert SECRET not in (course / class_gradebook.RECORD).read_text()
    assert class_gradebook.settle(course, None) == class_gradebook.without_password(url)  # PGPASSWORD or ~/.pgpass
    assert class_gradebook.settle(course, URL.replace("s3cr", "new")) == url.replace("s3cr", "new")  # a new password
    with pytest.raises(ValueError, match="this class course's gradebook is postgresql.psycopg2://grader@db"):
        class_gradebook.settle(course, "postgresql://grader@db.example.org/other")
    refused = pytest.raises(ValueError, class_gradebook.settle, course, "sqlite:////elsewhere.db").value
    assert "not sqlite:////elsewhere.db" in str(refused) and "s3cr" not in str(refused)

    graded = tmp_path / "sqlite" / "course"  # graded before with the default SQLite gradebook
    graded.mkdir(parents=True)
    (graded / "gradebook.db").write_bytes(b"")
    with pytest.raises(ValueError, match="gradebook is sqlite"):
        class_gradebook.settle(graded, URL)
    class_gradebook.record(graded, class_gradebook.default_url(graded))
    assert not (graded / class_gradebook.RECORD).exists(), "a copy of OUT must not point at the original's file"


def test_the_course_config_names_the_gradebook_without_its_password(tmp_path):
    """nbgrader's commands and formgrader read OUT/course/nbgrader_config.py: PGPASSWORD or ~/.pgpass give it."""
    course = ClassCourse(tmp_path / "out", "v1", URL)
    course.root.mkdir(parents=True)
    (tmp_path / "jupyter").mkdir()
    course._write_config(SimpleNamespace(jupyter_path=tmp_path / "jupyter"), GradingOptions(tier="none"))
    text = (course.root / "nbgrader_config.py").read_text()
    assert "s3cr" not in text and "postgresql+psycopg2://grader@db.example.org:5433/hw2?sslmode=require" in text


def test_a_sqlite_gradebook_is_copied_before_a_rebuild_and_a_missing_pg_dump_stops_it(tmp_path, monkeypatch):
    gradebook = tmp_path / "gradebook.db"
    assert class_gradebook.backup(f"sqlite:///{gradebook}", tmp_path / "work", "v2") is None  # none made yet
    gradebook.write_bytes(b"grades")
    saved, how = class_gradebook.backup(f"sqlite:///{gradebook}", tmp_path / "work", "v2")
    assert saved == tmp_path / "work" / "gradebook-before-v2.db" and saved.read_bytes() == b"grades"
    assert how == f"a copy of {gradebook}"
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(class_gradebook, "SERVER_PROGRAMS", str(tmp_path / "none"))
    with pytest.raises(class_gradebook.BackupFailed, match="pg_dump is not installed.*not rebuilt"):
        class_gradebook.backup(URL, tmp_path / "work", "v2")


def test_formgrader_opens_a_course_whose_gradebook_is_on_a_server(tmp_path, monkeypatch):
    """A course with a PostgreSQL gradebook has no gradebook.db: its nbgrader_config.py says it is one."""
    with pytest.raises(SystemExit):
        formgrade.main([str(tmp_path)])
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "nbgrader_config.py").write_text("")
    started = []
    monkeypatch.setattr(formgrade.os, "execv", lambda program, command: started.append(command))
    monkeypatch.setattr(formgrade.kernel_launcher, "sandbox_tier", lambda: "none")
    monkeypatch.chdir(tmp_path)
    formgrade.main([str(tmp_path)])
    assert started and started[0][2:4] == ["jupyter", "lab"]


def test_a_server_out_of_reach_stops_the_run_before_nbgrader_and_says_so_without_the_password(tmp_path):
    from sqlalchemy.exc import OperationalError

    url = URL.replace("db.example.org:5433", "").replace("sslmode=require", f"host={tmp_path}")  # no server there
    course = ClassCourse(tmp_path / "out", "v1", url)
    with pytest.raises(OperationalError) as refused:
        course.prepare(tmp_path / "work", SimpleNamespace(template=tmp_path / "none"), GradingOptions(tier="none"))
    assert str(tmp_path) in str(refused.value.orig) and "s3cr" not in str(refused.value)
    assert not (course.root / "source").exists(), "nothing was made"
