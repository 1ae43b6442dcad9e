"""A PostgreSQL server of a test's own: made by initdb in a temporary folder, listening only on a Unix socket
in that folder (no TCP), with a password (scram-sha-256), run by pg_ctl as a user other than root (PostgreSQL
refuses root), stopped and removed by ``stop``. Debian's postgresql package gives its programs (CI installs it)."""
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

PROGRAMS = "/usr/lib/postgresql/*/bin"
SERVER_USER = "nobody"  # who runs the server when the tests run as root
ROLE = "grader"  # the superuser initdb makes


def programs():
    """The folder (Path) of the newest installed PostgreSQL's programs, or None when none is installed."""
    found = [Path(p).parent for p in glob.glob(f"{PROGRAMS}/initdb")]
    return max(found, key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0, default=None)


class Server:
    """A server in ``folder`` (Path: its data, its socket, its log) with the password ``password`` (str) of ROLE:
    ``start`` it, and ``stop`` it whatever happened (a fixture's finalizer)."""

    def __init__(self, bin_folder):
        self.bin = Path(bin_folder)
        self.folder = Path(tempfile.mkdtemp(prefix="hw2-pg-", dir="/tmp"))  # short: a socket's path has 107 bytes
        self.password = secrets.token_urlsafe(16)
        self._owner = pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None

    def start(self):
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        if self._owner:
            for path in (self.folder, password_file):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        self._server("initdb", "--pgdata", str(self.folder / "data"), "--username", ROLE,
                     "--pwfile", str(password_file), "--auth", "scram-sha-256", "--encoding", "UTF8", "--no-sync")
        password_file.unlink()
        self._server("pg_ctl", "start", "--pgdata", str(self.folder / "data"), "--wait", "--log",
                     str(self.folder / "log"), "-o", f"-c listen_addresses='' -k {self.folder} -c fsync=off")

    def _server(self, program, *arguments):
        """Run the server's ``program`` as SERVER_USER when this is root."""
        as_user = ["runuser", "-u", SERVER_USER, "--"] if self._owner else []
        run = subprocess.run([*as_user, str(self.bin / program), *arguments], capture_output=True, text=True,
                             timeout=60)
        if run.returncode:
            log = (self.folder / "log").read_text() if (self.folder / "log").exists() else ""
            raise RuntimeError(f"{program} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}\n{log}")

    def url(self, database, password=True, driver="postgresql"):
        """The SQLAlchemy URL (str) of ``database``, with the password unless not ``password``: as a user writes it
        for the kit (postgresql://), or for SQLAlchemy itself with the ``driver`` installed (postgresql+psycopg2)."""
        return URL.create(driver, ROLE, self.password if password else None, database=database,
                          query={"host": str(self.folder)}).render_as_string(hide_password=False)

    def client(self, program, *arguments):
        """Run the client ``program`` (createdb, pg_restore, ...) of this server's version against it."""
        environment = {**os.environ, "PGPASSWORD": self.password, "PGHOST": str(self.folder), "PGUSER": ROLE}
        return subprocess.run([str(self.bin / program), *arguments], env=environment, check=True, capture_output=True,
                              text=True, timeout=60)

    def stop(self):
        """Stop the server (whatever it is doing) and remove its folder."""
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._server("pg_ctl", "stop", "--pgdata", str(self.folder / "data"), "--mode", "immediate", "--wait")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
