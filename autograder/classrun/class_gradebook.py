"""Where the class gradebook lives: an SQLAlchemy URL (``./kit grade --db-url``), SQLite in OUT/course
by default or a database on a PostgreSQL server; the URL as the kit shows and writes it (never with its
password); the place recorded in OUT, so that a later run without --db-url uses the same gradebook; and
the gradebook's backup before the class course is rebuilt for a new master (a copy of the SQLite file,
pg_dump's archive of a PostgreSQL database).

A password is never printed nor written by the kit. What runs later without it (nbgrader's own commands
and formgrader in OUT/course, whose nbgrader_config.py holds the URL without it, and ``./kit grade``
without --db-url) connects through PostgreSQL's client library, which takes it from PGPASSWORD or the
password file ~/.pgpass (PGPASSFILE): the better place for it from the start, since a command's arguments
are visible to the machine's other users.
"""
import glob
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

POSTGRESQL_DRIVER = "postgresql+psycopg2"  # SQLAlchemy 2 reads postgresql:// as psycopg 3; the kit ships psycopg2
BACKENDS = ("sqlite", "postgresql")  # nbgrader's gradebook also runs elsewhere, but the kit ships no other driver
RECORD = "gradebook_url"  # in OUT/course: the URL of a gradebook given with --db-url, without its password
SERVER_PROGRAMS = "/usr/lib/postgresql/*/bin"  # Debian's and Ubuntu's PostgreSQL, when pg_dump is not on PATH


class BackupFailed(RuntimeError):
    """The gradebook could not be backed up: the class course is not rebuilt."""


def default_url(course_root):
    """The SQLite gradebook in the class course's folder ``course_root`` (Path)."""
    return f"sqlite:///{Path(course_root) / 'gradebook.db'}"


def normalized(url):
    """``url`` (str) with PostgreSQL's driver named (postgresql:// is the kit's psycopg2). ValueError for
    a URL that is not one or names another database than SQLite and PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ValueError(f"--db-url: not an SQLAlchemy URL ({error})") from None
    if parsed.get_backend_name() not in BACKENDS:
        raise ValueError(f"--db-url: the class gradebook is SQLite or PostgreSQL (postgresql://USER@HOST/DATABASE), "
                         f"not {parsed.get_backend_name()}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=POSTGRESQL_DRIVER)
    return parsed.render_as_string(hide_password=False)


def without_password(url):
    """``url`` (str) as the kit prints and writes it: no password, neither in its user part nor in its query."""
    parsed = make_url(url)
    query = {key: value for key, value in parsed.query.items() if key != "password"}
    return parsed.set(query=query)._replace(password=None).render_as_string(hide_password=False)  # set() keeps a None


def settle(course_root, given):
    """The URL (str, normalized) of the class gradebook of the course at ``course_root`` (Path): ``given``
    (--db-url, str or None), else the one recorded by an earlier run, else the default SQLite file. A
    ``given`` URL other than the gradebook the course already has is a ValueError: the ledger's students
    are graded in that one, and another gradebook lacks them."""
    record = Path(course_root) / RECORD
    current = record.read_text().strip() if record.exists() else None
    if current is None and Path(course_root, "gradebook.db").exists():
        current = default_url(course_root)
    if not given:
        return normalized(current) if current else default_url(course_root)
    url = normalized(given)
    if current and without_password(url) != without_password(current):
        raise ValueError(f"--db-url: this class course's gradebook is {without_password(current)}, not "
                         f"{without_password(url)} (its students are graded there): grade into another --out, or "
                         f"move the gradebook first (README: the class gradebook on a PostgreSQL server) and write "
                         f"the new URL into {record}")
    return url


def record(course_root, url):
    """Note ``url`` (str) in OUT/course as the class gradebook, without its password; the default leaves no note."""
    path = Path(course_root) / RECORD
    if url == default_url(course_root):
        path.unlink(missing_ok=True)
    else:
        path.write_text(without_password(url) + "\n")


def backup(url, folder, version):
    """Back up the gradebook at ``url`` (str) into ``folder`` (Path) before the class course is made again
    for master ``version`` (str): OUT/work/gradebook-before-<version>.db (a copy of the SQLite file) or
    .dump (pg_dump's custom format). Returns (the backup's Path, what it is and how it restores: str), or
    None when there is no gradebook yet. BackupFailed when it cannot be made (pg_dump missing or failing)."""
    parsed = make_url(url)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        source = Path(parsed.database)
        if not source.exists():
            return None
        target = folder / f"gradebook-before-{version}.db"
        shutil.copyfile(source, target)
        return target, f"a copy of {source}"
    target = folder / f"gradebook-before-{version}.dump"
    given = parsed.password or parsed.query.get("password")
    password = {"PGPASSWORD": given} if given else {}  # never in pg_dump's arguments, which ps shows
    dumped = subprocess.run([client_program("pg_dump"), "--format=custom", "--no-owner", f"--file={target}",
                             f"--dbname={libpq_uri(url)}"], env={**os.environ, **password},
                            capture_output=True, text=True)
    if dumped.returncode:
        target.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump could not back up the class gradebook {without_password(url)}, so the course "
                           f"is not rebuilt: {dumped.stderr.strip()}")
    empty = make_url(libpq_uri(url)).set(database=f"{parsed.database}_before").render_as_string(hide_password=False)
    return target, f"pg_dump's archive: it restores into an empty database (createdb) with pg_restore --no-owner " \
                   f"--dbname='{empty}' {target}"


def libpq_uri(url):
    """``url`` (str, SQLAlchemy's) as PostgreSQL's own programs take it (psql, pg_dump, pg_restore): no
    driver, no password (PGPASSWORD or ~/.pgpass gives it); its query is libpq's parameters already."""
    return make_url(without_password(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def client_program(name):
    """The path (str) of PostgreSQL's client program ``name`` (pg_dump, pg_restore): on PATH, else the newest
    of SERVER_PROGRAMS. BackupFailed when there is none."""
    installed = sorted(glob.glob(f"{SERVER_PROGRAMS}/{name}"), key=_major)
    found = shutil.which(name) or (installed[-1] if installed else None)
    if not found:
        raise BackupFailed(f"{name} is not installed, so the class gradebook cannot be backed up and the course is "
                           f"not rebuilt: install PostgreSQL's client programs (Debian: apt-get install "
                           f"postgresql-client, of the server's version or newer)")
    return found


def _major(path):
    """The major version in a SERVER_PROGRAMS path (int; 0 when it has none)."""
    folder = Path(path).parent.parent.name
    return int(folder) if folder.isdigit() else 0
