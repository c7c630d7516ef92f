"""Dumps written by MySQL's own mysqldump (run in the MySQL chroot), loaded into MySQL.

The source system is MySQL: its dumps carry GTID lines, ``/*!80023 INVISIBLE */`` columns,
utf8mb4_0900 collations, JSON and generated columns. Each style round-trips with every
table's CHECKSUM TABLE equal to the source; views, routines, triggers and events are not
created."""

from __future__ import annotations

import gzip
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from dumpflow.local.mysql import SCRIPT
from loader.support import admin, checksums, run_sql

MYSQL_SOURCE_DDL = [
    """CREATE TABLE apartments (
        id INT PRIMARY KEY, apartment_name VARCHAR(100) COLLATE utf8mb4_0900_ai_ci NOT NULL,
        name_kana VARCHAR(100) COLLATE utf8mb4_ja_0900_as_cs, prefecture VARCHAR(20),
        attributes JSON, latitude DECIMAL(9,6),
        created_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
        UNIQUE KEY uq_name (apartment_name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci""",
    """CREATE TABLE rooms (
        id INT PRIMARY KEY AUTO_INCREMENT, apartment_id INT NOT NULL, room_number VARCHAR(10),
        rent INT, rent_with_tax INT GENERATED ALWAYS AS (rent * 110 DIV 100) STORED,
        rent_label VARCHAR(20) GENERATED ALWAYS AS (CONCAT('JPY ', rent)) VIRTUAL,
        internal_code VARCHAR(20) INVISIBLE, photo BLOB, updated_at TIMESTAMP NULL DEFAULT NULL,
        CONSTRAINT fk_room_apartment FOREIGN KEY (apartment_id) REFERENCES apartments (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE tenants (
        id INT PRIMARY KEY, room_id INT, full_name VARCHAR(100), note TEXT, birth_date DATE,
        moved_in DATE, score DOUBLE, flags BIT(4), KEY (room_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    "CREATE TABLE empty_table (id INT PRIMARY KEY) ENGINE=InnoDB",
]

MYSQL_SOURCE_ROWS = [
    r"""INSERT INTO apartments VALUES
        (1, 'グランド新宿', 'グランドシンジュク', '東京都', '{"floors": 5, "pets": false}',
         35.689500, '2020-01-01 09:00:00'),
        (2, 'It''s "quoted"; with a semicolon', NULL, NULL, '[1, "two", null]', -12.5,
         '0000-00-00 00:00:00'),
        (3, 'back\\slash \\'' and ;\n newline', 'ｶﾀｶﾅ', '大阪府', NULL, NULL,
         '2021-02-03 04:05:06')""",
    r"""INSERT INTO rooms (apartment_id, room_number, rent, internal_code, photo, updated_at)
        VALUES (1, '101', 55000, 'X-1', 0x89504E470D0A1A0A00FF27225C3B0A, '2024-05-06 07:08:09'),
        (1, '102', NULL, NULL, NULL, NULL),
        (2, 'A-1', 0, '', 0x00, '2038-01-01 00:00:00'),
        (3, '子供;部屋', 70000, '/* x */', '', '1999-12-31 23:59:59')""",
    r"""INSERT INTO tenants VALUES
        (1, 1, '山田 太郎', 'line1\nline2\r\n\ttab', '1990-01-01', '2026-03-00', 1.5, b'1010'),
        (2, 1, 'NULL', NULL, '0000-00-00', '2026-00-00', NULL, b'0'),
        (3, 2, 'O''Brien', 'INSERT INTO x VALUES (1); DROP TABLE y; --', '2000-02-29',
            NULL, -0.000001, NULL),
        (4, NULL, '😀 emoji', '/* not a comment */ # nor this', NULL, '2026-11-30', 1e300,
            b'1111')""",
]

MYSQL_SOURCE_OBJECTS = [
    "CREATE VIEW occupied AS SELECT room_id, COUNT(*) AS n FROM tenants GROUP BY room_id",
    "CREATE TRIGGER tenants_bi BEFORE INSERT ON tenants FOR EACH ROW SET NEW.score = "
    "COALESCE(NEW.score, 0)",
    "CREATE PROCEDURE count_rooms() BEGIN SELECT COUNT(*) FROM rooms; END",
    "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM empty_table",
]

# the source system's cron options, then the other styles people dump with
STYLES: dict[str, tuple[str, ...]] = {
    "production": (
        "--single-transaction",
        "--extended-insert",
        "--compact",
        "--triggers",
        "--routines",
        "--events",
        "--set-gtid-purged=ON",
    ),
    "default": ("--set-gtid-purged=ON",),
    "row-by-row": ("--skip-extended-insert", "--complete-insert", "--hex-blob"),
    "small-packets": ("--net-buffer-length=4096", "--set-gtid-purged=OFF"),
}

# what a source with zero dates needs to accept them (the dump sets its own sql_mode)
PERMISSIVE = "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES'"


def mysqldump(dsn: Dsn, schema: str, *options: str) -> bytes:
    """MySQL's own mysqldump, run inside the MySQL chroot (the host has no MySQL client)."""
    args = [
        str(SCRIPT),
        "exec",
        "mysqldump",
        "--protocol=tcp",
        f"-h{dsn.host}",
        f"-P{dsn.port}",
        f"-u{dsn.user}",
        *([f"-p{dsn.password}"] if dsn.password else []),
        "--default-character-set=utf8mb4",
        *options,
        schema,
    ]
    done = subprocess.run(args, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.fixture(scope="module")
def mysql_source(mysql_dsn: Dsn) -> Iterator[str]:
    """A source schema on MySQL with every construct the issue lists."""
    schema = "ldmysrc_" + uuid.uuid4().hex[:10]
    conn = admin(mysql_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{schema}`")
            cur.execute(PERMISSIVE)
            for statement in [*MYSQL_SOURCE_DDL, *MYSQL_SOURCE_ROWS, *MYSQL_SOURCE_OBJECTS]:
                cur.execute(statement)
    finally:
        conn.close()
    yield schema
    run_sql(mysql_dsn, f"DROP DATABASE IF EXISTS `{schema}`")


def object_names(dsn: Dsn, schema: str) -> dict[str, list[str]]:
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            found: dict[str, list[str]] = {}
            for kind, query in {
                "views": "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA=%s",
                "routines": "SELECT ROUTINE_NAME FROM information_schema.ROUTINES "
                "WHERE ROUTINE_SCHEMA=%s",
                "triggers": "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA=%s",
                "events": "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA=%s",
            }.items():
                cur.execute(query, (schema,))
                found[kind] = sorted(row[0] for row in cur.fetchall())
            return found
    finally:
        conn.close()


def column_shapes(dsn: Dsn, schema: str) -> list[tuple[object, ...]]:
    """Every column's type, collation, generation and visibility (what CHECKSUM cannot see)."""
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.COLUMN_TYPE, "
                "c.COLLATION_NAME, c.IS_NULLABLE, c.EXTRA, c.GENERATION_EXPRESSION "
                "FROM information_schema.COLUMNS c JOIN information_schema.TABLES t "
                "ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
                "WHERE c.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' "
                "ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
                (schema,),
            )
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("style", sorted(STYLES))
def test_a_mysqldump_dump_round_trips_on_mysql(
    style: str,
    mysql_dsn: Dsn,
    mysql_source: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    dump = tmp_path / f"gghouse_20261130_{style}.sql"
    dump.write_bytes(mysqldump(mysql_dsn, mysql_source, *STYLES[style]))
    if style == "production":
        assert b"GTID_PURGED" in dump.read_bytes(), "the source style carries GTID lines"
        assert b"/*!80023 INVISIBLE */" in dump.read_bytes()
    target = "ldmy_" + uuid.uuid4().hex[:10]
    request.addfinalizer(lambda: _drop_layout(mysql_dsn, target))

    report = load_dump(str(dump), target, mysql_dsn)

    assert checksums(mysql_dsn, target) == checksums(mysql_dsn, mysql_source)
    assert column_shapes(mysql_dsn, target) == column_shapes(mysql_dsn, mysql_source)
    assert object_names(mysql_dsn, target) == {
        "views": [],
        "routines": [],
        "triggers": [],
        "events": [],
    }
    assert report.tables["tenants"].rows == 4
    assert report.tables["empty_table"].rows == 0


def test_a_gzipped_production_dump_round_trips_on_mysql(
    mysql_dsn: Dsn, mysql_source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dump = tmp_path / "gghouse_20261130.sql.gz"
    dump.write_bytes(gzip.compress(mysqldump(mysql_dsn, mysql_source, *STYLES["production"])))
    target = "ldmygz_" + uuid.uuid4().hex[:10]
    request.addfinalizer(lambda: _drop_layout(mysql_dsn, target))

    load_dump(str(dump), target, mysql_dsn)

    assert checksums(mysql_dsn, target) == checksums(mysql_dsn, mysql_source)


def test_partial_zero_dates_arrive_unchanged(
    mysql_dsn: Dsn, mysql_source: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """MySQL's strict default mode refuses '2026-03-00' in a plain INSERT; the dump's own
    sql_mode lets it in, and the loader must not change it (the warehouse cleans it)."""
    dump = tmp_path / "gghouse_20261130.sql"
    dump.write_bytes(mysqldump(mysql_dsn, mysql_source, *STYLES["production"]))
    target = "ldmyzd_" + uuid.uuid4().hex[:10]
    request.addfinalizer(lambda: _drop_layout(mysql_dsn, target))

    load_dump(str(dump), target, mysql_dsn)

    conn = admin(mysql_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, CAST(moved_in AS CHAR) FROM `{target}`.tenants ORDER BY id")
            assert cur.fetchall() == (
                (1, "2026-03-00"),
                (2, "2026-00-00"),
                (3, None),
                (4, "2026-11-30"),
            )
    finally:
        conn.close()


def _drop_layout(dsn: Dsn, schema: str) -> None:
    for suffix in ("", "__shadow", "__previous", "__retired"):
        run_sql(dsn, f"DROP DATABASE IF EXISTS `{schema}{suffix}`")
