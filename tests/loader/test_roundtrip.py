"""Dumps written by the real mariadb-dump, in every option style, load back identically."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from loader.support import PRODUCTION_OPTIONS, checksums, mariadb_dump, table_definitions

STYLES = {
    "production": PRODUCTION_OPTIONS,
    "default": (),
    "row-by-row": ("--skip-extended-insert",),
    "complete-insert": ("--complete-insert",),
    "hex-blob": ("--hex-blob",),
    "net-buffer-splits": ("--net-buffer-length=4096",),
    "compact-only": ("--compact",),
    "insert-ignore": ("--insert-ignore", "--skip-add-drop-table"),
    "replace": ("--replace", "--compact"),
}


@pytest.mark.mariadb
@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_table_checksums_equal_to_the_source(
    style: str,
    mariadb_dsn: Dsn,
    source_schema: str,
    schema_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    dump = tmp_path / f"{style}.sql"
    dump.write_bytes(mariadb_dump(mariadb_dsn, source_schema, *STYLES[style]))
    target = schema_factory("ldrt")

    report = load_dump(str(dump), target, mariadb_dsn)

    expected = checksums(mariadb_dsn, source_schema)
    assert checksums(mariadb_dsn, target) == expected
    assert table_definitions(mariadb_dsn, target) == table_definitions(mariadb_dsn, source_schema)
    assert set(report.tables) == set(expected)
    assert report.tables["tenants"].rows == 4
    assert report.tables["empty_table"].rows == 0


@pytest.mark.mariadb
def test_gzip_dump_is_detected_by_its_bytes_not_its_name(
    mariadb_dsn: Dsn,
    source_schema: str,
    schema_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    dump = tmp_path / "gghouse_20261125.sql"  # no .gz suffix on purpose
    dump.write_bytes(gzip.compress(mariadb_dump(mariadb_dsn, source_schema, *PRODUCTION_OPTIONS)))
    target = schema_factory("ldgz")

    report = load_dump(str(dump), target, mariadb_dsn)

    assert report.gzip
    assert checksums(mariadb_dsn, target) == checksums(mariadb_dsn, source_schema)


@pytest.mark.mariadb
def test_views_triggers_routines_events_are_listed_not_run(
    mariadb_dsn: Dsn,
    production_dump: Path,
    schema_factory: Callable[[str], str],
) -> None:
    target = schema_factory("ldobj")

    report = load_dump(str(production_dump), target, mariadb_dsn)

    listed = {(item.kind, item.name) for item in report.skipped}
    assert listed == {
        ("view", "occupied"),
        ("trigger", "tenants_bi"),
        ("routine", "count_rooms"),
        ("event", "nightly"),
    }
    # nothing of them exists in the target: only the four base tables
    assert sorted(checksums(mariadb_dsn, target)) == [
        "apartments",
        "empty_table",
        "rooms",
        "tenants",
    ]


@pytest.mark.mariadb
def test_a_stand_in_table_dropped_for_its_view_is_not_reported_as_loaded(
    mariadb_dsn: Dsn,
    source_schema: str,
    schema_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    # older mysqldump writes a table in place of each view, then drops it for the view
    stand_in = (
        b"CREATE TABLE `occupied_rooms` (`room_id` tinyint NOT NULL) ENGINE=MyISAM;\n"
        b"/*!50001 DROP TABLE IF EXISTS `occupied_rooms`*/;\n"
        b"/*!50001 CREATE ALGORITHM=UNDEFINED */\n"
        b"/*!50001 VIEW `occupied_rooms` AS select `room_id` from `tenants` */;\n"
    )
    dump = tmp_path / "gghouse_20261125.sql"
    dump.write_bytes(mariadb_dump(mariadb_dsn, source_schema, *PRODUCTION_OPTIONS) + stand_in)
    target = schema_factory("ldsi")

    report = load_dump(str(dump), target, mariadb_dsn)

    assert set(report.tables) == set(checksums(mariadb_dsn, source_schema))
    assert "occupied_rooms" not in checksums(mariadb_dsn, target)
    assert ("view", "occupied_rooms") in {(item.kind, item.name) for item in report.skipped}
