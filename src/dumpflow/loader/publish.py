"""Shadow schema lifecycle and the one-statement swap that publishes a load.

Tables are loaded into ``<schema>__shadow``. Publishing moves every current table of the
target to ``<schema>__previous`` and every shadow table into the target in a single
``RENAME TABLE``: readers see the old set or the new set, never a mix. Tables of the target
that the dump does not contain move to ``__previous`` too, so after a load the target holds
exactly the dump's tables (with a ``tables`` filter: exactly the loaded ones). The previous
set stays until the next successful load, for rollback: the same RENAME moves it aside to
``<schema>__retired``, dropped only once the swap succeeded.

The loader drops only schemas it made: the shadow and the retired schema carry a marker
table (MARKER) from their creation, and one of those names that exists without it refuses
the load. A failed swap leaves the target and ``__previous`` as they were (a schema the
publish had to create for it is dropped again, empty).
"""

from __future__ import annotations

import pymysql

SHADOW_SUFFIX = "__shadow"
PREVIOUS_SUFFIX = "__previous"
RETIRED_SUFFIX = "__retired"
HELPER_SUFFIXES = (SHADOW_SUFFIX, PREVIOUS_SUFFIX, RETIRED_SUFFIX)
MAX_SCHEMA_NAME = 64
MARKER = "__dumpflow_loader_owns_this_schema"
"""A table in the shadow and retired schemas: the loader made them and may drop them."""


class NotOurs(RuntimeError):
    """A helper schema exists that the loader did not make: it is never dropped."""


class PublishError(RuntimeError):
    """The swap failed (``swapped`` False: nothing changed) or its clean-up did."""

    def __init__(self, message: str, swapped: bool) -> None:
        super().__init__(message)
        self.swapped = swapped


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


def retired_name(schema: str) -> str:
    return schema + RETIRED_SUFFIX


def schema_exists(conn: pymysql.connections.Connection, schema: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (schema,))
        return cur.fetchone() is not None


def _marked(conn: pymysql.connections.Connection, schema: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (schema, MARKER),
        )
        return cur.fetchone() is not None


def check_helpers_are_ours(conn: pymysql.connections.Connection, schema: str) -> None:
    """Raise NotOurs if a shadow or retired schema exists without the loader's marker."""
    for helper in (shadow_name(schema), retired_name(schema)):
        if schema_exists(conn, helper) and not _marked(conn, helper):
            raise NotOurs(
                f"schema {helper!r} exists and was not made by the loader (no {MARKER} table): "
                "refusing to drop it; rename or drop it yourself if it is not needed"
            )


def _create_marked(conn: pymysql.connections.Connection, helper: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {quote(helper)} CHARACTER SET utf8mb4")
        cur.execute(f"CREATE TABLE {quote(helper)}.{quote(MARKER)} (created_by varchar(64))")


def _drop_if_ours(conn: pymysql.connections.Connection, helper: str) -> None:
    if schema_exists(conn, helper):
        if not _marked(conn, helper):
            raise NotOurs(f"schema {helper!r} lost the loader's marker: not dropped")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE {quote(helper)}")


def create_shadow(conn: pymysql.connections.Connection, schema: str) -> str:
    """A fresh, empty, marked shadow schema (a marked leftover of a crashed run is dropped)."""
    check_helpers_are_ours(conn, schema)
    shadow = shadow_name(schema)
    _drop_if_ours(conn, shadow)
    _drop_if_ours(conn, retired_name(schema))
    _create_marked(conn, shadow)
    return shadow


def drop_shadow(conn: pymysql.connections.Connection, schema: str) -> None:
    _drop_if_ours(conn, shadow_name(schema))


def shadow_tables(conn: pymysql.connections.Connection, schema: str) -> list[str]:
    """The loaded tables of the shadow (without the marker)."""
    return [name for name in base_tables(conn, shadow_name(schema)) if name != MARKER]


def publish(conn: pymysql.connections.Connection, schema: str) -> tuple[list[str], str | None]:
    """Swap the shadow's tables into ``schema``: (tables moved to ``__previous``, warning).

    Raises PublishError(swapped=False) when the swap failed: target and ``__previous`` are
    as they were. After a swap, a failed clean-up is the returned warning, never an error.
    """
    shadow, previous, retired = shadow_name(schema), previous_name(schema), retired_name(schema)
    new_tables = shadow_tables(conn, schema)
    made = [name for name in (schema, previous) if not schema_exists(conn, name)]
    try:
        with conn.cursor() as cur:
            for name in made:
                cur.execute(f"CREATE DATABASE {quote(name)} CHARACTER SET utf8mb4")
            _drop_if_ours(conn, retired)
            _create_marked(conn, retired)
            old_tables = base_tables(conn, schema)
            moves = [
                *(_move(previous, retired, name) for name in base_tables(conn, previous)),
                *(_move(schema, previous, name) for name in old_tables),
                *(_move(shadow, schema, name) for name in new_tables),
            ]
            if moves:
                swap(cur, moves)
    except (pymysql.err.MySQLError, NotOurs) as exc:
        _undo(conn, [*made, retired])
        raise PublishError(f"RENAME TABLE failed, nothing was published: {exc}", False) from exc
    try:
        _drop_if_ours(conn, retired)
        _drop_if_ours(conn, shadow)
    except (pymysql.err.MySQLError, NotOurs) as exc:
        return old_tables, (
            f"published: {schema!r} holds the new tables and {previous!r} the replaced ones, "
            f"but cleaning up {shadow!r}/{retired!r} failed ({exc}); the next load drops them"
        )
    return old_tables, None


def swap(cur: pymysql.cursors.Cursor, moves: list[str]) -> None:
    """The one statement that publishes: every move at once, or none."""
    cur.execute("RENAME TABLE " + ", ".join(moves))


def _undo(conn: pymysql.connections.Connection, made: list[str]) -> None:
    """Drop what a failed publish created (all empty: the RENAME moved nothing)."""
    for name in made:
        try:
            if name.endswith(RETIRED_SUFFIX):
                _drop_if_ours(conn, name)
            else:
                with conn.cursor() as cur:
                    if not base_tables(conn, name):
                        cur.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
        except (pymysql.err.MySQLError, NotOurs):
            continue


def _move(source: str, destination: str, table: str) -> str:
    return f"{quote(source)}.{quote(table)} TO {quote(destination)}.{quote(table)}"
