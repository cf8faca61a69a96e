"""A throwaway PostgreSQL for tests: ``postgres_url`` (session-scoped fixture).

Finds the server binaries (Debian's ``/usr/lib/postgresql/*/bin/``, else ``PATH``),
``initdb``s a cluster in a fresh temporary folder with a password-protected superuser,
starts it on a free port of 127.0.0.1 (its unix socket in that folder, durability off: the
data is thrown away), creates the ``assay`` database and yields
``postgresql+psycopg://assay:PASSWORD@127.0.0.1:PORT/assay``; stops it and removes the folder
at the end. PostgreSQL refuses to run as root: as root, the cluster belongs to the
``postgres`` user (which the Debian package creates) and the binaries run as that user.

Without PostgreSQL the tests skip with the reason, unless ``ASSAY_REQUIRE_SERVICES=1``
(``.ci/run`` sets it, installing the Debian ``postgresql`` package): then they fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PASSWORD = "pg-t3st-s3cret"
USER = "assay"


def _missing(reason: str) -> None:
    if os.environ.get("ASSAY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"ASSAY_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def _bindir() -> Path | None:
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                    key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Cluster:
    """One PostgreSQL cluster in ``folder``, run as ``user`` (None: the current user)."""

    def __init__(self, bindir: Path, folder: Path, user: str | None):
        self.bindir, self.folder, self.user = bindir, folder, user
        self.data, self.port = folder / "data", _free_port()

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.folder, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={password_file}",
                 "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w",
                 "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"


def admin_execute(url: str, statement: str) -> None:
    """Run ``statement`` outside a transaction (``CREATE DATABASE`` needs that) on ``url``."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh ``assay`` database on a throwaway PostgreSQL server."""
    bindir = _bindir()
    if bindir is None:
        _missing("PostgreSQL is not installed (apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            _missing("running as root and there is no postgres user to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="assay-pg-"))
    cluster = _Cluster(bindir, folder, user)
    try:
        cluster.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log = folder / "log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        _missing(f"PostgreSQL did not start: {exc}\n{detail}")
    try:
        admin_execute(cluster.url("postgres"), "CREATE DATABASE assay")
        yield cluster.url("assay")
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
