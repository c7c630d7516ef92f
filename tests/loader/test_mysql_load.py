"""The loader against real MySQL (the production engine family), issue 10: hostile dumps are
refused there too, MySQL-only version comments run as mysql runs them, and a publish
blocked by a reader fails in bounded time instead of hanging (MySQL's own default
lock_wait_timeout is a year)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from loader.accounts import restricted_user
from loader.support import admin, checksums, run_sql, schema_exists
from loader.test_hostile import HEADER, hidden, payloads
from mariadb_schemas import drop_schemas_containing


@pytest.fixture()
def mysql_target(mysql_dsn: Dsn) -> Iterator[str]:
    fragment = uuid.uuid4().hex[:10]
    yield f"ldmy_{fragment}"
    drop_schemas_containing(mysql_dsn, fragment)


@pytest.mark.parametrize("kind", ["create-select-mysql-user", "data-directory", "alter-rename-out"])
@pytest.mark.parametrize("as_root", [True, False])
def test_hidden_code_is_refused_on_mysql(
    kind: str, as_root: bool, mysql_dsn: Dsn, mysql_target: str, tmp_path: Path
) -> None:
    path = tmp_path / "hostile.sql"
    path.write_bytes(HEADER + hidden(payloads(mysql_target + "_v")[kind], b"\x01") + b";\n")

    def load(dsn: Dsn) -> LoadError:
        with pytest.raises(LoadError) as caught:
            load_dump(str(path), mysql_target, dsn)
        return caught.value

    if as_root:
        error = load(mysql_dsn)
    else:
        with restricted_user(mysql_dsn, mysql_target) as dsn:
            error = load(dsn)
    assert error.stage == "policy" and "'--' followed by" in error.cause
    assert not schema_exists(mysql_dsn, mysql_target)
    assert not schema_exists(mysql_dsn, mysql_target + "__shadow")


def test_mysql_only_version_comments_load_as_mysql_runs_them(
    mysql_dsn: Dsn, mysql_target: str, tmp_path: Path
) -> None:
    path = tmp_path / "mysql8.sql"
    path.write_bytes(
        b"/*!40101 SET NAMES utf8mb4 */;\n"
        b"CREATE TABLE `t` (`id` int NOT NULL, `hidden` int /*!80023 INVISIBLE */,"
        b" PRIMARY KEY (`id`)) /*M!100000 ENGINE=Aria */;\n"
        b"INSERT INTO `t` (`id`, `hidden`) VALUES (1,2);\n"
    )
    load_dump(str(path), mysql_target, mysql_dsn)
    conn = admin(mysql_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = %s ORDER BY ORDINAL_POSITION",
                (mysql_target,),
            )
            columns = [(str(r[0]), str(r[1])) for r in cur.fetchall()]
            cur.execute(
                "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                (mysql_target,),
            )
            engine = cur.fetchone()
    finally:
        conn.close()
    assert columns == [("id", ""), ("hidden", "INVISIBLE")]
    assert engine is not None and engine[0] == "InnoDB"  # /*M! is a plain comment to MySQL


def test_a_blocked_publish_on_mysql_fails_in_bounded_time(
    mysql_dsn: Dsn, mysql_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dumpflow.loader.load.LOCK_WAIT_SECONDS", 1)
    run_sql(
        mysql_dsn,
        f"CREATE DATABASE `{mysql_target}`",
        f"CREATE TABLE `{mysql_target}`.`good` (`id` int PRIMARY KEY)",
        f"INSERT INTO `{mysql_target}`.`good` VALUES (9)",
    )
    before = checksums(mysql_dsn, mysql_target)
    path = tmp_path / "good.sql"
    path.write_bytes(HEADER)
    reader = admin(mysql_dsn)
    try:
        with reader.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute(f"SELECT * FROM `{mysql_target}`.`good`")
            cur.fetchall()
            with pytest.raises(LoadError) as caught:
                load_dump(str(path), mysql_target, mysql_dsn)
    finally:
        reader.close()
    assert caught.value.stage == "publish" and "Lock wait timeout" in caught.value.cause
    assert checksums(mysql_dsn, mysql_target) == before
    assert not schema_exists(mysql_dsn, mysql_target + "__previous")
    assert not schema_exists(mysql_dsn, mysql_target + "__shadow")
