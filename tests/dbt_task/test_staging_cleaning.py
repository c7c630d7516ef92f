"""The staging views turn the source's 'NULL' strings and zero dates into real NULLs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType

import pymysql
import pytest

from dumpflow.db import Dsn
from dumpflow.sample import write_sample_dumps
from dumpflow.sample.restore import restore_with_client

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

DUMP_DATE = dt.date(2026, 6, 1)


def test_zero_dates_and_null_strings_read_as_null(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (dump,) = write_sample_dumps(tmp_path, DUMP_DATE, scale=0.01, seed=5, dsn=mariadb_dsn)
    staging = f"staging{warehouse_suffix}"
    restore_with_client(mariadb_dsn, staging, dump.path)
    conn = pymysql.connect(**mariadb_dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:  # the source system's own spelling of "no value"
            cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
            cur.execute(
                f"UPDATE `{staging}`.inquiries SET created_at = '0000-00-00 00:00:00' "
                "ORDER BY id LIMIT 1"
            )
            cur.execute(f"SELECT MIN(id) FROM `{staging}`.inquiries")
            (zero_inquiry,) = cur.fetchone() or (None,)
            cur.execute(
                f"UPDATE `{staging}`.tenants SET full_name = 'NULL', birth_date = '0000-00-00' "
                "ORDER BY id LIMIT 1"
            )
            cur.execute(f"SELECT MIN(id) FROM `{staging}`.tenants")
            (null_tenant,) = cur.fetchone() or (None,)
    finally:
        conn.close()
    for name, value in {
        "DBT_TARGET": "local",
        "DBT_HOST": mariadb_dsn.host,
        "DBT_PORT": str(mariadb_dsn.port),
        "DBT_USER": mariadb_dsn.user,
        "DBT_PASSWORD": mariadb_dsn.password,
        "DBT_SCHEMA_SUFFIX": warehouse_suffix,
        "DUMP_DATE": DUMP_DATE.isoformat(),
        "DUMP_KEY": f"dumps/gghouse_{DUMP_DATE:%Y%m%d}.sql",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DBT_SOURCE_SCHEMA", "DBT_BACKFILL", "DUMPFLOW_BUCKET"):
        monkeypatch.delenv(name, raising=False)

    assert runner.main([]) == runner.EXIT_OK

    conn = pymysql.connect(**mariadb_dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT inquiry_date FROM `{staging}`.stg_inquiries WHERE inquiry_id = %s",
                (zero_inquiry,),
            )
            assert cur.fetchone() == (None,)
            cur.execute(
                f"SELECT full_name, birth_date FROM `{staging}`.stg_tenants WHERE tenant_id = %s",
                (null_tenant,),
            )
            assert cur.fetchone() == (None, None)
            cur.execute(
                f"SELECT COUNT(*) FROM `{staging}`.stg_inquiries WHERE inquiry_date IS NOT NULL"
            )
            (dated,) = cur.fetchone() or (0,)
            assert dated > 0
    finally:
        conn.close()
