"""Memory is bounded by the server, not by the dump (issue 10): a gzip bomb, one giant
statement and many statements of the largest accepted size each leave the loading process
under 256 MB of peak RSS, measured in a fresh process with ``resource``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from loader.support import schema_exists

RSS_LIMIT_MB = 256
# the load runs in its own interpreter so its peak RSS is its own
CHILD = r"""
import json, sys
from dumpflow.db import Dsn
from dumpflow.loader import LoadError, load_dump
dsn = Dsn.parse(sys.argv[3])
outcome = {}
try:
    report = load_dump(sys.argv[1], sys.argv[2], dsn)
    outcome["rows"] = report.total_rows
except LoadError as exc:
    outcome.update(stage=exc.stage, cause=exc.cause)
# VmHWM: this interpreter's own peak. ru_maxrss would not do: Linux carries the parent's
# high-water mark across fork+exec, so a big pytest worker would be measured instead.
with open("/proc/self/status") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
outcome["max_rss_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(outcome))
"""


def gzip_of(parts: Iterator[bytes], path: Path) -> Path:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("wb") as out:
        for part in parts:
            out.write(packer.compress(part))
        out.write(packer.flush())
    return path


def run_load(path: Path, schema: str, dsn: Dsn) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    url = f"mysql://{dsn.user}:{dsn.password}@{dsn.host}:{dsn.port}"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), schema, url],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture()
def target(schema_factory: Callable[[str], str]) -> str:
    return schema_factory("ldmem")


@pytest.mark.mariadb
def test_gzip_bomb_of_nul_bytes_fails_fast_in_bounded_memory(
    mariadb_dsn: Dsn, target: str, tmp_path: Path
) -> None:
    # 150 gzip members of 8 MB of NULs each: 1.2 MB on disk, 1.2 GB of SQL bytes
    member = gzip_of(iter([b"\x00" * (8 * 1024 * 1024)]), tmp_path / "member.gz").read_bytes()
    bomb = tmp_path / "bomb.sql.gz"
    bomb.write_bytes(member * 150)
    assert bomb.stat().st_size < 2 * 1024 * 1024

    outcome = run_load(bomb, target, mariadb_dsn)

    assert outcome["stage"] == "parse"
    assert "max_allowed_packet" in str(outcome["cause"])
    assert float(str(outcome["max_rss_mb"])) < RSS_LIMIT_MB, outcome
    assert not schema_exists(mariadb_dsn, target + "__shadow")


@pytest.mark.mariadb
def test_one_giant_statement_fails_fast_in_bounded_memory(
    mariadb_dsn: Dsn, target: str, tmp_path: Path
) -> None:
    def parts() -> Iterator[bytes]:
        yield b"CREATE TABLE `t` (`a` longtext);\nINSERT INTO `t` VALUES ('"
        for _ in range(40):
            yield b"x" * (8 * 1024 * 1024)  # 320 MB in one string
        yield b"');\n"

    outcome = run_load(gzip_of(parts(), tmp_path / "giant.sql.gz"), target, mariadb_dsn)

    assert outcome["stage"] == "parse"
    assert "max_allowed_packet" in str(outcome["cause"])
    assert float(str(outcome["max_rss_mb"])) < RSS_LIMIT_MB, outcome


@pytest.mark.mariadb
def test_many_statements_of_the_largest_size_load_in_bounded_memory(
    mariadb_dsn: Dsn, target: str, tmp_path: Path
) -> None:
    value = b"y" * (12 * 1024 * 1024)  # under MariaDB's default 16 MB max_allowed_packet

    def parts() -> Iterator[bytes]:
        yield b"CREATE TABLE `t` (`id` int PRIMARY KEY, `a` longtext);\n"
        for row in range(8):
            yield b"INSERT INTO `t` VALUES (%d,'" % row + value + b"');\n"

    outcome = run_load(gzip_of(parts(), tmp_path / "wide.sql.gz"), target, mariadb_dsn)

    assert outcome.get("rows") == 8, outcome
    assert float(str(outcome["max_rss_mb"])) < RSS_LIMIT_MB, outcome
