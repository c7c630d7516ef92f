"""Restore a dump file into a schema with the ``mariadb`` client, as an operator would by hand.

Tests and benchmarks of the warehouse use it to put source tables in place without
depending on the production loader (``dumpflow.loader``), which has tests of its own.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import subprocess
from pathlib import Path

import pymysql

from dumpflow.db import Dsn
from dumpflow.sample.scratch import SampleDumpError


def restore_with_client(dsn: Dsn, schema: str, dump: Path) -> None:
    """Recreate ``schema`` and pipe ``dump`` (``.sql`` or ``.sql.gz``) into it.

    The schema is dropped first: a ``--compact`` dump has no ``DROP TABLE``, so it only
    restores into an empty schema. Pass only schemas you own.
    """
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not client:
        raise SampleDumpError(f"restore {dump.name}: no mariadb/mysql client is installed")
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{schema}`")
            cur.execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    command = [
        client,
        f"--host={dsn.host}",
        f"--port={dsn.port}",
        f"--user={dsn.user}",
        "--default-character-set=utf8mb4",
        "--init-command=SET SESSION sql_mode='NO_ENGINE_SUBSTITUTION'",
        schema,
    ]
    opener = gzip.open if dump.name.endswith(".gz") else open
    env = {**os.environ, "MYSQL_PWD": dsn.password}
    with (
        opener(dump, "rb") as source,
        subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc,
    ):
        assert proc.stdin is not None and proc.stderr is not None
        with contextlib.suppress(BrokenPipeError), proc.stdin:
            shutil.copyfileobj(source, proc.stdin, 1 << 20)
        stderr = proc.stderr.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        raise SampleDumpError(
            f"restore {dump.name} into {schema}: mariadb exited {proc.returncode}: {stderr}"
        )
