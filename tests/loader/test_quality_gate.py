"""The quality gate against real schemas on MariaDB and MySQL: every check passing and failing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pymysql
import pytest

from db_servers import DbServer
from dumpflow.dumps import JST
from dumpflow.loader.quality import GateError, GateResult, run_gate
from dumpflow.loader.quality.config import GateConfig
from dumpflow.loader.quality.result import Check
from loader.quality_support import (
    DBT_COLUMNS,
    DUMP_DATE,
    EARLIER,
    FRESH,
    REQUIRED,
    build_schema,
    connect,
    gate_config,
    stamps,
)
from mariadb_schemas import drop_schemas_containing

MISSING = object()


def manifest_for(newest: Mapping[str, dt.datetime]) -> dict[str, str]:
    """A manifest's max_updated_at_by_table as the cron host writes it (+09:00)."""
    return {table: value.replace(tzinfo=JST).isoformat() for table, value in newest.items()}


FRESH_MANIFEST = manifest_for(dict.fromkeys(REQUIRED, FRESH))


def gate(
    server: DbServer,
    shadow: str,
    previous: str | None,
    *,
    manifest: object = MISSING,
    config: GateConfig | None = None,
    dbt: Mapping[str, Mapping[str, str | None]] = DBT_COLUMNS,
    dump_date: dt.date = DUMP_DATE,
) -> GateResult:
    with connect(server.dsn) as conn:
        return run_gate(
            conn,
            shadow_schema=shadow,
            published_schema=previous,
            dump_date=dump_date,
            manifest_max_updated_at=FRESH_MANIFEST if manifest is MISSING else manifest,
            config=config or gate_config(),
            dbt_columns=dbt,
        )


def only(result: GateResult, check: str, table: str) -> Check:
    found = [c for c in result.checks if c.check == check and c.table == table]
    assert len(found) == 1, (check, table, result.checks)
    return found[0]


def failed(result: GateResult) -> set[tuple[str, str]]:
    return {(c.check, c.table) for c in result.failures}


@pytest.fixture()
def names(server_schema_factory: Callable[[str], str]) -> Callable[[], str]:
    return lambda: server_schema_factory("qgate")


@pytest.fixture(scope="module")
def shared(db_server: DbServer) -> Iterator[tuple[str, str]]:
    """Built once per engine, never changed by a test: the published load of the day before
    (every newest change a day earlier) and a good shadow for the dump date."""
    fragment = f"qgshared_{uuid.uuid4().hex[:10]}"
    build_schema(db_server.dsn, f"{fragment}_prev", newest=EARLIER)
    build_schema(db_server.dsn, f"{fragment}_good")
    yield f"{fragment}_prev", f"{fragment}_good"
    drop_schemas_containing(db_server.dsn, fragment)


@pytest.fixture()
def previous(shared: tuple[str, str]) -> str:
    return shared[0]


@pytest.fixture()
def good(shared: tuple[str, str]) -> str:
    return shared[1]


def test_a_good_dump_passes_every_check(db_server: DbServer, previous: str, good: str) -> None:
    shadow = good
    result = gate(db_server, shadow, previous)
    assert result.passed and result.verdict == "pass", result.failures + result.warnings
    kinds = {(c.check, c.table) for c in result.checks}
    for table in REQUIRED:
        for check in (
            "freshness",
            "manifest_agreement",
            "content_progress",
            "row_count",
            "schema_drift",
            "dbt_columns",
        ):
            assert (check, table) in kinds
    assert only(result, "freshness", "rooms").value == "2026-11-24T20:15:00+09:00"
    assert only(result, "freshness", "rooms").limit == "2026-11-24T12:00:00+09:00"
    assert only(result, "row_count", "rooms").value == 10
    assert only(result, "row_count", "rooms").limit == 8
    report = json.loads(json.dumps(result.to_dict()))
    assert report["verdict"] == "pass" and report["previous_schema"] == previous
    assert {"check", "table", "value", "limit", "verdict", "message"} <= set(report["checks"][0])


def test_content_older_than_36_hours_before_the_days_end_is_stale(
    db_server: DbServer, names, previous: str
) -> None:
    just_too_old = dt.datetime(2026, 11, 24, 11, 59, 59)
    at_the_limit = dt.datetime(2026, 11, 24, 12, 0, 0)
    stale, edge = names(), names()
    build_schema(db_server.dsn, stale, {"rooms": stamps(just_too_old)})
    build_schema(db_server.dsn, edge, {"rooms": stamps(at_the_limit)})

    result = gate(
        db_server,
        stale,
        previous,
        manifest=manifest_for({**dict.fromkeys(REQUIRED, FRESH), "rooms": just_too_old}),
    )
    assert failed(result) == {("freshness", "rooms")}
    check = only(result, "freshness", "rooms")
    assert check.reason == "stale content" and check.setting == "defaults.freshness_hours"
    for part in (
        "rooms",
        "2026-11-24T11:59:59+09:00",
        "2026-11-24T12:00:00+09:00",
        "defaults.freshness_hours",
        "36 h",
    ):
        assert part in check.message
    assert "stale content (rooms)" in result.summary()

    result = gate(
        db_server,
        edge,
        previous,
        manifest=manifest_for({**dict.fromkeys(REQUIRED, FRESH), "rooms": at_the_limit}),
    )
    assert result.passed, result.failures


def test_a_tables_own_freshness_setting_overrides_the_default(
    db_server: DbServer, names, previous: str
) -> None:
    older = dt.datetime(2026, 11, 24, 3, 0)  # 45 h before the end of the dump date
    shadow = names()
    build_schema(db_server.dsn, shadow, {"apartments": stamps(older)})
    manifest = manifest_for({**dict.fromkeys(REQUIRED, FRESH), "apartments": older})
    assert not gate(db_server, shadow, previous, manifest=manifest).passed
    relaxed = gate_config({"apartments": {"freshness_hours": 72}})
    assert gate(db_server, shadow, previous, manifest=manifest, config=relaxed).passed
    strict = gate_config({"apartments": {"freshness_hours": 12}})
    check = only(
        gate(db_server, shadow, previous, manifest=manifest, config=strict),
        "freshness",
        "apartments",
    )
    assert check.verdict == "fail" and check.setting == "tables.apartments.freshness_hours"
    assert "tables.apartments.freshness_hours 12 h" in check.message
    off = gate_config({"apartments": {"freshness_hours": None}})
    result = gate(db_server, shadow, previous, manifest=manifest, config=off)
    assert result.passed and not [
        c for c in result.checks if c.check == "freshness" and c.table == "apartments"
    ]


def test_a_table_without_any_usable_timestamp_is_stale(
    db_server: DbServer, names, previous: str
) -> None:
    shadow = names()
    zero = "0000-00-00 00:00:00"
    build_schema(db_server.dsn, shadow, {"inquiries": [None, zero, zero, None]})
    manifest = {t: v for t, v in FRESH_MANIFEST.items() if t != "inquiries"}
    result = gate(db_server, shadow, previous, manifest=manifest)
    check = only(result, "freshness", "inquiries")
    assert check.verdict == "fail" and check.reason == "stale content"
    assert "holds no timestamp" in check.message
    assert only(result, "content_progress", "inquiries").verdict == "fail"
    assert only(result, "manifest_agreement", "inquiries").verdict == "warn"


def test_the_manifest_must_agree_with_the_data_to_the_second(
    db_server: DbServer, previous: str, good: str
) -> None:
    shadow = good
    same_instant = {
        **FRESH_MANIFEST,
        "rooms": "2026-11-24T11:15:00Z",  # 20:15 JST written in UTC
        "tenants": "2026-11-24T06:15:00-05:00",
        "movings": "2026-11-24T20:15:00.900+09:00",  # the same second
    }
    result = gate(db_server, shadow, previous, manifest=same_instant)
    assert result.passed, result.failures

    one_second_off = {**FRESH_MANIFEST, "rooms": "2026-11-24T20:15:01+09:00"}
    result = gate(db_server, shadow, previous, manifest=one_second_off)
    assert failed(result) == {("manifest_agreement", "rooms")}
    check = only(result, "manifest_agreement", "rooms")
    assert (check.value, check.limit) == ("2026-11-24T20:15:00+09:00", "2026-11-24T20:15:01+09:00")
    assert check.reason == "manifest mismatch" and "does not describe this dump" in check.message


@pytest.mark.parametrize(
    ("manifest", "table", "words"),
    [
        (
            {**FRESH_MANIFEST, "m_media": "2026-11-24T20:15:00+09:00"},
            "m_media",
            "which the dump does not hold",
        ),
        ({**FRESH_MANIFEST, "rooms": "2026-11-24T20:15:00"}, "rooms", "no UTC offset"),
        ({**FRESH_MANIFEST, "rooms": 1764000000}, "rooms", "expected an ISO timestamp string"),
        ({**FRESH_MANIFEST, "rooms": "yesterday"}, "rooms", "not an ISO 8601 timestamp"),
        (["rooms"], "*", "must be an object"),
    ],
)
def test_a_manifest_that_does_not_describe_the_dump_fails(
    db_server: DbServer, previous: str, good: str, manifest: object, table: str, words: str
) -> None:
    shadow = good
    result = gate(db_server, shadow, previous, manifest=manifest)
    assert failed(result) == {("manifest_agreement", table)}
    assert words in only(result, "manifest_agreement", table).message


def test_without_manifest_freshness_the_gate_warns_and_still_judges_the_data(
    db_server: DbServer, previous: str, good: str
) -> None:
    shadow = good
    result = gate(db_server, shadow, previous, manifest=None)
    assert result.passed and result.verdict == "warn"
    assert only(result, "manifest_agreement", "*").verdict == "warn"
    partial = {t: v for t, v in FRESH_MANIFEST.items() if t != "tenants"}
    result = gate(db_server, shadow, previous, manifest=partial)
    assert result.passed and only(result, "manifest_agreement", "tenants").verdict == "warn"


def test_content_that_moves_backwards_fails(db_server: DbServer, names) -> None:
    later = FRESH + dt.timedelta(hours=1)
    published, shadow = names(), names()
    build_schema(db_server.dsn, published, {"tenants": stamps(later)})
    build_schema(db_server.dsn, shadow)
    result = gate(db_server, shadow, published)
    assert failed(result) == {("content_progress", "tenants")}
    check = only(result, "content_progress", "tenants")
    assert (check.value, check.limit) == ("2026-11-24T20:15:00+09:00", "2026-11-24T21:15:00+09:00")
    assert check.reason == "content moved backwards" and published in check.message
    # the same content as the previous load is not backwards
    assert gate(db_server, shadow, shadow).passed


def test_a_table_may_shrink_by_at_most_its_share(db_server: DbServer, names) -> None:
    published, shrunk, edge = names(), names(), names()
    build_schema(db_server.dsn, published, {"tenants": stamps(EARLIER, 10)}, newest=EARLIER)
    build_schema(db_server.dsn, shrunk, {"tenants": stamps(FRESH, 7)})
    build_schema(db_server.dsn, edge, {"tenants": stamps(FRESH, 8)})

    result = gate(db_server, shrunk, published)
    assert failed(result) == {("row_count", "tenants")}
    check = only(result, "row_count", "tenants")
    assert (check.value, check.limit, check.reason) == (7, 8, "rows shrank")
    for part in ("tenants has 7 rows", "limit 8", "had 10", "defaults.max_shrink_share", "20%"):
        assert part in check.message
    assert gate(db_server, edge, published).passed

    half = gate_config({"tenants": {"max_shrink_share": 0.5}})
    result = gate(db_server, shrunk, published, config=half)
    assert result.passed and only(result, "row_count", "tenants").limit == 5
    none_may_go = gate_config(max_shrink_share=0)
    check = only(gate(db_server, edge, published, config=none_may_go), "row_count", "tenants")
    assert (
        check.verdict == "fail"
        and check.limit == 10
        and check.setting == "defaults.max_shrink_share"
    )


def test_a_table_that_vanishes_fails_whatever_the_share(
    db_server: DbServer, names, previous: str
) -> None:
    empty, missing = names(), names()
    build_schema(db_server.dsn, empty, {"inquiries": []})
    build_schema(db_server.dsn, missing, tables=[t for t in REQUIRED if t != "inquiries"])
    unlimited = gate_config(max_shrink_share=None)
    manifest = {t: v for t, v in FRESH_MANIFEST.items() if t != "inquiries"}
    for shadow, shown in ((empty, "has 0 rows"), (missing, "is missing")):
        result = gate(db_server, shadow, previous, manifest=manifest, config=unlimited)
        check = only(result, "row_count", "inquiries")
        assert check.verdict == "fail" and check.reason == "table vanished"
        assert f"inquiries {shown}" in check.message and "had 10 rows" in check.message
    result = gate(db_server, missing, previous, manifest=manifest)
    assert {
        ("freshness", "inquiries"),
        ("row_count", "inquiries"),
        ("dbt_columns", "inquiries"),
        ("schema_drift", "inquiries"),
    } <= failed(result)


def test_schema_drift_fails_only_for_columns_dbt_reads(
    db_server: DbServer, names, previous: str
) -> None:
    shadow = names()
    build_schema(
        db_server.dsn,
        shadow,
        alter=[
            "ALTER TABLE {schema}.rooms DROP COLUMN rent",  # dbt reads it
            "ALTER TABLE {schema}.rooms DROP COLUMN bed_type",  # dbt does not
            "ALTER TABLE {schema}.tenants MODIFY status VARCHAR(8)",  # dbt reads it
            "ALTER TABLE {schema}.movings MODIFY administrative_fee BIGINT",  # dbt does not
            "ALTER TABLE {schema}.apartments ADD COLUMN note TEXT",
        ],
    )
    result = gate(db_server, shadow, previous)
    assert failed(result) == {
        ("schema_drift", "rooms"),
        ("schema_drift", "tenants"),
        ("dbt_columns", "rooms"),
    }
    rooms = only(result, "schema_drift", "rooms")
    assert "removed: rent, bed_type" in str(rooms.value) and "dbt reads rent" in rooms.message
    assert "bed_type" not in rooms.message.split("dbt reads")[1]
    tenants = only(result, "schema_drift", "tenants")
    assert "status tinyint" in str(tenants.value) and "-> varchar(8)" in str(tenants.value)
    assert only(result, "schema_drift", "movings").verdict == "warn"
    assert only(result, "schema_drift", "apartments").verdict == "warn"
    assert only(result, "schema_drift", "inquiries").verdict == "pass"
    changes = {(d.table, d.column): d for d in result.drift}
    assert changes["rooms", "rent"].change == "removed" and changes["rooms", "rent"].read_by_dbt
    assert not changes["rooms", "bed_type"].read_by_dbt
    assert changes["apartments", "note"].change == "added"
    assert changes["apartments", "note"].after == "text"
    assert changes["movings", "administrative_fee"].before.startswith("int")
    assert changes["movings", "administrative_fee"].after.startswith("bigint")


def test_additive_changes_and_new_tables_pass_with_a_warning(
    db_server: DbServer, names, previous: str
) -> None:
    shadow = names()
    build_schema(
        db_server.dsn,
        shadow,
        tables=[*REQUIRED, "m_media"],
        alter=[
            "ALTER TABLE {schema}.rooms ADD COLUMN view_count INT",
        ],
    )
    result = gate(db_server, shadow, previous)
    assert result.passed and result.verdict == "warn"
    assert {(c.check, c.table) for c in result.warnings} == {
        ("schema_drift", "rooms"),
        ("schema_drift", "m_media"),
    }
    assert {(d.table, d.change) for d in result.drift} == {
        ("rooms", "added"),
        ("m_media", "table_added"),
    }
    removed_back = gate(
        db_server,
        previous,
        shadow,
        manifest=manifest_for(dict.fromkeys(REQUIRED, EARLIER)),
        dump_date=DUMP_DATE - dt.timedelta(days=1),
    )
    assert {(d.table, d.change) for d in removed_back.drift} == {
        ("rooms", "removed"),
        ("m_media", "table_removed"),
    }
    assert only(removed_back, "schema_drift", "m_media").verdict == "warn"  # dbt does not read it


def test_a_table_whose_dbt_columns_are_not_listed_counts_every_column_as_read(
    db_server: DbServer, names, previous: str
) -> None:
    shadow = names()
    build_schema(db_server.dsn, shadow, alter=["ALTER TABLE {schema}.rooms DROP COLUMN bed_type"])
    dbt = {**DBT_COLUMNS, "rooms": {}}
    check = only(gate(db_server, shadow, previous, dbt=dbt), "schema_drift", "rooms")
    assert check.verdict == "fail" and "every column counts as read" in check.message


def test_columns_dbt_reads_must_exist_even_without_a_previous_load(
    db_server: DbServer, names
) -> None:
    shadow = names()
    build_schema(db_server.dsn, shadow, alter=["ALTER TABLE {schema}.rooms DROP COLUMN rent"])
    result = gate(db_server, shadow, None)
    assert failed(result) == {("dbt_columns", "rooms")}
    check = only(result, "dbt_columns", "rooms")
    assert "missing rent" in check.message and (check.value, check.limit) == (3, 4)
    declared = {**DBT_COLUMNS, "tenants": {"id": "int", "status": "varchar(8)"}}
    check = only(gate(db_server, shadow, None, dbt=declared), "dbt_columns", "tenants")
    assert check.verdict == "fail" and "status is tinyint" in check.message
    assert "declared varchar(8)" in check.message
    matching = {**DBT_COLUMNS, "tenants": {"id": "INT", "updated_at": "datetime"}}
    assert (
        only(gate(db_server, shadow, None, dbt=matching), "dbt_columns", "tenants").verdict
        == "pass"
    )


def test_without_a_previous_load_the_progress_and_drift_checks_pass(
    db_server: DbServer, names, good: str
) -> None:
    shadow, empty = good, names()
    build_schema(db_server.dsn, empty, tables=[])
    for published in (None, empty, names()):  # none, an empty schema, a schema never created
        result = gate(db_server, shadow, published)
        assert result.passed and result.previous_schema is None
        for check in result.checks:
            if check.check in ("content_progress", "row_count", "schema_drift"):
                assert check.verdict == "pass" and "no previous load" in check.message
        assert bool(result.notes) == (published is not None)


def test_timestamp_columns_are_read_in_jst_and_the_session_zone_is_restored(
    db_server: DbServer, names, previous: str
) -> None:
    shadow = names()
    build_schema(db_server.dsn, shadow)
    with connect(db_server.dsn) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION time_zone = '+09:00'")  # the stored values are JST
        cur.execute(f"ALTER TABLE `{shadow}`.rooms MODIFY updated_at TIMESTAMP NULL")
    with connect(db_server.dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("SET SESSION time_zone = '-07:00'")
        result = run_gate(
            conn,
            shadow_schema=shadow,
            published_schema=previous,
            dump_date=DUMP_DATE,
            manifest_max_updated_at=FRESH_MANIFEST,
            config=gate_config(),
            dbt_columns=DBT_COLUMNS,
        )
        with conn.cursor() as cur:
            cur.execute("SELECT @@session.time_zone")
            assert cur.fetchone()[0] == "-07:00"
    assert only(result, "freshness", "rooms").value == "2026-11-24T20:15:00+09:00"
    assert only(result, "manifest_agreement", "rooms").verdict == "pass"
    # the retyping itself is drift of a column dbt reads
    assert failed(result) == {("schema_drift", "rooms")}


def test_a_missing_shadow_schema_is_an_error_not_a_verdict(db_server: DbServer, names) -> None:
    with pytest.raises(GateError, match="does not exist"):
        gate(db_server, names(), None)


class FailingCursor:
    """A real cursor that raises a server error on the statements a test names."""

    def __init__(self, cursor: Any, fail_on: str) -> None:
        self.cursor, self.fail_on = cursor, fail_on

    def execute(self, sql: str, args: Any = None) -> Any:
        if self.fail_on in sql:
            raise pymysql.err.OperationalError(2013, "Lost connection to server during query")
        return self.cursor.execute(sql, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


class FailingConnection:
    def __init__(self, conn: Any, fail_on: str) -> None:
        self.conn, self.fail_on = conn, fail_on

    def cursor(self) -> FailingCursor:
        return FailingCursor(self.conn.cursor(), self.fail_on)


@pytest.mark.parametrize("fail_on", ["information_schema.COLUMNS", "COUNT(*)", "MAX("])
def test_a_database_error_is_a_gate_error_and_the_session_zone_is_restored(
    db_server: DbServer, previous: str, good: str, fail_on: str
) -> None:
    with connect(db_server.dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("SET SESSION time_zone = '+01:00'")
        with pytest.raises(GateError) as caught:
            run_gate(
                FailingConnection(conn, fail_on),
                shadow_schema=good,
                published_schema=previous,
                dump_date=DUMP_DATE,
                manifest_max_updated_at=FRESH_MANIFEST,
                config=gate_config(),
                dbt_columns=DBT_COLUMNS,
            )
        assert good in str(caught.value) and "Lost connection" in str(caught.value)
        with conn.cursor() as cur:
            cur.execute("SELECT @@session.time_zone")
            assert cur.fetchone()[0] == "+01:00"


def test_the_gate_only_reads(db_server: DbServer, names, previous: str) -> None:
    shadow = names()
    build_schema(db_server.dsn, shadow, alter=["ALTER TABLE {schema}.rooms DROP COLUMN rent"])

    def state() -> list[tuple[Any, ...]]:
        with connect(db_server.dsn) as conn, conn.cursor() as cur:
            tables = ", ".join(f"`{s}`.`{t}`" for s in (shadow, previous) for t in REQUIRED)
            cur.execute(f"CHECKSUM TABLE {tables}")
            return list(cur.fetchall())

    before = state()
    assert not gate(db_server, shadow, previous).passed
    assert state() == before
