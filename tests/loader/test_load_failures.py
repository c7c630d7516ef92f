"""Every way a load can fail leaves the target, and everything outside it, as it was."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from loader.support import admin, checksums, run_sql, schema_exists

REFUSED = {
    "grant": "GRANT ALL ON *.* TO 'ld_evil'@'%' IDENTIFIED BY 'x'",
    "revoke": "REVOKE ALL PRIVILEGES ON `{canary}`.* FROM 'root'@'localhost'",
    "create-user": "CREATE USER 'ld_evil'@'%' IDENTIFIED BY 'x'",
    "drop-user": "DROP USER 'ld_evil'@'%'",
    "create-database": "CREATE DATABASE `{canary}_2`",
    "drop-database": "DROP DATABASE `{canary}`",
    "alter-database": "ALTER DATABASE `{canary}` CHARACTER SET latin1",
    "use": "USE `{canary}`",
    "qualified-insert": "INSERT INTO `{canary}`.`t` VALUES (99)",
    "qualified-create": "CREATE TABLE `{canary}`.`x` (a int)",
    "qualified-drop": "DROP TABLE `{canary}`.`t`",
    "rename-out": "RENAME TABLE `apartments` TO `{canary}`.`apartments`",
    "insert-subquery": "INSERT INTO `apartments` (`id`, `apartment_name`) VALUES "
    "(77, (SELECT GROUP_CONCAT(a) FROM `{canary}`.`t`))",
    "create-like": "CREATE TABLE `copy` LIKE `{canary}`.`t`",
    "create-select": "CREATE TABLE `copy` SELECT * FROM `{canary}`.`t`",
    "create-directory": "CREATE TABLE `x` (a int) DATA DIRECTORY='/tmp'",
    "create-engine": "CREATE TABLE `x` (a int) ENGINE=FEDERATED",
    "load-data": "LOAD DATA INFILE '/etc/passwd' INTO TABLE `apartments`",
    "into-outfile": "SELECT * FROM `apartments` INTO OUTFILE '/tmp/ld_evil.txt'",
    "into-dumpfile": "SELECT 1 INTO DUMPFILE '/tmp/ld_evil.bin'",
    "call": "CALL `{canary}`.`p`()",
    "set-global": "SET GLOBAL max_connections = 7",
    "set-variable-off-list": "SET SESSION sql_safe_updates = 1",
    "set-unsafe-charset": "SET NAMES sjis",
    "set-mode-through-variable": "SET @m = 'ANSI_QUOTES'; SET sql_mode = @m",
    "shutdown": "SHUTDOWN",
    "install-plugin": "INSTALL SONAME 'ha_connect'",
    "udf-plugin": "CREATE FUNCTION ld_evil RETURNS STRING SONAME 'ha_connect.so'",
    "alter-rename-out": "ALTER TABLE `apartments` RENAME TO `{canary}`.`apartments`",
    "prepare": "PREPARE ld_evil FROM 'DROP DATABASE `{canary}`'",
    "set-global-by-name": "SET @@GLOBAL.max_connections = 7",
    "flush": "FLUSH PRIVILEGES",
    "delete": "DELETE FROM `apartments`",
}


@dataclass(frozen=True)
class World:
    """A loaded target, a canary schema beside it, and how they looked before."""

    dsn: Dsn
    target: str
    canary: str
    dump: bytes
    before: dict[str, object]

    def snapshot(self) -> dict[str, object]:
        conn = admin(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = 'ld_evil'")
                users = cur.fetchone()
                cur.execute("SELECT @@GLOBAL.max_connections")
                max_connections = cur.fetchone()
        finally:
            conn.close()
        return {
            "target": checksums(self.dsn, self.target),
            "previous": checksums(self.dsn, self.target + "__previous"),
            "canary": checksums(self.dsn, self.canary),
            "canary_2": schema_exists(self.dsn, self.canary + "_2"),
            "shadow": schema_exists(self.dsn, self.target + "__shadow"),
            "evil_users": users,
            "max_connections": max_connections,
        }

    def assert_unchanged(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture()
def world(mariadb_dsn: Dsn, production_dump: Path, schema_factory: Callable[[str], str]) -> World:
    target, canary = schema_factory("ldtgt"), schema_factory("ldcan")
    run_sql(
        mariadb_dsn,
        f"CREATE DATABASE `{canary}`",
        f"CREATE TABLE `{canary}`.`t` (a int)",
        f"INSERT INTO `{canary}`.`t` VALUES (1), (2)",
        f"CREATE PROCEDURE `{canary}`.`p`() INSERT INTO `{canary}`.`t` VALUES (3)",
    )
    load_dump(str(production_dump), target, mariadb_dsn)
    # the target now holds the dump; a second load makes __previous non-empty as well
    load_dump(str(production_dump), target, mariadb_dsn)
    partial = World(mariadb_dsn, target, canary, production_dump.read_bytes(), {})
    return World(mariadb_dsn, target, canary, partial.dump, partial.snapshot())


def inject(dump: bytes, statement: str) -> bytes:
    """The dump with ``statement;`` right after its first INSERT (rows already in flight)."""
    first_insert = dump.index(b"INSERT INTO")
    end = dump.index(b");\n", first_insert) + 3
    return dump[:end] + statement.encode() + b";\n" + dump[end:]


def fail(world: World, tmp_path: Path, data: bytes, **kwargs: object) -> LoadError:
    path = tmp_path / "bad.sql"
    path.write_bytes(data)
    with pytest.raises(LoadError) as caught:
        load_dump(str(path), world.target, world.dsn, **kwargs)  # type: ignore[arg-type]
    world.assert_unchanged()
    return caught.value


@pytest.mark.mariadb
@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_refused_statement_changes_nothing(kind: str, world: World, tmp_path: Path) -> None:
    statement = REFUSED[kind].format(canary=world.canary)
    data = inject(world.dump, statement)

    error = fail(world, tmp_path, data)

    assert error.stage == "policy"
    assert error.offset is not None and error.statement is not None
    refused_at = data.index(statement.split("; ")[-1].encode())
    assert error.offset == refused_at
    assert f"statement {error.statement} (byte offset {refused_at})" in str(error)
    assert "bad.sql" in str(error)


@pytest.mark.mariadb
def test_server_error_mid_load_names_the_statement(world: World, tmp_path: Path) -> None:
    duplicate = "INSERT INTO `apartments` VALUES (1,'dup',NULL,NULL,'2020-01-01 00:00:00')"
    data = inject(world.dump, duplicate)

    error = fail(world, tmp_path, data)

    assert error.stage == "execute"
    assert "Duplicate entry" in error.cause
    # rows run on parallel connections: whichever of the two clashing statements ran second
    # is the one the server refused
    clashing = {data.index(b"INSERT INTO `apartments`"), data.index(duplicate.encode())}
    assert error.offset in clashing


@pytest.mark.mariadb
def test_truncated_file(world: World, tmp_path: Path) -> None:
    last_insert = world.dump.rindex(b"INSERT INTO `")
    cut = world.dump[: last_insert + 40]

    error = fail(world, tmp_path, cut)

    assert error.stage == "parse"
    assert "unterminated" in error.cause
    assert error.offset == last_insert


@pytest.mark.mariadb
def test_corrupt_gzip(world: World, tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(world.dump))
    middle = len(packed) // 2
    packed[middle : middle + 16] = b"\x00" * 16

    error = fail(world, tmp_path, bytes(packed))

    assert error.stage == "read"
    assert "gzip" in error.cause


@pytest.mark.mariadb
def test_truncated_gzip(world: World, tmp_path: Path) -> None:
    packed = gzip.compress(world.dump)

    error = fail(world, tmp_path, packed[: len(packed) - 100])

    assert error.stage == "read"
    assert "truncated" in error.cause


@pytest.mark.mariadb
def test_empty_file(world: World, tmp_path: Path) -> None:
    error = fail(world, tmp_path, b"")

    assert error.stage == "verify"
    assert "no tables" in error.cause


@pytest.mark.mariadb
def test_digest_mismatch(world: World, tmp_path: Path) -> None:
    wrong = hashlib.sha256(b"another dump").hexdigest()

    error = fail(world, tmp_path, world.dump, expected_sha256=wrong)

    assert error.stage == "read"
    assert wrong in error.cause and hashlib.sha256(world.dump).hexdigest() in error.cause


@pytest.mark.mariadb
def test_missing_and_empty_required_tables(world: World, tmp_path: Path) -> None:
    error = fail(world, tmp_path, world.dump, required_tables=["tenants", "movings", "empty_table"])

    assert error.stage == "verify"
    assert "movings (missing)" in error.cause
    assert "empty_table (empty)" in error.cause


@pytest.mark.mariadb
def test_a_concurrent_load_into_the_same_target_is_refused(world: World, tmp_path: Path) -> None:
    holder = pymysql.connect(**world.dsn.connect_kwargs())
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", ("dumpflow-load:" + world.target,))
        error = fail(world, tmp_path, world.dump)
    finally:
        holder.close()

    assert error.stage == "setup"
    assert "another load" in error.cause
