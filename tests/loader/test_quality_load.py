"""The gate wired into the real loader: bad sample dumps are refused before the publish.

Every dump here is real ``mariadb-dump`` output from the sample generator (good days and
its ``--variant`` dumps) loaded by ``load_dump`` with the gate as its ``before_publish``
step: a refused dump leaves the target exactly as it was and no shadow behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest

from db_servers import DbServer
from dumpflow.db import Dsn
from dumpflow.loader import LoadError, LoadReport, load_dump
from dumpflow.loader.publish import shadow_name
from dumpflow.loader.quality import QualityOptions, QualityRejected, QualityStep
from dumpflow.sample import SampleDump, write_sample_dumps
from loader.quality_support import REQUIRED
from loader.support import checksums

DAY_1 = dt.date(2026, 11, 24)
SCALE = 0.02


@pytest.fixture(scope="module")
def dumps(
    mariadb_dsn: Dsn, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[SampleDump]]:
    """Good days 1-4, and each variant (its last date the bad one; the days before it are the
    same bytes as the good days: same seed)."""
    root: Path = tmp_path_factory.mktemp("gate_load")
    made = {"good": write_sample_dumps(root / "good", DAY_1, 4, scale=SCALE, dsn=mariadb_dsn)}
    for variant in ("stale", "shrunk", "dropped-column"):
        made[variant] = write_sample_dumps(
            root / variant, DAY_1, 2, scale=SCALE, dsn=mariadb_dsn, variant=variant
        )
    return made


def gate_for(dump: SampleDump, accepted_by: str | None = None) -> QualityStep:
    return QualityStep(
        QualityOptions(
            dump_date=dump.dump_date,
            manifest_max_updated_at=dump.manifest["max_updated_at_by_table"],
            accepted_by=accepted_by,
        )
    )


def load(dump: SampleDump, schema: str, dsn: Dsn, accepted_by: str | None = None) -> LoadReport:
    return load_dump(
        str(dump.path),
        schema,
        dsn,
        required_tables=REQUIRED,
        before_publish=gate_for(dump, accepted_by),
    )


def schema_exists(dsn: Dsn, name: str) -> bool:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = %s", (name,)
            )
            row = cur.fetchone()
    finally:
        conn.close()
    return bool(row and row[0])


def assert_refused(
    dump: SampleDump, schema: str, dsn: Dsn, reasons: set[tuple[str, str]]
) -> QualityRejected:
    before = checksums(dsn, schema)
    with pytest.raises(QualityRejected) as caught:
        load(dump, schema, dsn)
    error = caught.value
    assert isinstance(error, LoadError) and error.stage == "quality"
    assert error.dump == dump.path.name
    assert str(error).startswith(f"{dump.path.name}: quality failed: ")
    failed = {(c.reason or "", c.table) for c in error.result.failures}
    assert reasons <= failed, failed
    for reason, table in reasons:
        assert f"{reason} ({table})" in str(error)
    # the target is exactly what it was; the shadow is gone
    assert checksums(dsn, schema) == before
    assert not schema_exists(dsn, shadow_name(schema))
    quality = error.report.quality
    assert quality is not None and quality["verdict"] == "fail"
    assert quality["accepted_by"] is None
    return error


@pytest.mark.mariadb
def test_good_sample_dumps_pass_the_gate_day_after_day(
    dumps: dict[str, list[SampleDump]], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    schema = schema_factory("qload")
    for dump in dumps["good"]:
        report = load(dump, schema, mariadb_dsn)
        quality = report.to_dict()["quality"]
        assert quality["passed"], (dump.dump_date, quality["summary"], quality["checks"])
        # every required table's freshness was judged on the data, day 1 included
        fresh = {c["table"] for c in quality["checks"] if c["check"] == "freshness"}
        assert fresh == set(REQUIRED)
        assert quality["previous_schema"] == (None if dump is dumps["good"][0] else schema)


@pytest.mark.mariadb
@pytest.mark.parametrize(
    ("variant", "reasons"),
    [
        ("stale", {("stale content", table) for table in REQUIRED}),
        ("shrunk", {("rows shrank", "tenants")}),
        ("dropped-column", {("dbt column removed or retyped", "rooms")}),
    ],
)
def test_bad_sample_dumps_are_refused_and_the_target_is_untouched(
    dumps: dict[str, list[SampleDump]],
    mariadb_dsn: Dsn,
    schema_factory: Callable[[str], str],
    variant: str,
    reasons: set[tuple[str, str]],
) -> None:
    schema = schema_factory("qload")
    first, bad = dumps[variant]
    assert first.path.read_bytes() == dumps["good"][0].path.read_bytes()
    load(first, schema, mariadb_dsn)
    assert_refused(bad, schema, mariadb_dsn, reasons)
    # the good next day still loads on top of the untouched day 1
    assert load(dumps["good"][1], schema, mariadb_dsn).quality["passed"]  # type: ignore[index]


def test_a_stale_dump_is_refused_on_mysql(
    dumps: dict[str, list[SampleDump]], mysql_dsn: Dsn
) -> None:
    server = DbServer("mysql", mysql_dsn)
    schema = f"qload_mysql_{dt.datetime.now().strftime('%H%M%S%f')}"
    try:
        load(dumps["good"][0], schema, server.dsn)
        assert_refused(
            dumps["stale"][1], schema, server.dsn, {("stale content", t) for t in REQUIRED}
        )
    finally:
        conn = pymysql.connect(**server.dsn.connect_kwargs())
        with conn.cursor() as cur:
            for name in (schema, shadow_name(schema), f"{schema}__previous"):
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.mark.mariadb
def test_an_accepted_dump_is_published_and_the_report_names_who_accepted(
    dumps: dict[str, list[SampleDump]], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    schema = schema_factory("qload")
    first, shrunk = dumps["shrunk"]
    load(first, schema, mariadb_dsn)
    report = load(shrunk, schema, mariadb_dsn, accepted_by="ops-tanaka at 2026-11-25T01:00Z")
    quality = report.to_dict()["quality"]
    assert quality["verdict"] == "fail" and not quality["passed"]
    assert quality["accepted_by"] == "ops-tanaka at 2026-11-25T01:00Z"
    assert quality["summary"] == "rows shrank (tenants)"
    conn = pymysql.connect(**mariadb_dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{schema}`.tenants")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None and row[0] == report.tables["tenants"].rows  # published


@pytest.mark.mariadb
def test_a_gate_that_cannot_read_is_a_failed_load_not_a_rejection(
    dumps: dict[str, list[SampleDump]], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    """A database error inside the gate is stage ``execute`` (retryable), never ``quality``."""
    schema = schema_factory("qload")

    def broken(conn: pymysql.connections.Connection, target: str, report: LoadReport) -> None:
        with conn.cursor() as cur:  # the shadow vanishes under the gate
            cur.execute(f"DROP DATABASE `{shadow_name(target)}`")
        gate_for(dumps["good"][0])(conn, target, report)

    with pytest.raises(LoadError) as caught:
        load_dump(str(dumps["good"][0].path), schema, mariadb_dsn, before_publish=broken)
    assert caught.value.stage == "execute"
    assert "does not exist" in caught.value.cause
    assert not isinstance(caught.value, QualityRejected)
    assert checksums(mariadb_dsn, schema) == {}
