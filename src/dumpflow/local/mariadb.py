"""A MariaDB server for local runs: the configured one if it answers, else a throw-away one.

The demo and the tests need a real server. When nothing answers at the DSN and a
``mariadbd`` binary is installed, a private server is started in a temporary directory on a
free port and stopped (and deleted) when the context exits.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pymysql

from dumpflow.db import Dsn

log = logging.getLogger(__name__)


class MariaDBUnavailable(RuntimeError):
    """No server answers and none can be started here."""


def server_answers(dsn: Dsn, timeout: float = 2.0) -> bool:
    try:
        conn = pymysql.connect(**dsn.connect_kwargs(), connect_timeout=int(max(timeout, 1)))
    except pymysql.err.OperationalError:
        return False
    conn.close()
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )


@contextlib.contextmanager
def throwaway_server(
    startup_timeout: float = 60.0, extra_args: Sequence[str] = ()
) -> Iterator[Dsn]:
    """Start a private mariadbd in a temporary directory; yields its DSN; removes it after.

    ``extra_args`` are added to the server's command line (e.g. its TLS certificate)."""
    mariadbd, install_db = _binary("mariadbd"), _binary("mariadb-install-db")
    if not mariadbd or not install_db:
        raise MariaDBUnavailable(
            "no MariaDB answers and no mariadbd binary is installed: install MariaDB "
            "(apt-get install mariadb-server) or set DUMPFLOW_DSN to a running server"
        )
    workdir = Path(tempfile.mkdtemp(prefix="dumpflow-mariadb-"))
    datadir, port = workdir / "data", _free_port()
    subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            mariadbd,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={workdir / 'mariadb.sock'}",
            "--user=root",
            f"--pid-file={workdir / 'mariadb.pid'}",
            f"--log-error={workdir / 'error.log'}",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=512M",
            "--max-allowed-packet=256M",
            "--innodb-flush-log-at-trx-commit=2",
            # --no-defaults would leave latin1: new schemas must take Japanese text, as on
            # Aurora and on distribution builds of MariaDB.
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dsn = Dsn(host="127.0.0.1", port=port, user="root", password="")
    try:
        deadline = time.monotonic() + startup_timeout
        while not server_answers(dsn, timeout=1):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise MariaDBUnavailable(
                    f"throw-away mariadbd did not start; see {workdir / 'error.log'}"
                )
            time.sleep(0.2)
        log.info("started throw-away MariaDB on port %d in %s", port, workdir)
        yield dsn
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def mariadb_server(dsn: Dsn | None = None) -> Iterator[Dsn]:
    """The server at ``dsn`` (default: ``$DUMPFLOW_DSN`` or local) or a throw-away one."""
    wanted = dsn or Dsn.from_env()
    if server_answers(wanted):
        yield wanted
        return
    log.warning("no MariaDB answers at %s; starting a throw-away server", wanted.redacted())
    with throwaway_server() as started:
        yield started
