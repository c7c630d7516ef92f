"""Honest dumps that rely on row order load as the client loads them (issue 10): INSERTs
leaving out the AUTO_INCREMENT column get the client's ids, and REPLACE / INSERT IGNORE on
repeated keys never wait on the loader's other connections."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from dumpflow.loader.load import needs_order
from loader.support import checksums, run_sql


def client_load(dsn: Dsn, schema: str, path: Path) -> None:
    run_sql(dsn, f"CREATE DATABASE `{schema}`")
    with path.open("rb") as dump:
        subprocess.run(
            ["mariadb", f"-h{dsn.host}", f"-P{dsn.port}", f"-u{dsn.user}", schema],
            stdin=dump,
            check=True,
            capture_output=True,
        )


def both(dsn: Dsn, factory: Callable[[str], str], path: Path) -> tuple[dict[str, int | None], ...]:
    by_client, by_loader = factory("ldord"), factory("ldord")
    client_load(dsn, by_client, path)
    load_dump(str(path), by_loader, dsn, workers=3)
    return checksums(dsn, by_client), checksums(dsn, by_loader)


@pytest.mark.mariadb
def test_auto_increment_ids_match_the_client(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], tmp_path: Path
) -> None:
    path = tmp_path / "auto.sql"
    statements = [
        b"CREATE TABLE `a` (`id` int NOT NULL AUTO_INCREMENT, `v` varchar(20),"
        b" PRIMARY KEY (`id`));\n",
        b"CREATE TABLE `b` (`id` int NOT NULL AUTO_INCREMENT PRIMARY KEY, `v` int);\n",
    ]
    for n in range(120):
        rows = b",".join(b"('a%d-%d')" % (n, k) for k in range(20))
        statements.append(b"INSERT INTO `a` (`v`) VALUES " + rows + b";\n")
        statements.append(b"INSERT INTO `b` (`v`) VALUES (%d),(%d);\n" % (n, -n))
    path.write_bytes(b"".join(statements))

    client, loader = both(mariadb_dsn, schema_factory, path)

    assert loader == client and len(loader) == 2


@pytest.mark.mariadb
def test_replace_and_insert_ignore_on_repeated_keys(
    mariadb_dsn: Dsn, schema_factory: Callable[[str], str], tmp_path: Path
) -> None:
    path = tmp_path / "replace.sql"
    statements = [
        b"CREATE TABLE `r` (`id` int PRIMARY KEY, `v` varchar(20));\n",
        b"CREATE TABLE `i` (`id` int PRIMARY KEY, `v` varchar(20));\n",
    ]
    for n in range(200):
        statements.append(b"REPLACE INTO `r` VALUES (1,'v%d'),(%d,'w');\n" % (n, n + 2))
        statements.append(b"INSERT IGNORE INTO `i` VALUES (1,'v%d'),(%d,'w');\n" % (n, n + 2))
    path.write_bytes(b"".join(statements))

    client, loader = both(mariadb_dsn, schema_factory, path)

    assert loader == client and len(loader) == 2


def test_which_row_statements_keep_their_order() -> None:
    assert needs_order(b"REPLACE INTO `t` VALUES (1)", None)
    assert needs_order(b"INSERT IGNORE INTO `t` VALUES (1)", None)
    assert needs_order(b"INSERT INTO `t` (`v`) VALUES (1)", "id")
    assert not needs_order(b"INSERT INTO `t` (`id`,`v`) VALUES (1,2)", "id")
    assert not needs_order(b"INSERT INTO `t` VALUES (1,2)", "id")
    assert not needs_order(b"INSERT INTO `t` (`v`) VALUES (1)", None)
