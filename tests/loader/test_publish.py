"""Publishing: the target becomes exactly the dump; what it replaced waits in __previous."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import load_dump
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
