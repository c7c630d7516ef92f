"""The demo's warehouse schemas on the local server: emptied at the start of every run."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import pymysql

from dumpflow.db import Dsn

log = logging.getLogger(__name__)

IDENTIFIER = re.compile(r"[A-Za-z0-9_$]{1,64}")


def reset_schemas(dsn: Dsn, schemas: Sequence[str]) -> list[str]:
    """Drop each of ``schemas`` that exists; returns the ones dropped (in the given order)."""
    bad = [name for name in schemas if not IDENTIFIER.fullmatch(name)]
    if bad:
        raise ValueError(f"not schema names: {bad}")
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT schema_name FROM information_schema.schemata")
            existing = {str(row[0]) for row in cur.fetchall()}
            dropped = [name for name in schemas if name in existing]
            for name in dropped:
                cur.execute(f"DROP DATABASE `{name}`")
                log.info("dropped schema %s (left by an earlier demo run)", name)
    finally:
        conn.close()
    return dropped
