"""Hostile dumps of issue 10: text the old policy read as a string literal was code to the
server (``--`` followed by a control byte starts a comment on MariaDB and MySQL).

For every payload: the server really runs it (so the test can fail), the loader refuses it
before anything runs, and as the restricted account of docs/deploy.md the server itself
refuses it too, so either wall alone holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from dumpflow.loader.privileges import Grants, broad_grants
from dumpflow.loader.validate import validate_dump
from loader.accounts import restricted_user
from loader.support import admin, checksums, run_sql, schema_exists

HEADER = (
    b"/*!40101 SET NAMES utf8mb4 */;\n"
    b"CREATE TABLE `good` (`id` int PRIMARY KEY, `v` text);\n"
    b"INSERT INTO `good` VALUES (1,'a'),(2,'b');\n"
)
# bytes after "--" that make the server read a comment while a naive lexer reads on
HIDERS = {"x01": b"\x01", "x1c": b"\x1c", "x7f": b"\x7f", "x00": b"\x00"}


def payloads(victim: str) -> dict[str, bytes]:
    """Statements a lexer that only takes whitespace after '--' reads as one string literal."""
    return {
        "create-select-mysql-user": (
            b"CREATE TABLE `stolen` (`a` text --H '\n) SELECT `User` AS `a` FROM mysql.user -- ')"
        ),
        "merge-over-other-schema": (
            b"CREATE TABLE `m` (`a` int --H '\n"
            b") ENGINE=MRG_MyISAM UNION=(`" + victim.encode() + b"`.`secret`) -- ')"
        ),
        "data-directory": (b"CREATE TABLE `d` (`a` int --H '\n) DATA DIRECTORY='/tmp' -- ')"),
        "alter-rename-out": (
            b"ALTER TABLE `good` DISABLE KEYS --H '\n"
            b", RENAME TO `" + victim.encode() + b"`.`good` -- '"
        ),
    }


def hidden(payload: bytes, hider: bytes) -> bytes:
    return payload.replace(b"--H", b"--" + hider)


@pytest.fixture()
def victim(mariadb_dsn: Dsn, schema_factory: Callable[[str], str]) -> Iterator[str]:
    name = schema_factory("ldvic")
    run_sql(
        mariadb_dsn,
        f"CREATE DATABASE `{name}`",
        f"CREATE TABLE `{name}`.`secret` (`a` int) ENGINE=MyISAM",
        f"INSERT INTO `{name}`.`secret` VALUES (42)",
    )
    yield name


def _tables_named(dsn: Dsn, *names: str) -> list[tuple[str, str]]:
    conn = admin(dsn)
    try:
        with conn.cursor() as cur:
            marks = ", ".join(["%s"] * len(names))
            cur.execute(
                "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                f"WHERE TABLE_NAME IN ({marks}) AND TABLE_SCHEMA NOT IN ('mysql')",
                names,
            )
            return [(str(row[0]), str(row[1])) for row in cur.fetchall()]
    finally:
        conn.close()


@pytest.mark.mariadb
@pytest.mark.parametrize("kind", ["create-select-mysql-user", "merge-over-other-schema",
                                  "alter-rename-out"])  # fmt: skip
def test_the_server_runs_the_hidden_code(
    kind: str, mariadb_dsn: Dsn, victim: str, schema_factory: Callable[[str], str]
) -> None:
    """Evidence: as root, the server executes what follows the '--\\x01' line."""
    sandbox = schema_factory("ldsbx")
    run_sql(mariadb_dsn, f"CREATE DATABASE `{sandbox}`")
    conn = pymysql.connect(**{**mariadb_dsn.connect_kwargs(), "database": sandbox})
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE `good` (`id` int PRIMARY KEY, `v` text)")
            cur.execute(hidden(payloads(victim)[kind], b"\x01"))
            if kind == "create-select-mysql-user":
                cur.execute("SELECT COUNT(*) FROM `stolen`")
                assert cur.fetchone()[0] >= 1  # type: ignore[index]
            elif kind == "merge-over-other-schema":
                cur.execute("SELECT a FROM `m`")
                assert cur.fetchall() == ((42,),)
            else:
                assert (victim, "good") in _tables_named(mariadb_dsn, "good")
    finally:
        conn.close()


@pytest.fixture(params=["root", "restricted"])
def account(
    request: pytest.FixtureRequest, mariadb_dsn: Dsn, schema_factory: Callable[[str], str]
) -> Iterator[tuple[Dsn, str]]:
    """(dsn, target schema): root, or a user with privileges on the target's family only."""
    target = schema_factory("ldhos")
    if request.param == "root":
        yield mariadb_dsn, target
        return
    with restricted_user(mariadb_dsn, target) as dsn:
        yield dsn, target


@pytest.mark.mariadb
@pytest.mark.parametrize("hider", sorted(HIDERS))
@pytest.mark.parametrize("kind", ["create-select-mysql-user", "merge-over-other-schema",
                                  "data-directory", "alter-rename-out"])  # fmt: skip
def test_hidden_code_refuses_the_load(
    kind: str, hider: str, account: tuple[Dsn, str], victim: str, mariadb_dsn: Dsn,
    tmp_path: Path,
) -> None:  # fmt: skip
    dsn, target = account
    statement = hidden(payloads(victim)[kind], HIDERS[hider])
    path = tmp_path / "hostile.sql"
    path.write_bytes(HEADER + statement + b";\n")
    before = checksums(mariadb_dsn, victim)

    report = validate_dump(str(path))
    assert [r.statement for r in report.refused] == [4], report.refused
    with pytest.raises(LoadError) as caught:
        load_dump(str(path), target, dsn)

    assert caught.value.stage == "policy"
    assert caught.value.statement == 4
    assert "'--' followed by" in caught.value.cause
    assert not schema_exists(mariadb_dsn, target)
    assert not schema_exists(mariadb_dsn, target + "__shadow")
    assert _tables_named(mariadb_dsn, "stolen", "m", "d") == []
    assert checksums(mariadb_dsn, victim) == before


@pytest.mark.mariadb
# not data-directory: MariaDB lets any user with CREATE put a table's files in a directory
# mysqld can write (no FILE privilege needed); only the policy stops that one
@pytest.mark.parametrize("kind", ["create-select-mysql-user", "merge-over-other-schema",
                                  "alter-rename-out"])  # fmt: skip
def test_the_restricted_account_alone_stops_the_hidden_code(
    kind: str, mariadb_dsn: Dsn, victim: str, schema_factory: Callable[[str], str]
) -> None:
    """The second wall: run straight on the server as the deploy user, the code fails."""
    target = schema_factory("ldwal")
    run_sql(mariadb_dsn, f"CREATE DATABASE `{target}__shadow`")
    with restricted_user(mariadb_dsn, target) as dsn:
        conn = pymysql.connect(**{**dsn.connect_kwargs(), "database": target + "__shadow"})
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE `good` (`id` int PRIMARY KEY, `v` text)")
                with pytest.raises(pymysql.err.MySQLError) as caught:
                    cur.execute(hidden(payloads(victim)[kind], b"\x01"))
        finally:
            conn.close()
    assert caught.value.args[0] in (1044, 1142, 1143, 1227, 1045, 1210, 1370, 1168, 1472), (
        caught.value
    )
    assert _tables_named(mariadb_dsn, "stolen", "m", "d") == []


def test_broad_grants_are_named() -> None:
    grants = [
        "GRANT USAGE ON *.* TO `u`@`%`",
        "GRANT ALL PRIVILEGES ON `tgt`.* TO `u`@`%`",
        "GRANT ALL PRIVILEGES ON `tgt\\_\\_shadow`.* TO `u`@`%`",
        "GRANT SELECT ON `tgt__previous`.`t` TO `u`@`%`",
    ]
    assert broad_grants(grants, "tgt").all == []
    assert broad_grants([*grants, "GRANT FILE ON *.* TO `u`@`%`"], "tgt").global_ == ["FILE ON *.*"]
    for line, shown in [
        ("GRANT SELECT ON `mysql`.* TO `u`@`%`", "SELECT ON `mysql`.*"),
        ("GRANT SELECT ON `mysql`.`user` TO `u`@`%`", "SELECT ON `mysql`.`user`"),
        ("GRANT ALL ON `%`.* TO `u`@`%`", "ALL ON `%`.*"),
        ("GRANT ALL ON `my_ql`.* TO `u`@`%`", "ALL ON `my_ql`.*"),
        ("GRANT `dba`@`%` TO `u`@`%`", "GRANT `dba`@`%`"),
        ("GRANT PROXY ON ''@'%' TO 'u'@'%'", "PROXY ON ''@'%'"),
    ]:
        assert broad_grants([line], "tgt").global_ == [shown], line
    for line, shown in [
        ("GRANT ALL ON `tgt%`.* TO `u`@`%`", "ALL ON `tgt%`.*"),
        ("GRANT ALL ON `other`.* TO `u`@`%`", "ALL ON `other`.*"),
    ]:
        assert broad_grants([line], "tgt") == Grants([], [shown]), line


@pytest.mark.mariadb
def test_root_is_warned_about_and_the_restricted_user_is_not(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    path = tmp_path / "good.sql"
    path.write_bytes(HEADER)
    as_root = schema_factory("ldwarn")
    report = load_dump(str(path), as_root, mariadb_dsn)
    assert report.warnings and "ON *.*" in report.warnings[0]
    assert any("ON *.*" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)

    with pytest.raises(LoadError) as caught:
        load_dump(str(path), as_root, mariadb_dsn, refuse_global_privileges=True)
    assert caught.value.stage == "setup" and "docs/deploy.md" in caught.value.cause

    restricted = schema_factory("ldwarn")
    with restricted_user(mariadb_dsn, restricted) as dsn:
        report = load_dump(str(path), restricted, dsn, refuse_global_privileges=True)
        assert report.warnings == []
        report = load_dump(str(path), restricted, dsn, refuse_global_privileges=True)
    assert checksums(mariadb_dsn, restricted) == checksums(mariadb_dsn, as_root)
