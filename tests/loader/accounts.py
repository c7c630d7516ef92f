"""Loader accounts for tests: the server's root, or a user restricted as docs/deploy.md says."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from dumpflow.db import Dsn
from dumpflow.loader.publish import HELPER_SUFFIXES
from loader.support import run_sql


def grant_targets(schema: str) -> list[str]:
    """The schemas the loader's account may touch: the target and its helper schemas."""
    return [schema, *(schema + suffix for suffix in HELPER_SUFFIXES)]


def _escaped(schema: str) -> str:
    # in GRANT ... ON `db`.*, '_' and '%' are wildcards
    return schema.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


@contextmanager
def restricted_user(dsn: Dsn, schema: str) -> Iterator[Dsn]:
    """A user with every privilege on ``schema``'s family and nothing else (dropped after)."""
    name = "dfl_" + secrets.token_hex(5)
    password = secrets.token_urlsafe(12)
    run_sql(dsn, f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
    try:
        run_sql(
            dsn,
            *(f"GRANT ALL ON `{_escaped(db)}`.* TO '{name}'@'%'" for db in grant_targets(schema)),
        )
        yield replace(dsn, user=name, password=password, database=None)
    finally:
        run_sql(dsn, f"DROP USER IF EXISTS '{name}'@'%'")
