"""A throw-away MariaDB schema holding the simulated source tables, dumped with ``mariadb-dump``.

Building the tables in a real server and dumping them with the real client is what makes
the sample files byte-for-byte the format production dumps have.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pymysql

from dumpflow.db import Dsn
from dumpflow.dumps import JST
from dumpflow.sample import vocabulary as voc
from dumpflow.sample.rows import (
    Apartment,
    Inquiry,
    Moving,
    Room,
    RoomStatusLog,
    Tenant,
    as_values,
    column_names,
)
from dumpflow.sample.schema import TABLE_DDL, TABLES_WITH_UPDATED_AT
from dumpflow.sample.world import World

log = logging.getLogger(__name__)

#: Options of the operator's cron job (SOURCE_SCHEMA.md), so the files look like theirs.
DUMP_OPTIONS: tuple[str, ...] = (
    "--single-transaction",
    "--compact",
    "--extended-insert",
    "--triggers",
    "--routines",
    "--events",
    "--default-character-set=utf8mb4",
)
CHUNK = 1 << 20


class SampleDumpError(RuntimeError):
    """Writing a sample dump failed (the message names the dump and the step)."""


def _mariadb_dump_binary() -> str:
    found = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if not found:
        raise SampleDumpError(
            "sample-dump: neither mariadb-dump nor mysqldump is installed "
            "(apt-get install mariadb-client)"
        )
    return found


class ScratchSchema:
    """One uniquely named schema with the source tables; ``write`` replaces their rows."""

    def __init__(self, dsn: Dsn, conn: pymysql.connections.Connection, name: str) -> None:
        self.dsn, self.conn, self.name = dsn, conn, name

    def _execute(self, sql: str, args: Any = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)

    def execute(self, sql: str) -> None:
        """One statement on the scratch tables (the bad-dump variants)."""
        self._execute(sql)

    def create_tables(self) -> None:
        for ddl in TABLE_DDL.values():
            self._execute(ddl)
        nationalities = list(enumerate(voc.NATIONALITIES, 1))
        self._insert("m_nationalities", ["id", "nationality_name"], nationalities)
        self._insert("m_media", ["id", "media_name"], list(enumerate(voc.MEDIA, 1)))

    def _insert(self, table: str, columns: list[str], rows: Sequence[tuple[Any, ...]]) -> None:
        placeholders = ", ".join(["%s"] * len(columns))
        names = ", ".join(f"`{c}`" for c in columns)
        with self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO `{table}` ({names}) VALUES ({placeholders})", rows)

    def _replace(self, table: str, row_type: type, rows: Sequence[Any]) -> None:
        columns = column_names(row_type)
        self._execute(f"TRUNCATE TABLE `{table}`")
        self._insert(table, columns, [as_values(row, columns) for row in rows])

    def write(self, world: World) -> None:
        """Make the tables hold exactly the world's rows (emptied, then bulk-inserted)."""
        self._replace("apartments", Apartment, world.apartments)
        self._replace("rooms", Room, list(world.rooms.values()))
        self._replace("tenants", Tenant, list(world.tenants.values()))
        self._replace("movings", Moving, list(world.movings.values()))
        self._replace("inquiries", Inquiry, world.inquiries)
        self._replace("room_status_logs", RoomStatusLog, world.room_logs)

    def max_updated_at(self) -> dict[str, str]:
        """``{table: ISO timestamp +09:00}``: the manifest's view of how fresh each table is."""
        result: dict[str, str] = {}
        with self.conn.cursor() as cur:
            for table in TABLES_WITH_UPDATED_AT:
                cur.execute(f"SELECT MAX(`updated_at`) FROM `{table}`")
                (value,) = cur.fetchone() or (None,)
                if isinstance(value, dt.datetime):
                    result[table] = value.replace(tzinfo=JST).isoformat()
        return result

    def dump_to(self, path: Path, *, compress: bool) -> None:
        """Run ``mariadb-dump`` into ``path`` (gzip without a timestamp: same data, same bytes)."""
        command = [
            _mariadb_dump_binary(),
            f"--host={self.dsn.host}",
            f"--port={self.dsn.port}",
            f"--user={self.dsn.user}",
            *DUMP_OPTIONS,
            self.name,
        ]
        env = {**os.environ, "MYSQL_PWD": self.dsn.password}
        tmp = path.with_name(path.name + ".part")
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            with open(tmp, "wb") as raw:
                if compress:
                    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
                        shutil.copyfileobj(proc.stdout, packed, CHUNK)
                else:
                    shutil.copyfileobj(proc.stdout, raw, CHUNK)
            stderr = proc.stderr.read().decode(errors="replace").strip()
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise SampleDumpError(
                f"sample-dump {path.name}: mariadb-dump exited {proc.returncode}: {stderr}"
            )
        tmp.replace(path)


@contextlib.contextmanager
def scratch_schema(dsn: Dsn) -> Iterator[ScratchSchema]:
    """A fresh schema ``dumpflow_sample_<random>`` with the source tables, dropped afterwards."""
    name = f"dumpflow_sample_{uuid.uuid4().hex[:12]}"
    try:
        conn = pymysql.connect(**{**dsn.connect_kwargs(), "database": None})
    except pymysql.MySQLError as exc:
        raise SampleDumpError(f"sample-dump: cannot connect to {dsn.redacted()}: {exc}") from exc
    try:
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
                cur.execute(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
                cur.execute(f"USE `{name}`")
            log.info("building sample source tables in %s on %s", name, dsn.redacted())
            schema = ScratchSchema(dsn, conn, name)
            schema.create_tables()
        except pymysql.MySQLError as exc:
            raise SampleDumpError(
                f"sample-dump: cannot create the scratch schema {name} on {dsn.redacted()}: {exc}"
            ) from exc
        yield schema
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
