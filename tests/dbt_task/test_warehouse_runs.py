"""Three consecutive dumps through the real runner and dbt, on MariaDB and on MySQL (default
strict sql_mode), checked independently.

Each date's sample dump (real mariadb-dump output) is restored into the source schema, the
runner runs for that date, and the warehouse is compared with numbers computed here in
Python from the same source rows, following SOURCE_SCHEMA.md's business rules. The second
dump carries the source system's quirks: a contract whose tenant row is gone, a status code
the seeds do not list (18) and a partial zero date (2026-03-00); it must still run green,
with the quirks counted as data-quality warnings. A backfill then replaces that date with a
corrected dump and must change nothing else (checksums per date).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import ModuleType
from typing import Any

import boto3
import pymysql
import pytest
from moto import mock_aws

from db_servers import DbServer
from dumpflow.db import Dsn
from dumpflow.sample import SampleDump, write_sample_dumps
from dumpflow.sample.restore import restore_with_client
from mariadb_schemas import drop_schemas_containing

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


DAILY_TABLES = (
    ("silver", "tenant_room_snapshot_daily"),
    ("silver", "tenant_status_daily"),
    ("gold", "occupancy_property_daily"),
    ("gold", "occupancy_daily"),
)
UNKNOWN_STATUS = 18


def _execute(dsn: Dsn, *statements: str) -> list[int]:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")  # as the loader
            counts = []
            for statement in statements:
                counts.append(cur.execute(statement))
            conn.commit()
            return counts
    finally:
        conn.close()


@dataclass(frozen=True)
class Quirks:
    """What the second dump's source rows were made to hold."""

    dangling_tenant: int  # referenced by a contract, row deleted
    unknown_status_tenant: int  # status 18
    partial_zero_moving: int  # movein_date 2026-03-00


def add_quirks(dsn: Dsn, schema: str) -> Quirks:
    """The source system's quirks (SOURCE_SCHEMA.md) written into a restored dump."""
    (dangling,) = _rows(
        dsn,
        f"SELECT MIN(m.tenant_id) FROM `{schema}`.movings m JOIN `{schema}`.tenants t "
        f"ON t.id = m.tenant_id WHERE t.status NOT IN (4,5,6,7,9,10,11,12,13,14,15)",
    )[0]
    (unknown,) = _rows(
        dsn, f"SELECT MAX(id) FROM `{schema}`.tenants WHERE status = 9 AND id <> {dangling}"
    )[0]
    (partial,) = _rows(dsn, f"SELECT MAX(id) FROM `{schema}`.movings")[0]
    counts = _execute(
        dsn,
        f"DELETE FROM `{schema}`.tenants WHERE id = {dangling}",
        f"UPDATE `{schema}`.tenants SET status = {UNKNOWN_STATUS} WHERE id = {unknown}",
        f"UPDATE `{schema}`.movings SET movein_date = '2026-03-00', "
        f"movein_decided_date = '2026-00-10' WHERE id = {partial}",
    )
    assert counts == [1, 1, 1]
    return Quirks(dangling, unknown, partial)


def partition_checksums(dsn: Dsn, suffix: str) -> dict[tuple[str, dt.date], tuple[int, int]]:
    """(table, snapshot_date) -> (rows, checksum of every column of every row)."""
    sums: dict[tuple[str, dt.date], tuple[int, int]] = {}
    for layer, table in DAILY_TABLES:
        schema = f"{layer}{suffix}"
        columns = [
            row[0]
            for row in _rows(
                dsn,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                f"'{schema}' AND table_name = '{table}' ORDER BY ordinal_position",
            )
        ]
        row_text = ", ".join(f"COALESCE(CAST(`{c}` AS CHAR), '~')" for c in columns)
        for day, count, checksum in _rows(
            dsn,
            f"SELECT snapshot_date, COUNT(*), SUM(CRC32(CONCAT_WS('|', {row_text}))) "
            f"FROM `{schema}`.`{table}` GROUP BY snapshot_date",
        ):
            sums[(table, day)] = (int(count), int(checksum))
    return sums


@dataclass
class Scenario:
    engine: str
    dumps: list[SampleDump]
    facts: dict[dt.date, SourceFacts]
    quirks: Quirks
    exit_codes: dict[str, int]
    after: dict[str, Warehouse]
    checksums: dict[str, dict[tuple[str, dt.date], tuple[int, int]]]
    reports: dict[str, dict[str, Any]]
    indexes: set[tuple[str, str]]
    explain: list[tuple[Any, ...]]
    quirky_movings: list[tuple[Any, ...]]
    unknown_history: list[tuple[Any, ...]]
    quirky_day2: SourceFacts
    moveout_reasons: list[tuple[Any, ...]]  # (moving_id, stored reason, expected reason)


@pytest.fixture(scope="module")
def scenario(
    runner: ModuleType,
    db_server: DbServer,
    mariadb_dsn: Dsn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    dsn = db_server.dsn
    suffix = f"_t{uuid.uuid4().hex[:10]}"
    dumps = write_sample_dumps(
        tmp_path_factory.mktemp("dumps"), START, 3, scale=0.02, seed=11, dsn=mariadb_dsn
    )
    staging = f"staging{suffix}"
    backfill_schema = f"staging_backfill{suffix}"
    facts: dict[dt.date, SourceFacts] = {}
    exit_codes: dict[str, int] = {}
    after: dict[str, Warehouse] = {}
    checksums: dict[str, dict[tuple[str, dt.date], tuple[int, int]]] = {}
    reports: dict[str, dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for name, value in {
            "DBT_TARGET": "local" if db_server.engine == "mariadb" else "local_mysql",
            "DBT_HOST": dsn.host,
            "DBT_PORT": str(dsn.port),
            "DBT_USER": dsn.user,
            "DBT_PASSWORD": dsn.password,
            "DBT_SCHEMA_SUFFIX": suffix,
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
            after[label] = read_warehouse(dsn, suffix)
            checksums[label] = partition_checksums(dsn, suffix)
            body = s3.get_object(Bucket=BUCKET, Key=f"reports/dbt/{dump.dump_date}.json")["Body"]
            reports[label] = json.loads(body.read())

        try:
            quirks = None
            for day, dump in enumerate(dumps, 1):
                restore_with_client(dsn, staging, dump.path)
                if day == 2:
                    quirks = add_quirks(dsn, staging)
                facts[dump.dump_date] = source_facts(dsn, staging)
                run(f"day{day}", dump, [])
                if day == 2:
                    assert quirks is not None
                    quirky_movings = _rows(
                        dsn,
                        f"SELECT movein_date, contract_date FROM `{staging}`.stg_movings "
                        f"WHERE moving_id = {quirks.partial_zero_moving}",
                    )
            assert quirks is not None
            unknown_history = _rows(
                dsn,
                "SELECT status_code, status_label_en, status_label_ja, is_active_lease "
                f"FROM `silver{suffix}`.tenant_status_history "
                f"WHERE tenant_id = {quirks.unknown_status_tenant} "
                f"AND valid_from = '{dumps[1].dump_date}'",
            )
            quirky_day2 = facts[dumps[1].dump_date]
            # the reason of that contract's move-out: the tenant's reason_moveout belongs to
            # the tenant's current contract only (computed here from the source rows)
            moveout_reasons = _rows(
                dsn,
                f"SELECT o.moving_id, o.moveout_reason_code, CASE WHEN t.moving_id = m.id "
                f"THEN t.reason_moveout END FROM `gold{suffix}`.moveouts o "
                f"JOIN `{staging}`.movings m ON m.id = o.moving_id "
                f"LEFT JOIN `{staging}`.tenants t ON t.id = m.tenant_id",
            )
            run("rerun_day3", dumps[2], [])
            run("older_day2", dumps[1], [])
            # the corrected second dump (without the quirks) as a backfill of that date
            restore_with_client(dsn, backfill_schema, dumps[1].path)
            facts[dumps[1].dump_date] = source_facts(dsn, backfill_schema)
            run("backfill_day2", dumps[1], ["--backfill", "--source-schema", backfill_schema])

            silver = f"silver{suffix}"
            indexes = set(
                _rows(
                    dsn,
                    "SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index) "
                    f"FROM information_schema.statistics WHERE table_schema = '{silver}' "
                    "AND table_name = 'tenant_room_snapshot_daily' GROUP BY index_name",
                )
            )
            explain = _rows(
                dsn,
                f"EXPLAIN SELECT COALESCE((SELECT MAX(snapshot_date) FROM `{silver}`."
                "tenant_room_snapshot_daily), '1900-01-01')",
            )
            yield Scenario(
                db_server.engine, dumps, facts, quirks, exit_codes, after, checksums, reports,
                indexes, explain, quirky_movings, unknown_history, quirky_day2,
                moveout_reasons,
            )  # fmt: skip
        finally:
            drop_schemas_containing(dsn, suffix)


def _node_names(report: dict[str, Any]) -> set[str]:
    return {n["unique_id"].split(".")[-1] for s in report["steps"] for n in s["nodes"]}


def test_each_date_runs_and_reports_success(scenario: Scenario) -> None:
    for label in ("day1", "day2", "day3"):
        assert scenario.exit_codes[label] == 0, scenario.reports[label]
        report = scenario.reports[label]
        assert report["status"] == "succeeded"
        assert [step["command"] for step in report["steps"]] == ["seed", "build"]
        statuses = {node["status"] for step in report["steps"] for node in step["nodes"]}
        assert statuses <= {"success", "pass", "warn"}
        assert report["counts"]["pass"] > 50  # the schema and singular tests ran
    assert scenario.reports["day1"]["data_quality"]["warnings"] == 0


def test_source_quirks_are_counted_warnings_not_failures(scenario: Scenario) -> None:
    report = scenario.reports["day2"]
    checks = {check["name"]: check for check in report["data_quality"]["checks"]}
    assert report["data_quality"]["warnings"] == len(checks) == report["counts"]["warn"]
    dangling = checks["relationships_stg_movings_tenant_id__tenant_id__ref_stg_tenants_"]
    assert dangling["model"] == "stg_movings" and dangling["column"] == "tenant_id"
    assert dangling["kind"] == "relationships" and dangling["failures"] >= 1
    assert str(scenario.quirks.dangling_tenant) in dangling["sample_keys"]
    unknown = checks["relationships_stg_tenants_status_code__code__ref_code_tenant_status_"]
    assert unknown["failures"] == 1 and unknown["sample_keys"] == [str(UNKNOWN_STATUS)]
    # nothing skipped: every model of the date was built
    skipped = [
        n["unique_id"] for s in report["steps"] for n in s["nodes"] if n["status"] == "skipped"
    ]
    assert skipped == []


def test_an_unknown_status_reads_unknown_and_is_not_occupying(scenario: Scenario) -> None:
    assert scenario.unknown_history == [(UNKNOWN_STATUS, "unknown", "unknown", 0)]
    day2 = scenario.dumps[1].dump_date
    warehouse = scenario.after["day2"]
    stored = {(t, a, r) for (d, t, a, r) in warehouse.snapshot if d == day2}
    assert stored == scenario.quirky_day2.occupying  # the rule's count, no row lost
    assert scenario.quirks.unknown_status_tenant not in {t for (t, _, _) in stored}
    assert warehouse.status_daily[day2] == len(scenario.quirky_day2.observations)


def test_partial_zero_dates_read_as_null_on_both_engines(scenario: Scenario) -> None:
    assert scenario.quirky_movings == [(None, None)]


def test_snapshot_rows_per_date_follow_the_occupancy_rule(scenario: Scenario) -> None:
    warehouse = scenario.after["backfill_day2"]
    for day, facts in scenario.facts.items():
        stored = {(t, a, r) for (d, t, a, r) in warehouse.snapshot if d == day}
        assert stored == facts.occupying, day
    first, *_, last = scenario.facts.values()
    assert first.occupying != last.occupying  # tenants moved in and out between the dumps


def test_occupancy_per_property_and_portfolio_match_an_independent_count(
    scenario: Scenario,
) -> None:
    warehouse = scenario.after["backfill_day2"]
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


def test_status_history_is_the_scd2_of_the_observations(scenario: Scenario) -> None:
    dates = [d.dump_date for d in scenario.dumps]
    quirky = dict(scenario.facts)
    quirky[dates[1]] = scenario.quirky_day2
    # built incrementally day by day: the SCD2 of the observations so far, at each step
    for day, label in enumerate(("day1", "day2", "day3"), 1):
        observed = {d: quirky[d].observations for d in dates[:day]}
        assert scenario.after[label].history == expected_history(observed), label
    # the backfill of the middle date splits/merges exactly the intervals around it
    observed = {day: facts.observations for day, facts in scenario.facts.items()}
    expected = expected_history(observed)
    assert scenario.after["backfill_day2"].history == expected
    changed = [row for row in expected if row[1] > START]
    assert changed, "the sample data must change some tenant's status between dumps"
    assert scenario.after["backfill_day2"].status_daily == {
        day: len(obs) for day, obs in observed.items()
    }


def test_history_grows_day_by_day(scenario: Scenario) -> None:
    dates = [d.dump_date for d in scenario.dumps]
    for day, label in enumerate(("day1", "day2", "day3"), 1):
        assert {row[0] for row in scenario.after[label].snapshot} == set(dates[:day])
        assert set(scenario.after[label].portfolio) == set(dates[:day])


def test_rerunning_the_newest_date_changes_nothing(scenario: Scenario) -> None:
    assert scenario.exit_codes["rerun_day3"] == 0
    assert scenario.after["rerun_day3"] == scenario.after["day3"]
    assert scenario.checksums["rerun_day3"] == scenario.checksums["day3"]


def test_an_older_date_without_the_flag_is_refused_and_writes_nothing(
    scenario: Scenario,
) -> None:
    assert scenario.exit_codes["older_day2"] == 2
    report = scenario.reports["older_day2"]
    assert report["status"] == "refused"
    assert "DBT_BACKFILL=1" in report["error"] and report["steps"] == []
    assert scenario.after["older_day2"] == scenario.after["day3"]


def test_a_backfill_rewrites_exactly_its_date(scenario: Scenario) -> None:
    assert scenario.exit_codes["backfill_day2"] == 0, scenario.reports["backfill_day2"]
    report = scenario.reports["backfill_day2"]
    assert report["backfill"] is True and report["data_quality"]["warnings"] == 0
    built = _node_names(report)
    assert "tenant_room_snapshot_daily" in built and "occupancy_daily" in built
    assert "int_contracts" not in built and "moveouts" not in built  # newest-dump models kept
    day2 = scenario.dumps[1].dump_date
    before, now = scenario.checksums["rerun_day3"], scenario.checksums["backfill_day2"]
    assert set(before) == set(now)
    for key, value in now.items():
        if key[1] != day2:
            assert value == before[key], key  # every other date byte-identical
    changed = [key for key in now if key[1] == day2 and now[key] != before[key]]
    assert ("tenant_status_daily", day2) in changed  # the corrected dump was written


def test_the_increment_filter_is_answered_from_the_snapshot_date_index(
    scenario: Scenario,
) -> None:
    assert scenario.indexes == {("ix_snapshot_date_apartment_id", "snapshot_date,apartment_id")}
    extras = " ".join(str(row[-1]) for row in scenario.explain)
    # MAX read from the index before execution, no scan (MariaDB's / MySQL's wording)
    assert "Select tables optimized away" in extras or "Rows fetched before execution" in extras


def test_moveouts_carry_that_contracts_reason(scenario: Scenario) -> None:
    rows = scenario.moveout_reasons
    assert rows and all(stored == expected for _, stored, expected in rows)
    assert any(expected is not None for *_, expected in rows)  # some reasons are known
    assert any(expected is None for *_, expected in rows)  # earlier contracts: none
