"""What the gate reads from the server: tables and column types, row counts, newest changes.

Everything comes from ``information_schema`` and one ``COUNT(*)``/``MAX()`` per checked
table, over any DB-API connection with ``%s`` parameters (pymysql). The checks themselves
(``checks.py``) are pure functions of these facts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dumpflow.loader.publish import MARKER
from dumpflow.loader.quality.business_time import SESSION_TIME_ZONE

#: Column types whose MAX() is a point in time the freshness checks can use.
TIME_TYPES = frozenset({"datetime", "timestamp", "date"})


class DbConnection(Protocol):
    """The part of a DB-API 2 connection the gate uses."""

    def cursor(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    data_type: str  # e.g. ``int``, ``datetime`` (information_schema DATA_TYPE, lower case)
    column_type: str  # e.g. ``int(11) unsigned`` (COLUMN_TYPE, lower case)


@dataclass(slots=True)
class TableFacts:
    """One table: its columns by lower-case name, and what was measured on it."""

    columns: dict[str, Column]
    rows: int | None = None
    newest: dict[str, dt.datetime | None] = field(default_factory=dict)


@dataclass(slots=True)
class SchemaFacts:
    schema: str
    tables: dict[str, TableFacts]


def quote(name: str) -> str:
    """A backtick-quoted identifier (backticks inside are doubled)."""
    return "`" + name.replace("`", "``") + "`"


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else str(value)


def _rows(conn: DbConnection, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        return list(cur.fetchall())
    finally:
        cur.close()


def schema_exists(conn: DbConnection, schema: str) -> bool:
    found = _rows(
        conn, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (schema,)
    )
    return bool(found)


def read_columns(conn: DbConnection, schema: str) -> dict[str, TableFacts]:
    """Every base table of ``schema`` with its columns (views are not the dump's data, nor is
    the loader's ownership marker in its shadow)."""
    rows = _rows(
        conn,
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE"
        " FROM information_schema.COLUMNS c"
        " JOIN information_schema.TABLES t"
        "   ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME"
        " WHERE c.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' AND c.TABLE_NAME <> %s"
        " ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        (schema, MARKER),
    )
    tables: dict[str, TableFacts] = {}
    for table, column, data_type, column_type in rows:
        name = _text(column)
        facts = tables.setdefault(_text(table), TableFacts(columns={}))
        facts.columns[name.lower()] = Column(
            name, _text(data_type).lower(), _text(column_type).lower()
        )
    return tables


def _as_datetime(value: object) -> dt.datetime | None:
    """MAX() of a time column; None for no rows, NULLs only, or zero dates only."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return None  # NULL, or a zero date the driver hands back as text


def measure(
    conn: DbConnection,
    facts: SchemaFacts,
    counted: Collection[str],
    newest: Mapping[str, str],
) -> None:
    """Fill in row counts of ``counted`` and ``MAX(column)`` of ``newest`` ({table: column}).

    Tables or columns the schema lacks, and columns of a non-time type, are left out: the
    checks report them.
    """
    for table in counted:
        if table in facts.tables:
            (row,) = _rows(conn, f"SELECT COUNT(*) FROM {quote(facts.schema)}.{quote(table)}")
            facts.tables[table].rows = int(row[0])
    for table, column in newest.items():
        table_facts = facts.tables.get(table)
        info = table_facts.columns.get(column.lower()) if table_facts else None
        if table_facts is None or info is None or info.data_type not in TIME_TYPES:
            continue
        (row,) = _rows(
            conn,
            f"SELECT MAX({quote(info.name)}) FROM {quote(facts.schema)}.{quote(table)}",
        )
        table_facts.newest[column.lower()] = _as_datetime(row[0])


@contextlib.contextmanager
def jst_session(conn: DbConnection) -> Iterator[None]:
    """Read TIMESTAMP columns as JST wall-clock time; the session's zone is restored after."""
    (row,) = _rows(conn, "SELECT @@session.time_zone")
    before = _text(row[0])
    _rows(conn, "SET SESSION time_zone = %s", (SESSION_TIME_ZONE,))
    try:
        yield
    finally:
        _rows(conn, "SET SESSION time_zone = %s", (before,))
