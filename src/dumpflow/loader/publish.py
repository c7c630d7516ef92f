"""Shadow schema lifecycle and the one-statement swap that publishes a load.

Tables are loaded into ``<schema>__shadow``. Publishing moves every current table of the
target to ``<schema>__previous`` and every shadow table into the target in a single
``RENAME TABLE``: readers see the old set or the new set, never a mix. Tables of the target
that the dump does not contain move to ``__previous`` too, so after a load the target holds
exactly the dump's tables (with a ``tables`` filter: exactly the loaded ones). The previous
set stays until the next successful load, for rollback: the same RENAME moves it aside to
``<schema>__retired``, dropped only once the swap succeeded.
"""

from __future__ import annotations

import pymysql

SHADOW_SUFFIX = "__shadow"
PREVIOUS_SUFFIX = "__previous"
RETIRED_SUFFIX = "__retired"
HELPER_SUFFIXES = (SHADOW_SUFFIX, PREVIOUS_SUFFIX, RETIRED_SUFFIX)
MAX_SCHEMA_NAME = 64


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def shadow_name(schema: str) -> str:
    return schema + SHADOW_SUFFIX


def previous_name(schema: str) -> str:
    return schema + PREVIOUS_SUFFIX


def check_schema_name(schema: str) -> None:
    """Raise ValueError for names the loader cannot derive its helper schemas from."""
    longest = max(len(suffix) for suffix in HELPER_SUFFIXES)
    if not schema or len(schema) + longest > MAX_SCHEMA_NAME:
        raise ValueError(f"schema name must be 1..{MAX_SCHEMA_NAME - longest} characters")
    if schema.lower() in ("mysql", "information_schema", "performance_schema", "sys"):
        raise ValueError(f"refusing to load into the system schema {schema!r}")
    if schema.endswith(HELPER_SUFFIXES):
        raise ValueError(f"{schema!r} is a helper schema name, not a load target")


def base_tables(conn: pymysql.connections.Connection, schema: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (schema,),
        )
        return [str(row[0]) for row in cur.fetchall()]


def drop_dangling_foreign_keys(
    conn: pymysql.connections.Connection, schema: str
) -> list[tuple[str, str]]:
    """Drop foreign keys of ``schema`` whose parent table is not in it; (table, constraint).

    A table filter (or a dump without the parent) leaves such a key behind; published, it
    would point at a table of the shadow schema that no longer exists.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT rc.TABLE_NAME, rc.CONSTRAINT_NAME "
            "FROM information_schema.REFERENTIAL_CONSTRAINTS AS rc "
            "WHERE rc.CONSTRAINT_SCHEMA = %s AND NOT EXISTS ("
            "  SELECT 1 FROM information_schema.TABLES AS t "
            "  WHERE t.TABLE_SCHEMA = rc.UNIQUE_CONSTRAINT_SCHEMA "
            "  AND t.TABLE_NAME = rc.REFERENCED_TABLE_NAME) "
            "ORDER BY rc.TABLE_NAME, rc.CONSTRAINT_NAME",
            (schema,),
        )
        dangling = [(str(row[0]), str(row[1])) for row in cur.fetchall()]
        for table, constraint in dangling:
            cur.execute(
                f"ALTER TABLE {quote(schema)}.{quote(table)} DROP FOREIGN KEY {quote(constraint)}"
            )
    return dangling


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
    shadow, previous, retired = shadow_name(schema), previous_name(schema), schema + RETIRED_SUFFIX
    new_tables = base_tables(conn, shadow)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(schema)} CHARACTER SET utf8mb4")
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(previous)} CHARACTER SET utf8mb4")
        cur.execute(f"DROP DATABASE IF EXISTS {quote(retired)}")
        cur.execute(f"CREATE DATABASE {quote(retired)} CHARACTER SET utf8mb4")
        old_tables = base_tables(conn, schema)
        moves = [
            *(_move(previous, retired, name) for name in base_tables(conn, previous)),
            *(_move(schema, previous, name) for name in old_tables),
            *(_move(shadow, schema, name) for name in new_tables),
        ]
        try:
            if moves:
                cur.execute("RENAME TABLE " + ", ".join(moves))
        finally:
            cur.execute(f"DROP DATABASE IF EXISTS {quote(retired)}")
        cur.execute(f"DROP DATABASE IF EXISTS {quote(shadow)}")
    return old_tables


def _move(source: str, destination: str, table: str) -> str:
    return f"{quote(source)}.{quote(table)} TO {quote(destination)}.{quote(table)}"
