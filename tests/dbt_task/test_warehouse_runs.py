"""Three consecutive dumps through the real runner and dbt on MariaDB, checked independently.

Each date's sample dump (real mariadb-dump output) is restored into the source schema, the
runner runs for that date, and the warehouse is compared with numbers computed here in
Python from the same source rows, following SOURCE_SCHEMA.md's business rules.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType
from typing import Any

import boto3
import pymysql
import pytest
from moto import mock_aws

from dumpflow.db import Dsn
from dumpflow.sample import SampleDump, write_sample_dumps
from dumpflow.sample.restore import restore_with_client

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

START = dt.date(2026, 3, 30)
OCCUPYING = {4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15}
BUCKET = "dumpflow-test-reports"
Observation = tuple[int, int | None]  # (status, contract_type)


def _rows(dsn: Dsn, sql: str) -> list[tuple[Any, ...]]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


@dataclass
class SourceFacts:
    """What the business rules say about one dump, computed in Python from its rows."""

    occupying: set[tuple[int, int, int]]  # (tenant, apartment, room)
    rooms_by_property: dict[int, set[int]]
    properties: set[int]
    observations: dict[int, Observation]


def source_facts(dsn: Dsn, schema: str) -> SourceFacts:
    movings = {
        row[0]: row[1:]
        for row in _rows(
            dsn,
            f"SELECT id, apartment_id, room_id, is_moveout, cancel_flag FROM `{schema}`.movings",
        )
    }
    occupying = set()
    observations: dict[int, Observation] = {}
    for tenant, moving_id, status, contract_type in _rows(
        dsn, f"SELECT id, moving_id, status, contract_type FROM `{schema}`.tenants"
    ):
        observations[tenant] = (status, contract_type)
        contract = movings.get(moving_id)
        if status in OCCUPYING and contract and contract[2] == 0 and (contract[3] or 0) == 0:
            occupying.add((tenant, contract[0], contract[1]))
    rooms_by_property: dict[int, set[int]] = {}
    for room, apartment in _rows(dsn, f"SELECT id, apartment_id FROM `{schema}`.rooms"):
        rooms_by_property.setdefault(apartment, set()).add(room)
    properties = {row[0] for row in _rows(dsn, f"SELECT id FROM `{schema}`.apartments")}
    return SourceFacts(occupying, rooms_by_property, properties, observations)


@dataclass
class Warehouse:
    """What the warehouse holds after a run."""

    snapshot: set[tuple[dt.date, int, int, int]]
    property_occupancy: dict[tuple[dt.date, int], tuple[int, int, Decimal | None]]
    portfolio: dict[dt.date, tuple[int, int, Decimal | None]]
    status_daily: dict[dt.date, int]
    history: set[tuple[Any, ...]]


def read_warehouse(dsn: Dsn, suffix: str) -> Warehouse:
    silver, gold = f"silver{suffix}", f"gold{suffix}"
    return Warehouse(
        snapshot=set(
            _rows(
                dsn,
                f"SELECT snapshot_date, tenant_id, apartment_id, room_id "
                f"FROM `{silver}`.tenant_room_snapshot_daily",
            )
        ),
        property_occupancy={
            (row[0], row[1]): row[2:]
            for row in _rows(
                dsn,
                f"SELECT snapshot_date, apartment_id, room_count, occupied_room_count, "
                f"occupancy_rate FROM `{gold}`.occupancy_property_daily",
            )
        },
        portfolio={
            row[0]: row[1:]
            for row in _rows(
                dsn,
                f"SELECT snapshot_date, room_count, occupied_room_count, occupancy_rate "
                f"FROM `{gold}`.occupancy_daily",
            )
        },
        status_daily=dict(
            _rows(
                dsn,
                f"SELECT snapshot_date, COUNT(*) FROM `{silver}`.tenant_status_daily "
                "GROUP BY snapshot_date",
            )
        ),
        history=set(
            _rows(
                dsn,
                f"SELECT tenant_id, valid_from, valid_to, is_current, status_code, "
                f"contract_type_code, days_in_status FROM `{silver}`.tenant_status_history",
            )
        ),
    )


def rate(occupied: int, rooms: int) -> Decimal | None:
    if rooms == 0:
        return None
    return (Decimal(occupied) / Decimal(rooms)).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def expected_history(observed: dict[dt.date, dict[int, Observation]]) -> set[tuple[Any, ...]]:
    """SCD2 from the rule text: new interval on first sight or on any change."""
    latest = max(observed)
    by_tenant: dict[int, list[tuple[dt.date, Observation]]] = {}
    for day in sorted(observed):
        for tenant, observation in observed[day].items():
            by_tenant.setdefault(tenant, []).append((day, observation))
    rows = set()
    for tenant, seen in by_tenant.items():
        starts = [
            (day, obs) for i, (day, obs) in enumerate(seen) if i == 0 or obs != seen[i - 1][1]
        ]
        for i, (day, (status, contract_type)) in enumerate(starts):
            valid_to = starts[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(starts) else None
            days = ((valid_to or latest) - day).days + 1
            rows.add((tenant, day, valid_to, int(valid_to is None), status, contract_type, days))
    return rows


@dataclass
class Scenario:
    dumps: list[SampleDump]
    facts: dict[dt.date, SourceFacts]
    exit_codes: dict[str, int]
    after: dict[str, Warehouse]
    reports: dict[str, dict[str, Any]]
    indexes: set[tuple[str, str]]
    explain: list[tuple[Any, ...]]


@pytest.fixture(scope="module")
def scenario(
    runner: ModuleType,
    mariadb_dsn: Dsn,
    warehouse_suffix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    dumps = write_sample_dumps(
        tmp_path_factory.mktemp("dumps"), START, 3, scale=0.02, seed=11, dsn=mariadb_dsn
    )
    staging = f"staging{warehouse_suffix}"
    backfill_schema = f"staging_backfill{warehouse_suffix}"
    facts: dict[dt.date, SourceFacts] = {}
    exit_codes: dict[str, int] = {}
    after: dict[str, Warehouse] = {}
    reports: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {
            "DBT_TARGET": "local",
            "DBT_HOST": mariadb_dsn.host,
            "DBT_PORT": str(mariadb_dsn.port),
            "DBT_USER": mariadb_dsn.user,
            "DBT_PASSWORD": mariadb_dsn.password,
            "DBT_SCHEMA_SUFFIX": warehouse_suffix,
            "DUMPFLOW_BUCKET": BUCKET,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "ap-northeast-1",
        }.items():
            env.setenv(name, value)
        for name in ("DBT_SOURCE_SCHEMA", "DBT_BACKFILL", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.delenv(name, raising=False)
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )

        def run(label: str, dump: SampleDump, argv: list[str]) -> None:
            env.setenv("DUMP_DATE", dump.dump_date.isoformat())
            env.setenv("DUMP_KEY", dump.manifest["dump_key"])
            exit_codes[label] = runner.main(argv)
            after[label] = read_warehouse(mariadb_dsn, warehouse_suffix)
            body = s3.get_object(Bucket=BUCKET, Key=f"reports/dbt/{dump.dump_date}.json")["Body"]
            reports[label] = json.loads(body.read())

        for day, dump in enumerate(dumps, 1):
            restore_with_client(mariadb_dsn, staging, dump.path)
            facts[dump.dump_date] = source_facts(mariadb_dsn, staging)
            run(f"day{day}", dump, [])
        run("rerun_day3", dumps[2], [])
        run("older_day1", dumps[0], [])
        restore_with_client(mariadb_dsn, backfill_schema, dumps[0].path)
        run("backfill_day1", dumps[0], ["--backfill", "--source-schema", backfill_schema])

    silver = f"silver{warehouse_suffix}"
    indexes = set(
        _rows(
            mariadb_dsn,
            "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) "
            f"FROM information_schema.statistics WHERE table_schema = '{silver}' "
            "AND table_name = 'tenant_room_snapshot_daily' GROUP BY index_name",
        )
    )
    explain = _rows(
        mariadb_dsn,
        f"EXPLAIN SELECT COALESCE((SELECT MAX(snapshot_date) FROM `{silver}`."
        "tenant_room_snapshot_daily), '1900-01-01')",
    )
    yield Scenario(dumps, facts, exit_codes, after, reports, indexes, explain)


def test_each_date_runs_and_reports_success(scenario: Scenario) -> None:
    for label in ("day1", "day2", "day3"):
        assert scenario.exit_codes[label] == 0, scenario.reports[label]
        report = scenario.reports[label]
        assert report["status"] == "succeeded"
        assert [step["command"] for step in report["steps"]] == ["seed", "build"]
        statuses = {node["status"] for step in report["steps"] for node in step["nodes"]}
        assert statuses <= {"success", "pass"}
        assert report["counts"]["pass"] > 50  # the schema and singular tests ran


def test_snapshot_rows_per_date_follow_the_occupancy_rule(scenario: Scenario) -> None:
    warehouse = scenario.after["day3"]
    for day, facts in scenario.facts.items():
        stored = {(t, a, r) for (d, t, a, r) in warehouse.snapshot if d == day}
        assert stored == facts.occupying, day
    first, *_, last = scenario.facts.values()
    assert first.occupying != last.occupying  # tenants moved in and out between the dumps


def test_occupancy_per_property_and_portfolio_match_an_independent_count(
    scenario: Scenario,
) -> None:
    warehouse = scenario.after["day3"]
    for day, facts in scenario.facts.items():
        occupied_rooms = {room for (_, _, room) in facts.occupying}
        total_rooms = total_occupied = 0
        for apartment in facts.properties:
            rooms = facts.rooms_by_property.get(apartment, set())
            occupied = len(rooms & occupied_rooms)
            total_rooms, total_occupied = total_rooms + len(rooms), total_occupied + occupied
            expected = (len(rooms), occupied, rate(occupied, len(rooms)))
            assert warehouse.property_occupancy[(day, apartment)] == expected, (day, apartment)
        assert warehouse.portfolio[day] == (
            total_rooms,
            total_occupied,
            rate(total_occupied, total_rooms),
        )
        assert 0 < total_occupied < total_rooms


def test_status_history_is_the_scd2_of_the_three_observations(scenario: Scenario) -> None:
    observed = {day: facts.observations for day, facts in scenario.facts.items()}
    expected = expected_history(observed)
    assert scenario.after["day3"].history == expected
    changed = [row for row in expected if row[1] > START]
    assert changed, "the sample data must change some tenant's status between dumps"
    assert scenario.after["day3"].status_daily == {day: len(obs) for day, obs in observed.items()}


def test_history_grows_day_by_day(scenario: Scenario) -> None:
    dates = [d.dump_date for d in scenario.dumps]
    for day, label in enumerate(("day1", "day2", "day3"), 1):
        assert {row[0] for row in scenario.after[label].snapshot} == set(dates[:day])
        assert set(scenario.after[label].portfolio) == set(dates[:day])


def test_rerunning_the_newest_date_changes_nothing(scenario: Scenario) -> None:
    assert scenario.exit_codes["rerun_day3"] == 0
    assert scenario.after["rerun_day3"] == scenario.after["day3"]


def test_an_older_date_without_the_flag_is_refused_and_writes_nothing(
    scenario: Scenario,
) -> None:
    assert scenario.exit_codes["older_day1"] == 2
    report = scenario.reports["older_day1"]
    assert report["status"] == "refused"
    assert "DBT_BACKFILL=1" in report["error"] and report["steps"] == []
    assert scenario.after["older_day1"] == scenario.after["day3"]


def test_a_backfill_rewrites_exactly_its_date(scenario: Scenario) -> None:
    assert scenario.exit_codes["backfill_day1"] == 0, scenario.reports["backfill_day1"]
    report = scenario.reports["backfill_day1"]
    assert report["backfill"] is True
    built = {n["unique_id"].split(".")[-1] for s in report["steps"] for n in s["nodes"]}
    assert "tenant_room_snapshot_daily" in built and "occupancy_daily" in built
    assert "int_contracts" not in built and "moveouts" not in built  # newest-dump models kept
    assert scenario.after["backfill_day1"] == scenario.after["day3"]


def test_the_increment_filter_is_answered_from_the_snapshot_date_index(
    scenario: Scenario,
) -> None:
    assert scenario.indexes == {("ix_snapshot_date_apartment_id", "snapshot_date,apartment_id")}
    extras = " ".join(str(row[-1]) for row in scenario.explain)
    assert "Select tables optimized away" in extras  # MAX read from the index, no scan
