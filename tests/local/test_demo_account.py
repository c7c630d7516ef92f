"""The demo's database account, on both engines: ALL on the run's schemas and nothing else,
so the local load passes the same privilege check as production's dumpflow account."""

from __future__ import annotations

from collections.abc import Callable

import pymysql
import pytest

from db_servers import DbServer
from dumpflow.loader.privileges import account_grants, broad_grants
from dumpflow.local.demo_account import demo_account


def test_the_account_reaches_its_schemas_and_nothing_else(
    db_server: DbServer, server_schema_factory: Callable[[str], str]
) -> None:
    target = server_schema_factory("staging")
    schemas = [target, f"{target}__shadow", server_schema_factory("silver")]
    account = demo_account(db_server.dsn, schemas)
    assert demo_account(db_server.dsn, schemas) == account  # a second run shares it
    outside = server_schema_factory("other")
    lookalike = target.replace("_", "x", 1)  # '_' is a GRANT wildcard: must not match
    conn = pymysql.connect(**account.connect_kwargs())
    try:
        grants = account_grants(conn)
        with conn.cursor() as cur:
            for schema in schemas:
                cur.execute(f"CREATE DATABASE `{schema}`")
                cur.execute(f"CREATE TABLE `{schema}`.t (id INT PRIMARY KEY)")
                cur.execute(f"DROP DATABASE `{schema}`")
            for forbidden in (outside, lookalike):
                with pytest.raises(pymysql.err.OperationalError) as refused:
                    cur.execute(f"CREATE DATABASE `{forbidden}`")
                assert refused.value.args[0] in (1044, 1045), refused.value
            with pytest.raises(pymysql.err.OperationalError):
                cur.execute("SELECT user FROM mysql.user")
    finally:
        conn.close()
    found = broad_grants(grants, target)
    assert found.global_ == [], found.global_
    assert len(found.other) == 1 and "silver" in found.other[0]


def test_schema_names_are_checked_before_anything_is_sent(db_server: DbServer) -> None:
    with pytest.raises(ValueError, match="not schema names"):
        demo_account(db_server.dsn, ["staging`; DROP DATABASE mysql; -- "])
    with pytest.raises(ValueError, match="not schema names"):
        demo_account(db_server.dsn, [])
