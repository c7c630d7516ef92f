"""Clean-up of the uniquely named schemas tests create (names carry a random fragment)."""

from __future__ import annotations

import pymysql

from dumpflow.db import Dsn


def drop_schemas_containing(dsn: Dsn, fragment: str) -> None:
    """Drop every schema whose name contains ``fragment`` (its shadow/previous copies too)."""
    if len(fragment) < 8:
        raise ValueError(f"{fragment!r} is too short to name only a test's own schemas")
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if fragment in name:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()
