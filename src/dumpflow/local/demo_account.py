"""The demo's database account: what production's loader account is, on the local server.

Production's dumpflow account holds privileges on the warehouse schemas only (docs/deploy.md),
and the Glue job refuses an account with server-wide privileges. The demo therefore does not
hand the developer's root to the stack: it makes an account with ALL on exactly the schemas
this run writes and puts that one in the stack's database secret, so the local load meets the
same privilege check as a deployed one.

The name and password follow from the schemas (two runs over the same schemas share the
account instead of rotating each other's password); the password guards nothing the local
root (no password) does not already open.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence

import pymysql

from dumpflow.db import Dsn
from dumpflow.local.warehouse import IDENTIFIER

log = logging.getLogger(__name__)

ACCOUNT_PREFIX = "dumpflow_demo_"
ACCOUNT_HOST = "%"


def _grant_pattern(schema: str) -> str:
    """A schema name as GRANT reads it: ``_`` and ``%`` are LIKE wildcards there."""
    return schema.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def demo_account(root: Dsn, schemas: Sequence[str]) -> Dsn:
    """Create (or refresh) the account for ``schemas`` through ``root``; its DSN."""
    bad = [name for name in schemas if not IDENTIFIER.fullmatch(name)]
    if bad or not schemas:
        raise ValueError(f"not schema names: {bad or 'none given'}")
    digest = hashlib.sha256("\n".join(sorted(schemas)).encode()).hexdigest()
    user, password = ACCOUNT_PREFIX + digest[:10], "demo-" + digest[10:34]
    conn = pymysql.connect(**root.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, ACCOUNT_HOST, password)
            )
            cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, ACCOUNT_HOST, password))
            for schema in schemas:
                cur.execute(
                    f"GRANT ALL PRIVILEGES ON `{_grant_pattern(schema)}`.* TO %s@%s",
                    (user, ACCOUNT_HOST),
                )
        conn.commit()
    finally:
        conn.close()
    log.info("demo database account %s: ALL on %s only", user, ", ".join(schemas))
    return dataclasses.replace(root, user=user, password=password)
