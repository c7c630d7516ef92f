"""Source data built in a real MariaDB and dumped with the real mariadb-dump (helpers)."""

from __future__ import annotations

import subprocess

import pymysql

from dumpflow.db import Dsn
from dumpflow.sample.scratch import DUMP_OPTIONS

# the operator's cron job options, as the sample dumps use them
PRODUCTION_OPTIONS = DUMP_OPTIONS

SOURCE_DDL = [
    """CREATE TABLE apartments (
        id INT PRIMARY KEY, apartment_name VARCHAR(100) NOT NULL, prefecture VARCHAR(20),
        latitude DECIMAL(9,6), created_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
        UNIQUE KEY uq_name (apartment_name), KEY idx_pref (prefecture),
        KEY idx_pref_created (prefecture(4), created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE rooms (
        id INT PRIMARY KEY AUTO_INCREMENT, apartment_id INT NOT NULL, room_number VARCHAR(10),
        rent INT, photo BLOB, updated_at TIMESTAMP NULL DEFAULT NULL,
        CONSTRAINT fk_room_apartment FOREIGN KEY (apartment_id) REFERENCES apartments (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE tenants (
        id INT PRIMARY KEY, room_id INT, full_name VARCHAR(100), note TEXT, birth_date DATE,
        score DOUBLE, flags BIT(4), KEY (room_id),
        CONSTRAINT fk_tenant_room FOREIGN KEY (room_id) REFERENCES rooms (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    "CREATE TABLE empty_table (id INT PRIMARY KEY) ENGINE=InnoDB",
]

SOURCE_ROWS = [
    r"""INSERT INTO apartments VALUES
        (1, 'グランド新宿', '東京都', 35.689500, '2020-01-01 09:00:00'),
        (2, 'It''s "quoted"; with a semicolon', NULL, -12.5, '0000-00-00 00:00:00'),
        (3, 'back\\slash \\'' and ;\n newline', '大阪府', NULL, '2021-02-03 04:05:06')""",
    r"""INSERT INTO rooms (apartment_id, room_number, rent, photo, updated_at) VALUES
        (1, '101', 55000, 0x89504E470D0A1A0A00FF27225C3B0A, '2024-05-06 07:08:09'),
        (1, '102', NULL, NULL, NULL),
        (2, 'A-1', 0, 0x00, '2038-01-01 00:00:00'),
        (3, '子供;部屋', 70000, '', '1999-12-31 23:59:59')""",
    r"""INSERT INTO tenants VALUES
        (1, 1, '山田 太郎', 'line1\nline2\r\n\ttab', '1990-01-01', 1.5, b'1010'),
        (2, 1, 'NULL', NULL, '0000-00-00', NULL, b'0'),
        (3, 2, 'O''Brien', 'INSERT INTO x VALUES (1); DROP TABLE y; --', '2000-02-29',
            -0.000001, NULL),
        (4, NULL, '😀 emoji', '/* not a comment */ # nor this', NULL, 1e300, b'1111')""",
]

SOURCE_OBJECTS = [
    "CREATE VIEW occupied AS SELECT room_id, COUNT(*) AS n FROM tenants GROUP BY room_id",
    "CREATE TRIGGER tenants_bi BEFORE INSERT ON tenants FOR EACH ROW SET NEW.score = "
    "COALESCE(NEW.score, 0)",
    "CREATE PROCEDURE count_rooms() BEGIN SELECT COUNT(*) FROM rooms; END",
    "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM empty_table",
]


def admin(dsn: Dsn) -> pymysql.connections.Connection:
    return pymysql.connect(**dsn.connect_kwargs())


def run_sql(dsn: Dsn, *statements: str) -> None:
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def checksums(dsn: Dsn, schema: str) -> dict[str, int | None]:
    """CHECKSUM TABLE of every base table of the schema."""
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (schema,),
            )
            names = [row[0] for row in cur.fetchall()]
            result: dict[str, int | None] = {}
            for name in names:
                cur.execute(f"CHECKSUM TABLE `{schema}`.`{name}`")
                row = cur.fetchone()
                result[name] = None if row is None else row[1]
            return result
    finally:
        conn.close()


def schema_exists(dsn: Dsn, schema: str) -> bool:
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (schema,)
            )
            row = cur.fetchone()
            return bool(row and row[0])
    finally:
        conn.close()


def mariadb_dump(dsn: Dsn, schema: str, *options: str) -> bytes:
    args = ["mariadb-dump", f"-h{dsn.host}", f"-P{dsn.port}", f"-u{dsn.user}"]
    if dsn.password:
        args.append(f"-p{dsn.password}")
    return subprocess.run([*args, *options, schema], capture_output=True, check=True).stdout


def build_source(dsn: Dsn, schema: str) -> None:
    """The test's source schema: every awkward value the issue lists, plus objects."""
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{schema}`")
            cur.execute("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'")
            for statement in [*SOURCE_DDL, *SOURCE_ROWS, *SOURCE_OBJECTS]:
                cur.execute(statement)
    finally:
        conn.close()


def table_definitions(dsn: Dsn, schema: str) -> dict[str, str]:
    """SHOW CREATE TABLE of every base table (indexes included, in their order)."""
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            result = {}
            for name in checksums(dsn, schema):
                cur.execute(f"SHOW CREATE TABLE `{schema}`.`{name}`")
                row = cur.fetchone()
                assert row is not None
                result[name] = str(row[1])
            return result
    finally:
        conn.close()
