"""Sample dumps: real mariadb-dump output that restores, evolves daily and repeats per seed."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dumpflow.db import Dsn
from dumpflow.sample import SampleDumpError, write_sample_dumps
from dumpflow.sample.restore import restore_with_client
from dumpflow.sample.scratch import scratch_schema

pytestmark = pytest.mark.mariadb

START = dt.date(2026, 11, 1)
OCCUPYING = (4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15)


def _query(dsn: Dsn, schema: str, sql: str) -> list[tuple[Any, ...]]:
    conn = pymysql.connect(**dsn.connect_kwargs(), database=schema)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def three_days(tmp_path_factory: pytest.TempPathFactory, mariadb_dsn: Dsn) -> list[Any]:
    out = tmp_path_factory.mktemp("dumps")
    return write_sample_dumps(out, START, 3, scale=0.03, seed=7, dsn=mariadb_dsn)


def test_files_and_manifests_are_named_by_date_and_describe_the_file(
    three_days: list[Any],
) -> None:
    assert [d.path.name for d in three_days] == [
        "gghouse_20261101.sql",
        "gghouse_20261102.sql",
        "gghouse_20261103.sql",
    ]
    for dump in three_days:
        on_disk = json.loads(dump.manifest_path.read_text())
        assert on_disk == dump.manifest
        assert dump.manifest_path.name == f"gghouse_{dump.dump_date:%Y%m%d}.json"
        assert on_disk["dump_key"] == f"dumps/{dump.path.name}"
        assert on_disk["dump_date"] == f"{dump.dump_date:%Y%m%d}"
        assert on_disk["dump_sha256"] == hashlib.sha256(dump.path.read_bytes()).hexdigest()
        assert on_disk["dump_size_bytes"] == dump.path.stat().st_size
        assert on_disk["valid_for_etl"] is True
        stamps = on_disk["max_updated_at_by_table"]
        assert set(stamps) == {"apartments", "rooms", "tenants", "movings", "inquiries"}
        newest = dt.datetime.fromisoformat(stamps["tenants"])
        assert newest.utcoffset() == dt.timedelta(hours=9)
        assert newest.date() < dump.dump_date


def test_dump_is_compact_extended_insert_output_of_mariadb_dump(three_days: list[Any]) -> None:
    text = three_days[0].path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("/*M!999999") or lines[0].startswith("/*!40101")
    assert "DROP TABLE" not in text and "-- " not in text  # --compact: no drops, no comments
    for table in ("apartments", "rooms", "tenants", "movings", "inquiries", "m_nationalities"):
        assert f"CREATE TABLE `{table}`" in text
        inserts = [line for line in lines if line.startswith(f"INSERT INTO `{table}` VALUES")]
        assert len(inserts) == 1, table  # extended insert: one statement for a small table


def test_restored_dump_has_the_source_system_at_its_scale_and_quirks(
    three_days: list[Any], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    schema = schema_factory("sample_src")
    restore_with_client(mariadb_dsn, schema, three_days[0].path)

    def one(sql: str) -> Any:
        return _query(mariadb_dsn, schema, sql)[0][0]

    assert one("SELECT COUNT(*) FROM apartments") == 21  # round(700 * 0.03)
    rooms = one("SELECT COUNT(*) FROM rooms")
    assert 8 * 21 <= rooms <= 38 * 21
    occupying = one(
        "SELECT COUNT(*) FROM tenants t JOIN movings m ON t.moving_id = m.id "
        f"WHERE t.status IN {OCCUPYING} AND m.is_moveout = 0 AND COALESCE(m.cancel_flag, 0) = 0"
    )
    assert 0.6 * rooms <= occupying <= 0.95 * rooms
    assert one("SELECT COUNT(*) FROM tenants WHERE full_name = 'NULL'") > 0
    assert one("SELECT COUNT(*) FROM tenants WHERE birth_date = '0000-00-00'") > 0
    assert one("SELECT COUNT(*) FROM movings WHERE cancel_flag IS NULL") > 0
    assert one("SELECT COUNT(*) FROM movings WHERE cancel_flag = 1") > 0
    assert one("SELECT COUNT(*) FROM tenants WHERE last_name IN ('佐藤', '鈴木', '高橋', '田中')")
    never_closed = one(
        "SELECT COUNT(*) FROM (SELECT tenant_id, room_id FROM movings "
        "WHERE is_moveout = 0 AND COALESCE(cancel_flag, 0) = 0 "
        "GROUP BY tenant_id, room_id HAVING COUNT(*) > 1) d"
    )
    assert never_closed > 0
    assert one("SELECT COUNT(*) FROM m_nationalities") > 10


def test_consecutive_days_evolve(
    three_days: list[Any], mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> None:
    first, last = schema_factory("sample_d1"), schema_factory("sample_d3")
    restore_with_client(mariadb_dsn, first, three_days[0].path)
    restore_with_client(mariadb_dsn, last, three_days[2].path)
    statuses = {
        schema: dict(_query(mariadb_dsn, schema, "SELECT id, status FROM tenants"))
        for schema in (first, last)
    }
    before, after = statuses[first], statuses[last]
    assert len(after) > len(before)  # new inquiries
    changed = {(before[t], after[t]) for t in before if before[t] != after[t]}
    assert any(new == 17 for _, new in changed)  # move-outs
    assert any(new == 14 for _, new in changed)  # notices
    assert any(new == 4 for _, new in changed)  # reservations
    assert any(new == 8 for _, new in changed)  # cancellations


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path, mariadb_dsn: Dsn) -> None:
    a = write_sample_dumps(tmp_path / "a", START, 2, scale=0.01, seed=3, dsn=mariadb_dsn)
    b = write_sample_dumps(tmp_path / "b", START, 2, scale=0.01, seed=3, dsn=mariadb_dsn)
    c = write_sample_dumps(tmp_path / "c", START, 1, scale=0.01, seed=4, dsn=mariadb_dsn)
    assert [d.path.read_bytes() for d in a] == [d.path.read_bytes() for d in b]
    assert a[0].path.read_bytes() != c[0].path.read_bytes()


def test_gzip_writes_the_same_dump_compressed(tmp_path: Path, mariadb_dsn: Dsn) -> None:
    (plain,) = write_sample_dumps(tmp_path / "p", START, scale=0.01, seed=5, dsn=mariadb_dsn)
    (packed,) = write_sample_dumps(
        tmp_path / "g", START, scale=0.01, seed=5, gzip=True, dsn=mariadb_dsn
    )
    assert packed.path.name == "gghouse_20261101.sql.gz"
    assert packed.manifest["dump_key"] == "dumps/gghouse_20261101.sql.gz"
    assert gzip.decompress(packed.path.read_bytes()) == plain.path.read_bytes()
    assert packed.manifest["dump_sha256"] == hashlib.sha256(packed.path.read_bytes()).hexdigest()


def test_scratch_schema_is_dropped_afterwards(mariadb_dsn: Dsn) -> None:
    with scratch_schema(mariadb_dsn) as schema:
        name = schema.name
        assert _query(mariadb_dsn, name, "SELECT COUNT(*) FROM movings") == [(0,)]
    rows = _query(mariadb_dsn, "information_schema", f"SHOW DATABASES LIKE '{name}'")
    assert rows == []


@pytest.mark.parametrize(("days", "scale"), [(0, 0.01), (1, 0.0)])
def test_impossible_requests_are_refused(tmp_path: Path, days: int, scale: float) -> None:
    with pytest.raises(SampleDumpError, match="sample-dump"):
        write_sample_dumps(tmp_path, START, days, scale=scale)
