"""The real servers the suite runs on are the engines it claims to test."""

from __future__ import annotations

import pymysql

from db_servers import DbServer
from dumpflow.db import Dsn


def test_each_engine_is_what_it_claims(db_server: DbServer) -> None:
    conn = pymysql.connect(**db_server.dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION(), @@GLOBAL.sql_mode")
            version, sql_mode = cur.fetchone()
    finally:
        conn.close()
    if db_server.engine == "mariadb":
        assert "MariaDB" in version
    else:
        assert "MariaDB" not in version
        major = int(version.split(".")[0])
        assert major >= 8, version
        # MySQL's own default: strict, no zero dates (what broke four models on Aurora).
        assert {"STRICT_TRANS_TABLES", "NO_ZERO_IN_DATE", "NO_ZERO_DATE"} <= set(
            sql_mode.split(",")
        )


def test_mysql_runs_with_gtids_like_a_production_source(mysql_dsn: Dsn) -> None:
    conn = pymysql.connect(**mysql_dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.gtid_mode, @@GLOBAL.enforce_gtid_consistency")
            gtid_mode, enforce = cur.fetchone()
    finally:
        conn.close()
    assert gtid_mode == "ON"
    assert str(enforce).upper() in {"ON", "1"}
