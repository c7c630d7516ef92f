"""Runs that must fail: a dump breaking a business rule, and a warehouse locked by someone else.

Either way the runner exits non-zero, names what failed in its log, and does not hang.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from types import ModuleType

import pymysql
import pytest

from dumpflow.db import Dsn
from dumpflow.sample import write_sample_dumps
from dumpflow.sample.restore import restore_with_client

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

DUMP_DATE = dt.date(2026, 5, 1)


def _task_environment(monkeypatch: pytest.MonkeyPatch, dsn: Dsn, suffix: str, **extra: str) -> None:
    for name, value in {
        "DBT_TARGET": "local",
        "DBT_HOST": dsn.host,
        "DBT_PORT": str(dsn.port),
        "DBT_USER": dsn.user,
        "DBT_PASSWORD": dsn.password,
        "DBT_SCHEMA_SUFFIX": suffix,
        "DUMP_DATE": DUMP_DATE.isoformat(),
        "DUMP_KEY": f"dumps/gghouse_{DUMP_DATE:%Y%m%d}.sql",
        **extra,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("DBT_SOURCE_SCHEMA", "DBT_BACKFILL", "DUMPFLOW_BUCKET"):
        if name not in extra:
            monkeypatch.delenv(name, raising=False)


def _restore_sample(dsn: Dsn, suffix: str, tmp_path: Path) -> str:
    (dump,) = write_sample_dumps(tmp_path, DUMP_DATE, scale=0.01, seed=2, dsn=dsn)
    staging = f"staging{suffix}"
    restore_with_client(dsn, staging, dump.path)
    return staging


def test_an_occupied_room_missing_from_rooms_fails_the_run(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    staging = _restore_sample(mariadb_dsn, warehouse_suffix, tmp_path)
    conn = pymysql.connect(**mariadb_dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:  # a broken source: a lived-in room vanished from rooms
            cur.execute(
                f"DELETE FROM `{staging}`.rooms WHERE id = (SELECT m.room_id FROM "
                f"`{staging}`.tenants t JOIN `{staging}`.movings m ON m.id = t.moving_id "
                "WHERE t.status = 9 AND m.is_moveout = 0 AND COALESCE(m.cancel_flag, 0) = 0 "
                "ORDER BY t.id LIMIT 1)"
            )
            assert cur.rowcount == 1
    finally:
        conn.close()
    _task_environment(monkeypatch, mariadb_dsn, warehouse_suffix)
    caplog.set_level("INFO", logger="dumpflow.dbt_task")

    assert runner.main([]) == runner.EXIT_FAILED

    failed = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("assert_occupied_rooms_exist" in line and "FAIL" in line for line in failed)
    # the last word names the dump, the stage and the cause
    assert failed[-1].startswith(f"dbt task {DUMP_DATE} (dumps/gghouse_20260501.sql): ")
    assert "dbt build failed" in failed[-1] and "assert_occupied_rooms_exist" in failed[-1]
    passed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("PASS ")]
    assert passed, "the other checks still ran and logged one line each"


def test_a_locked_snapshot_fails_fast_instead_of_waiting(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _restore_sample(mariadb_dsn, warehouse_suffix, tmp_path)
    _task_environment(monkeypatch, mariadb_dsn, warehouse_suffix, DBT_LOCK_WAIT_TIMEOUT="2")
    assert runner.main([]) == runner.EXIT_OK
    snapshot = f"`silver{warehouse_suffix}`.`tenant_room_snapshot_daily`"
    holder = pymysql.connect(**{**mariadb_dsn.connect_kwargs(), "autocommit": False})
    try:
        with holder.cursor() as cur:  # another session holds the date's rows (uncommitted)
            cur.execute(f"DELETE FROM {snapshot} WHERE snapshot_date = '{DUMP_DATE}'")
            assert cur.rowcount > 0
        caplog.set_level("INFO", logger="dumpflow.dbt_task")
        started = time.monotonic()

        assert runner.main([]) == runner.EXIT_FAILED

        # start-up + a 2 s wait; the server's default (50 s per wait) would not fit
        assert time.monotonic() - started < 40
        errors = " ".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
        assert "tenant_room_snapshot_daily" in errors and "Lock wait timeout" in errors
    finally:
        holder.rollback()
        holder.close()
