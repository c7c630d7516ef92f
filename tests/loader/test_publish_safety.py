"""Publish safety of issue 10: a failed swap changes nothing, schemas the loader did not make
are never dropped, a failed clean-up after the swap says the swap happened, a digest
mismatch leaves nothing behind."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest

import dumpflow.loader.publish as publish_module
from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
from loader.support import admin, checksums, run_sql, schema_exists

DUMP = (
    b"CREATE TABLE `a` (`id` int PRIMARY KEY);\nINSERT INTO `a` VALUES (1),(2);\n"
    b"CREATE TABLE `b` (`id` int PRIMARY KEY);\nINSERT INTO `b` VALUES (3);\n"
)


@pytest.fixture()
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "small.sql"
    path.write_bytes(DUMP)
    return path


@pytest.fixture()
def target(schema_factory: Callable[[str], str], mariadb_dsn: Dsn) -> str:
    """A target made by hand (not by the loader), with no __previous yet."""
    name = schema_factory("ldsafe")
    run_sql(
        mariadb_dsn,
        f"CREATE DATABASE `{name}`",
        f"CREATE TABLE `{name}`.`a` (`id` int)",
        f"INSERT INTO `{name}`.`a` VALUES (7)",
    )
    return name


def state(dsn: Dsn, target: str) -> dict[str, object]:
    return {
        suffix: (schema_exists(dsn, target + suffix), checksums(dsn, target + suffix))
        for suffix in ("", "__previous", "__shadow", "__retired")
    }


@pytest.fixture()
def lock_wait_of_one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dumpflow.loader.load.LOCK_WAIT_SECONDS", 1)


@pytest.mark.mariadb
@pytest.mark.usefixtures("lock_wait_of_one_second")
def test_a_swap_blocked_by_a_reader_fails_in_bounded_time_and_changes_nothing(
    mariadb_dsn: Dsn, target: str, dump: Path
) -> None:
    before = state(mariadb_dsn, target)
    reader = admin(mariadb_dsn)
    try:
        with reader.cursor() as cur:
            # a long transaction reading the target holds its metadata lock
            cur.execute("START TRANSACTION")
            cur.execute(f"SELECT * FROM `{target}`.`a`")
            cur.fetchall()
            with pytest.raises(LoadError) as caught:
                load_dump(str(dump), target, mariadb_dsn)
    finally:
        reader.close()

    assert caught.value.stage == "publish"
    assert "nothing was published" in caught.value.cause
    assert "Lock wait timeout" in caught.value.cause
    after = state(mariadb_dsn, target)
    assert after == before
    assert after["__previous"] == (False, {})  # no empty __previous left behind


@pytest.mark.mariadb
def test_a_failed_swap_into_a_new_target_creates_neither_schema(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], dump: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fresh = schema_factory("ldsafe")

    def failing_swap(cur: Any, moves: list[str]) -> None:
        raise pymysql.err.OperationalError(1025, "injected: error on rename")

    monkeypatch.setattr(publish_module, "swap", failing_swap)
    with pytest.raises(LoadError) as caught:
        load_dump(str(dump), fresh, mariadb_dsn)

    assert caught.value.stage == "publish" and "injected" in caught.value.cause
    assert state(mariadb_dsn, fresh) == {
        suffix: (False, {}) for suffix in ("", "__previous", "__shadow", "__retired")
    }


@pytest.mark.mariadb
def test_a_failed_clean_up_after_the_swap_says_the_swap_happened(
    mariadb_dsn: Dsn, target: str, dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = publish_module._drop_if_ours
    swapped = threading.Event()

    def drop(conn: Any, helper: str) -> None:
        if swapped.is_set() and helper.endswith("__shadow"):
            raise pymysql.err.OperationalError(1010, "injected: cannot drop")
        real(conn, helper)

    real_swap = publish_module.swap

    def swap(cur: Any, moves: list[str]) -> None:
        real_swap(cur, moves)
        swapped.set()

    monkeypatch.setattr(publish_module, "_drop_if_ours", drop)
    monkeypatch.setattr(publish_module, "swap", swap)
    report = load_dump(str(dump), target, mariadb_dsn)

    assert report.warnings[-1].startswith("published:")
    assert "injected" in report.warnings[-1]
    assert sorted(checksums(mariadb_dsn, target)) == ["a", "b"]
    monkeypatch.undo()
    # the marked leftover is the loader's own: the next load drops it and succeeds
    load_dump(str(dump), target, mariadb_dsn)
    assert not schema_exists(mariadb_dsn, target + "__shadow")


@pytest.mark.mariadb
@pytest.mark.parametrize("suffix", ["__shadow", "__retired"])
def test_a_helper_schema_the_loader_did_not_make_is_never_dropped(
    suffix: str, mariadb_dsn: Dsn, target: str, dump: Path
) -> None:
    run_sql(
        mariadb_dsn,
        f"CREATE DATABASE `{target}{suffix}`",
        f"CREATE TABLE `{target}{suffix}`.`precious` (a int)",
        f"INSERT INTO `{target}{suffix}`.`precious` VALUES (1)",
    )
    before = state(mariadb_dsn, target)

    with pytest.raises(LoadError) as caught:
        load_dump(str(dump), target, mariadb_dsn)

    assert caught.value.stage == "setup"
    assert (
        f"{target}{suffix}" in caught.value.cause and "not made by the loader" in caught.value.cause
    )
    assert state(mariadb_dsn, target) == before


@pytest.mark.mariadb
def test_the_marker_table_name_cannot_come_from_a_dump(
    mariadb_dsn: Dsn, target: str, tmp_path: Path
) -> None:
    path = tmp_path / "marker.sql"
    path.write_bytes(DUMP + f"DROP TABLE IF EXISTS `{publish_module.MARKER}`;\n".encode())
    before = state(mariadb_dsn, target)
    with pytest.raises(LoadError) as caught:
        load_dump(str(path), target, mariadb_dsn)
    assert caught.value.stage == "policy"
    assert state(mariadb_dsn, target) == before


@pytest.mark.mariadb
def test_a_digest_mismatch_leaves_nothing_behind(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], dump: Path
) -> None:
    fresh = schema_factory("ldsafe")
    with pytest.raises(LoadError) as caught:
        load_dump(str(dump), fresh, mariadb_dsn, expected_sha256=hashlib.sha256(b"x").hexdigest())
    assert caught.value.stage == "read" and "sha256 mismatch" in caught.value.cause
    assert state(mariadb_dsn, fresh) == {
        suffix: (False, {}) for suffix in ("", "__previous", "__shadow", "__retired")
    }
