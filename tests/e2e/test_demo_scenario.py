"""The demo's six steps end to end: template stack in moto, real handlers, real loader, real
dbt on MariaDB, in isolated schemas (``DBT_SCHEMA_SUFFIX`` and the stack's TargetSchema /
BackfillSchema parameters carry a unique suffix)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pymysql
import pytest

from dumpflow.control.state import DumpStatus, StateStore
from dumpflow.db import Dsn
from dumpflow.dumps import dump_key_for
from dumpflow.local.demo_stack import DemoLayout, DemoRuntime, demo_runtime
from dumpflow.local.scenario import DemoScenario, ScenarioResult
from dumpflow.sample.restore import restore_with_client
from mariadb_schemas import drop_schemas_containing

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

SCALE = 0.02


@dataclass
class Played:
    runtime: DemoRuntime
    scenario: DemoScenario
    result: ScenarioResult
    store: StateStore

    def status(self, key: str) -> DumpStatus:
        state = self.store.get(key)
        assert state is not None, f"no state for {key}"
        return state.status


def _query(dsn: Dsn, sql: str) -> list[tuple]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def played(mariadb_dsn: Dsn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    suffix = f"_e2e_{uuid.uuid4().hex[:8]}"
    workdir = tmp_path_factory.mktemp("demo")
    layout = DemoLayout(schema_suffix=suffix)
    try:
        with (
            (workdir / "cloud.log").open("w") as cloud_log,
            demo_runtime(layout, mariadb_dsn, output=cloud_log) as runtime,
        ):
            scenario = DemoScenario(runtime, workdir, scale=SCALE)
            result = scenario.run()
            store = StateStore(runtime.settings.table, client=runtime.stack.client("dynamodb"))
            yield Played(runtime, scenario, result, store)
    finally:
        drop_schemas_containing(mariadb_dsn, suffix)


def test_every_step_ends_as_listed(played: Played) -> None:
    result = played.result
    assert result.failed is None, str(result.failed)
    assert [step.number for step in result.steps if step.ok] == [1, 2, 3, 4, 5, 6]
    assert result.ok


def test_every_dump_has_its_status(played: Played) -> None:
    d1, d2, d3 = played.result.dates
    assert played.status(dump_key_for(d1)) == DumpStatus.SKIPPED_STALE
    assert played.status(dump_key_for(d2)) == DumpStatus.SUCCEEDED
    assert played.status(dump_key_for(d3)) == DumpStatus.SUCCEEDED
    day2 = played.store.get(dump_key_for(d2))
    assert day2 is not None and day2.duplicate_events == 1
    assert (day2.history[-1]["from"], day2.history[-1]["to"]) == ("SUCCEEDED", "SKIPPED_DUPLICATE")
    day3 = played.store.get(dump_key_for(d3))
    assert day3 is not None
    went = [entry["to"] for entry in day3.history]
    assert went.index("FAILED") < went.index("REJECTED")
    assert went.index("REJECTED") < len(went) - 1 - went[::-1].index("SUCCEEDED")
    assert len(played.result.dumps) == 3


def test_the_stale_copy_was_rejected_by_the_quality_gate(played: Played) -> None:
    d3 = played.result.dates[2]
    day3 = played.store.get(dump_key_for(d3))
    assert day3 is not None
    rejected = [entry for entry in day3.history if entry["to"] == "REJECTED"]
    assert len(rejected) == 1 and rejected[0]["note"].startswith("quality: stale content")
    quality = played.result.rejected_quality
    assert quality is not None and quality["verdict"] == "fail"
    stale = {c["table"] for c in quality["checks"] if c.get("reason") == "stale content"}
    assert stale == {"movings", "tenants", "apartments", "rooms", "inquiries"}
    # the good day 3 that followed passed the gate, and its report says so
    s3 = played.runtime.stack.client("s3")
    body = s3.get_object(Bucket=played.runtime.bucket, Key=f"reports/load/{d3.isoformat()}.json")
    report = json.loads(body["Body"].read())
    assert report["status"] == "SUCCEEDED" and report["quality"]["passed"]


def test_day_1_uploaded_again_under_its_key_is_stale_after_its_success(played: Played) -> None:
    d1, d2, _ = played.result.dates
    day1 = played.store.get(dump_key_for(d1))
    assert day1 is not None and day1.status == DumpStatus.SKIPPED_STALE
    s3 = played.runtime.stack.client("s3")
    head = s3.head_object(Bucket=played.runtime.bucket, Key=day1.key)
    assert head["ETag"].strip('"') == day1.etag and head["ContentLength"] == day1.size
    went = [entry["to"] for entry in day1.history]
    assert went.index("SUCCEEDED") < went.index("SKIPPED_STALE")
    assert day1.reason is not None and f"not after the watermark {d2}" in day1.reason


def test_dlq_holds_the_corrupt_day_until_the_replay(played: Played) -> None:
    d3 = played.result.dates[2]
    (letter,) = played.result.dlq_before_replay
    assert letter["key"] == dump_key_for(d3)
    assert letter["failure"]["stage"] == "load"
    assert "sha256" in letter["failure"]["message"]
    (replayed,) = played.result.replay_outcomes
    assert (replayed["key"], replayed["outcome"]) == (dump_key_for(d3), "already resolved")
    assert played.result.dlq_after_replay == []


def test_watermark_is_the_newest_day(played: Played) -> None:
    assert played.store.watermark() == played.result.dates[2]


def test_staging_holds_exactly_the_good_day_3(played: Played, mariadb_dsn: Dsn) -> None:
    reference = f"ref{played.runtime.layout.schema_suffix}"
    restore_with_client(
        mariadb_dsn, reference, played.scenario.samples[played.result.dates[2]].path
    )
    expected = {
        str(table): int(_query(mariadb_dsn, f"SELECT COUNT(*) FROM `{reference}`.`{table}`")[0][0])
        for (table,) in _query(
            mariadb_dsn,
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{reference}' AND table_type = 'BASE TABLE'",
        )
    }
    assert expected and played.result.staging_rows == expected
    assert played.result.staging_rows["tenants"] > 0


def test_gold_holds_days_1_to_3(played: Played, mariadb_dsn: Dsn) -> None:
    gold = played.runtime.layout.schema("gold")
    dates = played.result.dates
    for table in ("occupancy_daily", "occupancy_property_daily"):
        found = [
            row[0]
            for row in _query(
                mariadb_dsn, f"SELECT DISTINCT snapshot_date FROM `{gold}`.`{table}` ORDER BY 1"
            )
        ]
        assert found == dates, table
    occupancy = played.result.occupancy
    assert [row["snapshot_date"] for row in occupancy] == dates
    assert all(0 < float(row["occupancy_rate"]) <= 1 for row in occupancy)


def test_succeeded_dumps_are_archived(played: Played) -> None:
    s3 = played.runtime.stack.client("s3")
    listed = s3.list_objects_v2(Bucket=played.runtime.bucket, Prefix="processed/")
    names = sorted(obj["Key"] for obj in listed.get("Contents", []))
    assert names == sorted(f"processed/gghouse_{day:%Y%m%d}.sql" for day in played.result.dates)


def test_the_demo_ran_in_isolated_schemas(played: Played, mariadb_dsn: Dsn) -> None:
    suffix = played.runtime.layout.schema_suffix
    assert played.runtime.settings.target_schema == f"staging{suffix}"
    assert played.runtime.settings.backfill_schema == f"staging_backfill{suffix}"
    schemas = {row[0] for row in _query(mariadb_dsn, "SHOW DATABASES")}
    assert {f"staging{suffix}", f"silver{suffix}", f"gold{suffix}"} <= schemas
