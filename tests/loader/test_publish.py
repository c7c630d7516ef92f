"""Publishing: the target becomes exactly the dump; what it replaced waits in __previous."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from dumpflow.loader.load import load_lock_name
from loader.support import admin, checksums, run_sql, schema_exists


def foreign_key_parents(dsn: Dsn, schema: str) -> set[tuple[str, str, str]]:
    """(child table, parent schema, parent table) of every foreign key in the schema."""
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME "
                "FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s",
                (schema,),
            )
            return {(str(r[0]), str(r[1]), str(r[2])) for r in cur.fetchall()}
    finally:
        conn.close()


@pytest.mark.mariadb
def test_second_load_keeps_the_first_in_previous_and_drops_stale_tables_from_target(
    mariadb_dsn: Dsn,
    production_dump: Path,
    source_schema: str,
    schema_factory: Callable[[str], str],
) -> None:
    target = schema_factory("ldpub")
    run_sql(
        mariadb_dsn,
        f"CREATE DATABASE `{target}`",
        f"CREATE TABLE `{target}`.`legacy` (a int)",
        f"INSERT INTO `{target}`.`legacy` VALUES (42)",
        f"CREATE TABLE `{target}`.`tenants` (a int)",
    )
    first = checksums(mariadb_dsn, target)

    report = load_dump(str(production_dump), target, mariadb_dsn)

    assert checksums(mariadb_dsn, target) == checksums(mariadb_dsn, source_schema)
    assert checksums(mariadb_dsn, target + "__previous") == first
    assert sorted(report.replaced_tables) == ["legacy", "tenants"]
    assert not schema_exists(mariadb_dsn, target + "__shadow")

    assert foreign_key_parents(mariadb_dsn, target) == {
        ("rooms", target, "apartments"),
        ("tenants", target, "rooms"),
    }

    loaded_once = checksums(mariadb_dsn, target)
    load_dump(str(production_dump), target, mariadb_dsn)
    assert checksums(mariadb_dsn, target + "__previous") == loaded_once


@pytest.mark.mariadb
def test_tables_filter_loads_only_those_and_never_sends_the_rest(
    mariadb_dsn: Dsn,
    production_dump: Path,
    source_schema: str,
    schema_factory: Callable[[str], str],
) -> None:
    target = schema_factory("ldflt")

    report = load_dump(str(production_dump), target, mariadb_dsn, tables=["apartments", "tenants"])

    source = checksums(mariadb_dsn, source_schema)
    assert checksums(mariadb_dsn, target) == {
        "apartments": source["apartments"],
        "tenants": source["tenants"],
    }
    filtered = {item.name for item in report.skipped if item.kind == "filtered_table"}
    assert filtered == {"rooms", "empty_table"}
    assert set(report.tables) == {"apartments", "tenants"}
    assert report.to_dict()["totals"]["rows"] == 3 + 4


@pytest.mark.mariadb
def test_report_is_json_ready_and_counts_what_was_loaded(
    mariadb_dsn: Dsn, production_dump: Path, schema_factory: Callable[[str], str]
) -> None:
    target = schema_factory("ldrep")

    report = load_dump(
        str(production_dump),
        target,
        mariadb_dsn,
        expected_sha256=hashlib.sha256(production_dump.read_bytes()).hexdigest().upper(),
        required_tables=["apartments", "rooms", "tenants"],
        dump_label="dumps/gghouse_20261125.sql",
    )

    data = json.loads(json.dumps(report.to_dict()))
    assert data["dump"] == "dumps/gghouse_20261125.sql"
    assert data["sha256"] == hashlib.sha256(production_dump.read_bytes()).hexdigest()
    assert data["totals"]["rows"] == 3 + 4 + 4
    assert data["tables"]["rooms"]["rows"] == 4
    assert data["tables"]["rooms"]["bytes"] > 0
    assert data["totals"]["stored_bytes"] == production_dump.stat().st_size
    assert {item["kind"] for item in data["skipped"]} == {"view", "trigger", "routine", "event"}


@pytest.mark.mariadb
def test_tables_filter_drops_foreign_keys_whose_parent_was_left_out(
    mariadb_dsn: Dsn,
    production_dump: Path,
    source_schema: str,
    schema_factory: Callable[[str], str],
) -> None:
    target = schema_factory("ldfk")

    report = load_dump(str(production_dump), target, mariadb_dsn, tables=["rooms", "tenants"])

    # rooms -> apartments lost its parent; tenants -> rooms still has it, in the target
    assert foreign_key_parents(mariadb_dsn, target) == {("tenants", target, "rooms")}
    dropped = [item for item in report.skipped if item.kind == "foreign_key"]
    assert [item.name for item in dropped] == ["rooms.fk_room_apartment"]
    assert report.to_dict()["skipped"][-1]["kind"] == "foreign_key"
    source = checksums(mariadb_dsn, source_schema)
    assert checksums(mariadb_dsn, target) == {
        "rooms": source["rooms"],
        "tenants": source["tenants"],
    }

    # the next full load replaces the filtered set without tripping over stale references
    load_dump(str(production_dump), target, mariadb_dsn)
    assert foreign_key_parents(mariadb_dsn, target) == {
        ("rooms", target, "apartments"),
        ("tenants", target, "rooms"),
    }
    assert foreign_key_parents(mariadb_dsn, target + "__previous") == {
        ("tenants", target + "__previous", "rooms")
    }


@pytest.mark.mariadb
def test_a_failed_publish_keeps_the_rollback_copy_in_previous(
    mariadb_dsn: Dsn,
    production_dump: Path,
    schema_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:
    target = schema_factory("ldrb")
    load_dump(str(production_dump), target, mariadb_dsn)
    load_dump(str(production_dump), target, mariadb_dsn)
    rollback = checksums(mariadb_dsn, target + "__previous")
    live = checksums(mariadb_dsn, target)
    assert rollback == live
    # a view in the target holds the name of a table the next dump brings: RENAME fails
    run_sql(mariadb_dsn, f"CREATE VIEW `{target}`.`extra` AS SELECT 1 AS a")
    dump = tmp_path / "gghouse_20261126.sql"
    dump.write_bytes(production_dump.read_bytes() + b"CREATE TABLE `extra` (a int);\n")

    with pytest.raises(LoadError) as failed:
        load_dump(str(dump), target, mariadb_dsn)

    assert failed.value.stage == "publish"
    assert "gghouse_20261126.sql" in str(failed.value)
    assert checksums(mariadb_dsn, target) == live
    assert checksums(mariadb_dsn, target + "__previous") == rollback
    assert not schema_exists(mariadb_dsn, target + "__shadow")


@pytest.mark.parametrize(
    "schema", ["staging__shadow", "staging__previous", "staging__retired", "mysql", "s" * 60, ""]
)
def test_helper_system_and_overlong_schema_names_are_refused_before_connecting(
    schema: str,
) -> None:
    unreachable = Dsn.parse("mysql://root@127.0.0.1:1")
    with pytest.raises(LoadError) as refused:
        load_dump("dumps/gghouse_20261125.sql", schema, unreachable)
    assert refused.value.stage == "setup"
    assert str(refused.value).startswith("gghouse_20261125.sql: setup failed: ")
    assert "cannot connect" not in refused.value.cause


def test_the_load_lock_name_fits_mysql_8_for_every_accepted_schema_name() -> None:
    longest = "s" * 54  # the longest name check_schema_name accepts
    names = {load_lock_name(longest), load_lock_name(longest[:-1] + "t"), load_lock_name("x")}
    assert len(names) == 3
    assert all(len(name) <= 64 for name in names)
    assert load_lock_name("staging") == "dumpflow-load:staging"
