"""No value is silently changed (issue 10): values that do not fit their column fail the
load, even after the dump sets its own sql_mode, while zero dates and partial zero dates
still load, on MariaDB and on MySQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from db_servers import DbServer
from dumpflow.loader import LoadError, load_dump
from loader.support import admin, schema_exists

# what mysqldump and mariadb-dump put first: their own sql_mode, without strictness
HEADER = (
    b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
    b"CREATE TABLE `t` (`id` int PRIMARY KEY, `s` varchar(3), `n` tinyint, `d` date,"
    b" `dt` datetime);\n"
)


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (b"(1,'abcd',1,NULL,NULL)", "Data too long"),
        (b"(1,'abc',300,NULL,NULL)", "Out of range"),
        (b"(1,'abc',1,'2026-13-01',NULL)", "Incorrect date value"),
    ],
)
def test_a_value_that_does_not_fit_fails_the_load(
    row: bytes, error: str, db_server: DbServer, server_schema_factory: Callable[[str], str],
    tmp_path: Path,
) -> None:  # fmt: skip
    target = server_schema_factory("ldstr")
    path = tmp_path / "bad.sql"
    path.write_bytes(HEADER + b"INSERT INTO `t` VALUES " + row + b";\n")

    with pytest.raises(LoadError) as caught:
        load_dump(str(path), target, db_server.dsn)

    assert caught.value.stage == "execute"
    assert error in caught.value.cause
    assert not schema_exists(db_server.dsn, target)


def test_zero_and_partial_zero_dates_load_unchanged(
    db_server: DbServer, server_schema_factory: Callable[[str], str], tmp_path: Path
) -> None:
    target = server_schema_factory("ldstr")
    path = tmp_path / "dates.sql"
    path.write_bytes(
        HEADER + b"INSERT INTO `t` VALUES (1,'a',1,'0000-00-00','0000-00-00 00:00:00'),"
        b"(2,'b',2,'2026-03-00','2026-00-00 10:00:00'),(3,'c',3,'2026-00-00',NULL);\n"
        b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n"
    )
    load_dump(str(path), target, db_server.dsn)

    conn = admin(db_server.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR) FROM `{target}`.`t` ORDER BY id"
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows == (
        (1, "0000-00-00", "0000-00-00 00:00:00"),
        (2, "2026-03-00", "2026-00-00 10:00:00"),
        (3, "2026-00-00", None),
    )
