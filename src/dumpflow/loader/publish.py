"""Shadow schema lifecycle and the one-statement swap that publishes a load.

Tables are loaded into ``<schema>__shadow``. Publishing moves every current table of the
target to ``<schema>__previous`` and every shadow table into the target in a single
``RENAME TABLE``: readers see the old set or the new set, never a mix. Tables of the target
that the dump does not contain move to ``__previous`` too, so after a load the target holds
exactly the dump's tables (with a ``tables`` filter: exactly the loaded ones). The previous
set stays until the next successful load, for rollback.
"""

from __future__ import annotations

import pymysql

SHADOW_SUFFIX = "__shadow"
PREVIOUS_SUFFIX = "__previous"
MAX_SCHEMA_NAME = 64


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def shadow_name(schema: str) -> str:
    return schema + SHADOW_SUFFIX


def previous_name(schema: str) -> str:
    return schema + PREVIOUS_SUFFIX


def check_schema_name(schema: str) -> None:
    """Raise ValueError for names the loader cannot derive its helper schemas from."""
    longest = max(len(SHADOW_SUFFIX), len(PREVIOUS_SUFFIX))
    if not schema or len(schema) + longest > MAX_SCHEMA_NAME:
        raise ValueError(f"schema name must be 1..{MAX_SCHEMA_NAME - longest} characters")
    if schema.lower() in ("mysql", "information_schema", "performance_schema", "sys"):
        raise ValueError(f"refusing to load into the system schema {schema!r}")
    if schema.endswith((SHADOW_SUFFIX, PREVIOUS_SUFFIX)):
        raise ValueError(f"{schema!r} is a helper schema name, not a load target")


def base_tables(conn: pymysql.connections.Connection, schema: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (schema,),
        )
        return [str(row[0]) for row in cur.fetchall()]


def create_shadow(conn: pymysql.connections.Connection, schema: str) -> str:
    """A fresh, empty shadow schema (a leftover of a crashed run is dropped first)."""
    shadow = shadow_name(schema)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote(shadow)}")
        cur.execute(f"CREATE DATABASE {quote(shadow)} CHARACTER SET utf8mb4")
    return shadow


def drop_shadow(conn: pymysql.connections.Connection, schema: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {quote(shadow_name(schema))}")


def publish(conn: pymysql.connections.Connection, schema: str) -> list[str]:
    """Swap the shadow's tables into ``schema``; returns the tables moved to ``__previous``."""
    shadow, previous = shadow_name(schema), previous_name(schema)
    new_tables = base_tables(conn, shadow)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(schema)} CHARACTER SET utf8mb4")
        cur.execute(f"DROP DATABASE IF EXISTS {quote(previous)}")
        cur.execute(f"CREATE DATABASE {quote(previous)} CHARACTER SET utf8mb4")
        old_tables = base_tables(conn, schema)
        moves = [
            f"{quote(schema)}.{quote(name)} TO {quote(previous)}.{quote(name)}"
            for name in old_tables
        ] + [
            f"{quote(shadow)}.{quote(name)} TO {quote(schema)}.{quote(name)}" for name in new_tables
        ]
        if moves:
            cur.execute("RENAME TABLE " + ", ".join(moves))
        cur.execute(f"DROP DATABASE IF EXISTS {quote(shadow)}")
    return old_tables
