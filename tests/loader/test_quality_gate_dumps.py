"""The gate on real sample dumps (real mariadb-dump output) loaded by the real loader.

The failures the sample generator is to produce later (a stale copy, a shrunk table, a
dropped column) are made here from the loaded dumps themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from db_servers import DbServer
from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from dumpflow.loader.quality import GateResult, load_config, run_gate
from dumpflow.sample import SampleDump, write_sample_dumps
from loader.quality_support import DBT_COLUMNS, REQUIRED, connect

DAY_1 = dt.date(2026, 11, 24)
DAY_2 = DAY_1 + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def sample_dumps(mariadb_dsn: Dsn, tmp_path_factory: pytest.TempPathFactory) -> list[SampleDump]:
    out: Path = tmp_path_factory.mktemp("gate_dumps")
    return write_sample_dumps(out, DAY_1, 2, scale=0.05, dsn=mariadb_dsn)


@pytest.fixture()
def loaded(
    db_server: DbServer, server_schema_factory: Callable[[str], str], sample_dumps: list[SampleDump]
) -> tuple[str, str]:
    """Day 1 and day 2 loaded into two schemas, as the published load and the new shadow."""
    names = []
    for dump in sample_dumps:
        name = server_schema_factory("qgdump")
        load_dump(str(dump.path), name, db_server.dsn, required_tables=REQUIRED)
        names.append(name)
    return names[0], names[1]


def gate(
    server: DbServer, shadow: str, published: str | None, day: dt.date, manifest: SampleDump
) -> GateResult:
    with connect(server.dsn) as conn:
        return run_gate(
            conn,
            shadow_schema=shadow,
            published_schema=published,
            dump_date=day,
            manifest_max_updated_at=manifest.manifest["max_updated_at_by_table"],
            config=load_config(),
            dbt_columns=DBT_COLUMNS,
        )


def reasons(result: GateResult) -> set[tuple[str, str]]:
    return {(c.reason or "", c.table) for c in result.failures}


def test_real_dumps_pass_and_each_kind_of_bad_dump_fails(
    db_server: DbServer, loaded: tuple[str, str], sample_dumps: list[SampleDump]
) -> None:
    day_1, day_2 = loaded
    good = gate(db_server, day_2, day_1, DAY_2, sample_dumps[1])
    assert good.passed and good.verdict == "pass", good.failures + good.warnings
    # a copy of day 1 uploaded as day 2 (its manifest relabelled: it agrees with the data)
    copy = gate(db_server, day_1, day_1, DAY_2, sample_dumps[0])
    assert reasons(copy) == {("stale content", table) for table in REQUIRED}
    # ... and with day 2's true manifest, the manifest does not describe it either
    copy = gate(db_server, day_1, day_1, DAY_2, sample_dumps[1])
    assert {("manifest mismatch", table) for table in REQUIRED} <= reasons(copy)
    # day 1 again after day 2 was published: backwards
    back = gate(db_server, day_1, day_2, DAY_2, sample_dumps[0])
    assert {("content moved backwards", table) for table in REQUIRED} <= reasons(back)

    # last, as it changes day 2: a shrunk table and a dropped column dbt reads
    with connect(db_server.dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{day_1}`.tenants")
        before = cur.fetchone()[0]
        cur.execute(f"DELETE FROM `{day_2}`.tenants WHERE id % 3 <> 0")
        cur.execute(f"ALTER TABLE `{day_2}`.rooms DROP COLUMN rent")
        cur.execute(f"SELECT COUNT(*) FROM `{day_2}`.tenants")
        after = cur.fetchone()[0]
    result = gate(db_server, day_2, day_1, DAY_2, sample_dumps[1])
    shrink = next(c for c in result.failures if c.check == "row_count")
    assert (shrink.table, shrink.value, shrink.reason) == ("tenants", after, "rows shrank")
    assert f"had {before}" in shrink.message
    assert {("schema_drift", "rooms"), ("dbt_columns", "rooms")} <= {
        (c.check, c.table) for c in result.failures
    }
