"""A real MySQL server for local runs: the production engine family (Aurora MySQL 3 is 8.0).

``scripts/mysql-server`` provides one on 127.0.0.1:3307 from Debian's packages (a cached
debootstrap chroot, GTIDs on, MySQL's own strict default sql_mode). The tests and
``dumpflow demo --engine mysql`` use the server at ``$DUMPFLOW_MYSQL_DSN`` when it answers,
else ask that script to start it; when neither works they fail with the script's message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dumpflow.db import Dsn
from dumpflow.local.mariadb import server_answers

log = logging.getLogger(__name__)

DEFAULT_MYSQL_DSN = "mysql://root@127.0.0.1:3307"
MYSQL_DSN_ENV = "DUMPFLOW_MYSQL_DSN"
SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "mysql-server"


class MySQLUnavailable(RuntimeError):
    """No MySQL answers and ``scripts/mysql-server`` could not provide one."""


def mysql_dsn_from_env() -> Dsn:
    return Dsn.parse(os.environ.get(MYSQL_DSN_ENV) or DEFAULT_MYSQL_DSN)


def start_script_server(timeout: float = 600.0) -> None:
    """Run ``scripts/mysql-server start`` (bootstraps the chroot on first use)."""
    if not SCRIPT.exists():
        raise MySQLUnavailable(
            f"no MySQL answers at ${MYSQL_DSN_ENV} and {SCRIPT} is not here: start a MySQL "
            f"8.0+ server and set {MYSQL_DSN_ENV}=mysql://user:pass@host:port"
        )
    try:
        done = subprocess.run(
            [str(SCRIPT), "start"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise MySQLUnavailable(f"{SCRIPT} start took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise MySQLUnavailable(
            f"{SCRIPT} start failed (exit {done.returncode}): "
            + (detail[-1] if detail else "no output")
        )


@contextlib.contextmanager
def mysql_server(dsn: Dsn | None = None) -> Iterator[Dsn]:
    """The MySQL at ``dsn`` (default ``$DUMPFLOW_MYSQL_DSN`` or 127.0.0.1:3307), started by
    the project script when it does not answer. The script's server outlives the context:
    it is cached for the next run."""
    wanted = dsn or mysql_dsn_from_env()
    if not server_answers(wanted):
        log.warning("no MySQL answers at %s; starting it with %s", wanted.redacted(), SCRIPT)
        start_script_server()
        if not server_answers(wanted, timeout=5):
            raise MySQLUnavailable(
                f"{SCRIPT} started a server, but none answers at {wanted.redacted()} "
                f"(set {MYSQL_DSN_ENV} to the server's address)"
            )
    yield wanted
