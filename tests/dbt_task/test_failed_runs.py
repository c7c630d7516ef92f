"""Runs that must fail, and runs that must not.

A dump breaking a business rule, or a warehouse a writer keeps locked, fails the run: the
runner exits non-zero, names what failed, does not hang, and leaves no partition of the
date behind (a re-run after the fix equals a clean run). A dashboard reader holding a long
transaction on a table-built model only delays the run: the lost lock wait is retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from types import ModuleType

import pymysql
import pytest
from test_warehouse_runs import (
    expected_history,
    partition_checksums,
    read_warehouse,
    source_facts,
)

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


def _delete_an_occupied_room(dsn: Dsn, staging: str) -> None:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:  # a broken source: a lived-in room vanished from rooms
            cur.execute(
                f"DELETE FROM `{staging}`.rooms WHERE id = (SELECT m.room_id FROM "
                f"`{staging}`.tenants t JOIN `{staging}`.movings m ON m.id = t.moving_id "
                "WHERE t.status = 9 AND m.is_moveout = 0 AND COALESCE(m.cancel_flag, 0) = 0 "
                "ORDER BY t.id LIMIT 1)"
            )
            assert cur.rowcount == 1
        conn.commit()
    finally:
        conn.close()


def test_a_failed_date_leaves_nothing_and_its_rerun_equals_a_clean_run(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    day1, day2 = write_sample_dumps(
        tmp_path, DUMP_DATE - dt.timedelta(days=1), 2, scale=0.01, seed=2, dsn=mariadb_dsn
    )
    staging = f"staging{warehouse_suffix}"
    restore_with_client(mariadb_dsn, staging, day1.path)
    observed = {day1.dump_date: source_facts(mariadb_dsn, staging).observations}
    _task_environment(monkeypatch, mariadb_dsn, warehouse_suffix)
    monkeypatch.setenv("DUMP_DATE", day1.dump_date.isoformat())
    assert runner.main([]) == runner.EXIT_OK
    before = read_warehouse(mariadb_dsn, warehouse_suffix)
    before_sums = partition_checksums(mariadb_dsn, warehouse_suffix)

    restore_with_client(mariadb_dsn, staging, day2.path)
    _delete_an_occupied_room(mariadb_dsn, staging)
    monkeypatch.setenv("DUMP_DATE", day2.dump_date.isoformat())
    caplog.set_level("INFO", logger="dumpflow.dbt_task")

    assert runner.main([]) == runner.EXIT_FAILED

    failed = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("assert_occupied_rooms_exist" in line and "FAIL" in line for line in failed)
    # the last word names the dump, the stage and the cause
    assert failed[-1].startswith(f"dbt task {DUMP_DATE} (dumps/gghouse_20260501.sql): ")
    assert "dbt build failed" in failed[-1] and "assert_occupied_rooms_exist" in failed[-1]
    passed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("PASS ")]
    assert passed, "the other checks still ran and logged one line each"
    # all or nothing: the date's partitions (written before the failing test) are gone
    # and the history is as it was before the date
    assert read_warehouse(mariadb_dsn, warehouse_suffix) == before
    assert partition_checksums(mariadb_dsn, warehouse_suffix) == before_sums

    restore_with_client(mariadb_dsn, staging, day2.path)  # the fixed dump
    facts = source_facts(mariadb_dsn, staging)
    observed[day2.dump_date] = facts.observations
    assert runner.main([]) == runner.EXIT_OK
    after = read_warehouse(mariadb_dsn, warehouse_suffix)
    assert after.history == expected_history(observed)
    assert {(t, a, r) for (d, t, a, r) in after.snapshot if d == day2.dump_date} == (
        facts.occupying
    )
    sums = partition_checksums(mariadb_dsn, warehouse_suffix)
    assert {k: v for k, v in sums.items() if k[1] == day1.dump_date} == before_sums


@pytest.fixture(scope="module")
def built_warehouse(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """One successful run of DUMP_DATE that the lock tests below start from (built once).
    The reader test leaves it successful; the locked test, last, fails it."""
    _restore_sample(mariadb_dsn, warehouse_suffix, tmp_path_factory.mktemp("sample"))
    with pytest.MonkeyPatch.context() as env:
        _task_environment(env, mariadb_dsn, warehouse_suffix)
        assert runner.main([]) == runner.EXIT_OK


class _Signal(logging.Handler):
    """Sets an event when the runner logs that a build lost a lock wait."""

    def __init__(self) -> None:
        super().__init__()
        self.lost_wait = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a lock wait" in record.getMessage():
            self.lost_wait.set()


def test_a_reader_holding_a_table_model_delays_the_run_but_never_fails_it(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    built_warehouse: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _task_environment(
        monkeypatch,
        mariadb_dsn,
        warehouse_suffix,
        DBT_LOCK_WAIT_TIMEOUT="2",
        DBT_RETRY_BACKOFF="1",
        DBT_RETRY_DEADLINE="300",
    )
    signal = _Signal()
    logging.getLogger("dumpflow.dbt_task").addHandler(signal)
    reader = pymysql.connect(**{**mariadb_dsn.connect_kwargs(), "autocommit": False})
    released = threading.Event()

    def release_after_the_first_lost_wait() -> None:
        signal.lost_wait.wait(timeout=240)
        reader.rollback()  # the dashboard's transaction ends
        released.set()

    try:
        with reader.cursor() as cur:  # a dashboard's open transaction on a table model
            cur.execute("START TRANSACTION")
            cur.execute(f"SELECT COUNT(*) FROM `gold{warehouse_suffix}`.`moveouts`")
        thread = threading.Thread(target=release_after_the_first_lost_wait, daemon=True)
        thread.start()
        caplog.set_level("INFO", logger="dumpflow.dbt_task")

        assert runner.main([]) == runner.EXIT_OK

        assert signal.lost_wait.is_set() and released.wait(timeout=10)
        warnings = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
        assert "lost a lock wait (attempt 1)" in warnings
        conn = pymysql.connect(**mariadb_dsn.connect_kwargs())
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema IN "
                    "(%s, %s) AND (table_name LIKE '%%dbt_tmp' OR table_name LIKE '%%dbt_backup')",
                    (f"silver{warehouse_suffix}", f"gold{warehouse_suffix}"),
                )
                assert cur.fetchall() == ()
                cur.execute(f"SELECT COUNT(*) FROM `gold{warehouse_suffix}`.`moveouts`")
                (rows,) = cur.fetchone() or (0,)
                assert rows > 0
        finally:
            conn.close()
    finally:
        logging.getLogger("dumpflow.dbt_task").removeHandler(signal)
        reader.close()


def test_a_locked_snapshot_fails_fast_instead_of_waiting(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    built_warehouse: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _task_environment(
        monkeypatch,
        mariadb_dsn,
        warehouse_suffix,
        DBT_LOCK_WAIT_TIMEOUT="2",
        DBT_RETRY_DEADLINE="0",
    )
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
