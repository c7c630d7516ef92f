"""Real schemas for the quality gate tests: the source's own table definitions, with rows.

The tables are the sample generator's DDL (the source system's real column types); rows get
the ``updated_at`` values a test asks for, every other column its implicit default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import pymysql

from dumpflow.db import Dsn
from dumpflow.loader.quality.config import GateConfig, parse_config
from dumpflow.loader.quality.facts import quote
from dumpflow.sample.schema import TABLE_DDL

REQUIRED = ("movings", "tenants", "apartments", "rooms", "inquiries")
DUMP_DATE = dt.date(2026, 11, 25)
#: A fresh newest change for DUMP_DATE: the evening before (inside 36 h of the day's end).
FRESH = dt.datetime(2026, 11, 24, 20, 15, 0)
#: The newest change of the previous day's load.
EARLIER = dt.datetime(2026, 11, 23, 19, 0, 0)

#: What the staging models read (the warehouse's _sources.yml lists columns like these).
DBT_COLUMNS: dict[str, dict[str, str | None]] = {
    "movings": {"id": None, "tenant_id": None, "room_id": None, "rent": None, "updated_at": None},
    "tenants": {"id": None, "moving_id": None, "status": None, "updated_at": None},
    "apartments": {"id": None, "apartment_name": None, "updated_at": None},
    "rooms": {"id": None, "apartment_id": None, "rent": None, "updated_at": None},
    "inquiries": {"id": None, "tenant_id": None, "updated_at": None},
}

#: A column of each table to fill with distinct text (apartments has a unique key on it).
UNIQUE = {
    "movings": "moveout_date",
    "tenants": "full_name",
    "apartments": "unique_number",
    "rooms": "room_number",
    "inquiries": "channel",
    "m_media": "media_name",
}


def unique_value(table: str, index: int) -> object:
    if table == "movings":
        return dt.date(2026, 1, 1) + dt.timedelta(days=index)
    return f"{table[:2]}{index:05d}"


#: Rows each table gets unless a test says otherwise.
DEFAULT_ROWS = 10


def gate_config(overrides: Mapping[str, object] | None = None, **defaults: object) -> GateConfig:
    """A validated config for the five required tables, with per-table overrides."""
    tables: dict[str, object] = {table: {} for table in REQUIRED}
    tables.update(overrides or {})
    return parse_config({"version": 1, "defaults": dict(defaults), "tables": tables}, "test config")


@contextmanager
def connect(dsn: Dsn) -> Iterator[pymysql.connections.Connection]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        yield conn
    finally:
        conn.close()


def stamps(newest: dt.datetime | None, count: int = DEFAULT_ROWS) -> list[dt.datetime | None]:
    """``count`` rows whose newest ``updated_at`` is ``newest`` (older rows a day apart)."""
    if newest is None:
        return [None] * count
    return [newest - dt.timedelta(days=index) for index in range(count)]


def build_schema(
    dsn: Dsn,
    schema: str,
    rows: Mapping[str, Sequence[dt.datetime | str | None]] | None = None,
    *,
    tables: Sequence[str] = REQUIRED,
    alter: Sequence[str] = (),
    newest: dt.datetime = FRESH,
) -> None:
    """Create ``schema`` with ``tables`` (real DDL) and rows; ``alter`` runs afterwards
    (``ALTER TABLE {schema}.rooms ...`` with ``{schema}`` filled in)."""
    rows = rows or {}
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # implicit defaults for NOT NULL columns
        cur.execute(f"CREATE DATABASE {quote(schema)} CHARACTER SET utf8mb4")
        for table in tables:
            cur.execute(f"USE {quote(schema)}")
            cur.execute(TABLE_DDL[table])
            values = rows.get(table, stamps(newest))
            if "`updated_at`" not in TABLE_DDL[table]:
                cur.executemany(
                    f"INSERT INTO {quote(table)} (id, {UNIQUE[table]}) VALUES (%s, %s)",
                    [(i, unique_value(table, i)) for i in range(1, len(values) + 1)],
                )
            elif values:
                cur.executemany(
                    f"INSERT INTO {quote(table)} (id, updated_at, {UNIQUE[table]})"
                    " VALUES (%s, %s, %s)",
                    [(i, value, unique_value(table, i)) for i, value in enumerate(values, 1)],
                )
        for statement in alter:
            cur.execute(statement.format(schema=quote(schema)))
