"""End to end on the local stack and a real MariaDB: a dump that failed, then fell behind the
watermark, is replayed with ``dumpflow replay`` and runs as a backfill: it loads into the
backfill schema, dbt refreshes only its date's snapshot rows, and ``staging`` and the
current-state models stay exactly as the newer dump left them."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.control.state import DumpStatus, StateStore
from dumpflow.db import Dsn
from dumpflow.dumps import dump_key_for, manifest_key_for, today_jst
from dumpflow.local.demo_stack import DemoLayout, DemoRuntime, demo_runtime
from dumpflow.sample import write_sample_dumps
from mariadb_schemas import drop_schemas_containing

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

SCALE = 0.02
CURRENT_MODELS = {
    "silver": ["int_contracts"],
    "gold": ["move_events_daily", "moveouts", "new_contracts"],
}
SNAPSHOT = ("gold", "occupancy_daily")


def fingerprint(dsn: Dsn, schema: str, tables: list[str] | None = None) -> dict[str, int]:
    """CHECKSUM TABLE of every base table of ``schema`` (or the given ones)."""
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            if tables is None:
                cur.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                    (schema,),
                )
                tables = sorted(str(row[0]) for row in cur.fetchall())
            sums = {}
            for table in tables:
                cur.execute(f"CHECKSUM TABLE `{schema}`.`{table}`")
                row = cur.fetchone()
                sums[table] = int(row[1]) if row and row[1] is not None else -1
            return sums
    finally:
        conn.close()


def snapshot_rows(dsn: Dsn, schema: str) -> dict[dt.date, tuple[object, ...]]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT snapshot_date, room_count, occupied_room_count, occupancy_rate "
                f"FROM `{schema}`.`{SNAPSHOT[1]}` ORDER BY snapshot_date"
            )
            return {row[0]: tuple(row[1:]) for row in cur.fetchall()}
    finally:
        conn.close()


@pytest.fixture()
def runtime(mariadb_dsn: Dsn) -> Iterator[DemoRuntime]:
    """The local stack (moto + template + Glue/ECS runners) on schemas only this test uses."""
    suffix = f"_ops{uuid.uuid4().hex[:8]}"
    layout = DemoLayout(stack_name=f"ops{suffix}".replace("_", "-"), schema_suffix=suffix)
    try:
        with demo_runtime(layout, mariadb_dsn, output=io.StringIO()) as started:
            yield started
    finally:
        drop_schemas_containing(mariadb_dsn, suffix)


def upload(runtime: DemoRuntime, key: str, path: Path) -> None:
    runtime.stack.client("s3").put_object(Bucket=runtime.bucket, Key=key, Body=path.read_bytes())


def test_a_stale_replay_runs_as_a_backfill_and_leaves_current_data_alone(
    runtime: DemoRuntime, tmp_path: Path
) -> None:
    day1 = today_jst() - dt.timedelta(days=3)
    day2 = day1 + dt.timedelta(days=1)
    samples = {
        s.dump_date: s
        for s in write_sample_dumps(tmp_path, day1, days=2, scale=SCALE, dsn=runtime.dsn)
    }
    settings, flow, dsn = runtime.settings, runtime.flow, runtime.dsn
    store = StateStore(settings.table, client=runtime.stack.client("dynamodb"))
    key1 = dump_key_for(day1)

    corrupt = tmp_path / "corrupt.sql"
    good = samples[day1].path.read_bytes()
    corrupt.write_bytes(good[:-64] + b"x" * 64)  # same size, other digest than the manifest's
    upload(runtime, key1, corrupt)
    upload(runtime, manifest_key_for(day1), samples[day1].manifest_path)
    flow.settle()
    failed = store.get(key1)
    assert failed is not None and failed.status == DumpStatus.FAILED, failed

    upload(runtime, dump_key_for(day2), samples[day2].path)
    upload(runtime, manifest_key_for(day2), samples[day2].manifest_path)
    flow.settle()
    assert store.watermark() == day2
    staging_before = fingerprint(dsn, settings.target_schema)
    current_before = {
        name: fingerprint(dsn, runtime.layout.schema(name), tables)
        for name, tables in CURRENT_MODELS.items()
    }
    gold = runtime.layout.schema(SNAPSHOT[0])
    snapshot_before = snapshot_rows(dsn, gold)
    assert list(snapshot_before) == [day2] and staging_before

    upload(runtime, key1, samples[day1].path)
    flow.settle()
    stale = store.get(key1)
    assert stale is not None and stale.status == DumpStatus.SKIPPED_STALE

    replay = CliRunner().invoke(app, ["replay", "--all", "--yes", "--json"])
    assert replay.exit_code == 0, replay.stdout + replay.stderr
    (replayed,) = json.loads(replay.stdout)["dumps"]
    assert (replayed["key"], replayed["mode"], replayed["outcome"]) == (key1, "backfill", "sent")
    flow.settle()

    done = store.get(key1)
    assert done is not None and done.status == DumpStatus.SUCCEEDED, done.last_error
    assert done.backfill and done.target_schema == settings.backfill_schema
    assert store.watermark() == day2
    assert fingerprint(dsn, settings.target_schema) == staging_before
    for name, tables in CURRENT_MODELS.items():
        assert fingerprint(dsn, runtime.layout.schema(name), tables) == current_before[name]
    snapshot_after = snapshot_rows(dsn, gold)
    assert list(snapshot_after) == [day1, day2]
    assert snapshot_after[day2] == snapshot_before[day2]
    assert fingerprint(dsn, settings.backfill_schema)

    status = CliRunner().invoke(app, ["status", "--json"])
    document = json.loads(status.stdout)
    assert status.exit_code == 0, document
    assert document["dlq_depth"] == 0 and document["gaps"] == []
