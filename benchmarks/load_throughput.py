"""Loader vs. the mariadb client on one generated dump, side by side in one run.

Builds source tables in MariaDB with INSERT ... SELECT from the Sequence engine (fast: no
Python in the data path), writes them with the real ``mariadb-dump`` in the production
option style, then loads the same file with ``dumpflow load-dump`` and with
``mariadb <schema> < dump.sql`` into fresh schemas, and prints both times, the ratio, the
loader's peak RSS and whether CHECKSUM TABLE agrees for every table.

    .venv/bin/python benchmarks/load_throughput.py --size-mb 520
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dumpflow.db import Dsn
from dumpflow.sample.scratch import DUMP_OPTIONS

# Approximate mariadb-dump bytes per row of each table (measured), used to size the data.
TABLES: dict[str, tuple[float, int, str, str]] = {
    # name: (share of rows, bytes per row, CREATE body, SELECT list over seq)
    "movings": (
        0.40,
        190,
        "id BIGINT PRIMARY KEY, tenant_id BIGINT NOT NULL, room_id BIGINT NOT NULL, "
        "movein_date DATE, moveout_date DATE, rent INT, note VARCHAR(120), cancel_flag TINYINT, "
        "created_at DATETIME, updated_at TIMESTAMP NULL, KEY (tenant_id), KEY (room_id)",
        "seq, seq % 200000, seq % 16000, "
        "IF(seq % 97 = 0, '0000-00-00', DATE('2015-01-01') + INTERVAL (seq % 3650) DAY), "
        "IF(seq % 3 = 0, NULL, DATE('2016-01-01') + INTERVAL (seq % 3650) DAY), "
        "50000 + seq % 40000, CONCAT('契約メモ ', seq, ' it''s; \\\\ \"q\"\\n', MD5(seq)), "
        "IF(seq % 11 = 0, NULL, seq % 2), "
        "TIMESTAMP('2020-01-01') + INTERVAL seq SECOND, "
        "TIMESTAMP('2021-01-01') + INTERVAL seq SECOND",
    ),
    "tenants": (
        0.25,
        170,
        "id BIGINT PRIMARY KEY, moving_id BIGINT, status INT, full_name VARCHAR(100), "
        "nationality VARCHAR(40), birth_date DATE, profile BLOB, updated_at DATETIME",
        "seq, seq * 2, seq % 16, IF(seq % 50 = 0, 'NULL', CONCAT('山田 太郎 ', seq)), "
        "ELT(1 + seq % 4, '日本', 'USA', 'Français', NULL), "
        "IF(seq % 89 = 0, '0000-00-00', DATE('1970-01-01') + INTERVAL (seq % 15000) DAY), "
        "UNHEX(MD5(seq)), TIMESTAMP('2022-01-01') + INTERVAL seq SECOND",
    ),
    "inquiries": (
        0.25,
        110,
        "id BIGINT PRIMARY KEY, tenant_id BIGINT, body TEXT, created_at DATETIME",
        "seq, seq % 200000, CONCAT('問い合わせ; ', SHA1(seq)), "
        "TIMESTAMP('2019-01-01') + INTERVAL seq MINUTE",
    ),
    "rooms": (
        0.10,
        80,
        "id BIGINT PRIMARY KEY, apartment_id BIGINT, room_number VARCHAR(10), rent INT, status INT",
        "seq, seq % 700, CONCAT(seq % 700, '-', seq % 50), 40000 + seq % 50000, seq % 5",
    ),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_sql(conn: pymysql.connections.Connection, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)


def build_source(conn: pymysql.connections.Connection, schema: str, size_mb: int) -> None:
    """Tables of about size_mb MB of dump text, generated inside the server."""
    run_sql(conn, f"CREATE DATABASE `{schema}` CHARACTER SET utf8mb4")
    rows_total = size_mb * 1_000_000 / sum(share * per for share, per, _, _ in TABLES.values())
    for name, (share, _per, create, select) in TABLES.items():
        rows = int(rows_total * share)
        run_sql(conn, f"CREATE TABLE `{schema}`.`{name}` ({create}) ENGINE=InnoDB")
        run_sql(conn, "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'")
        numbers = f"`{schema}`.seq_1_to_{rows}"
        run_sql(conn, f"INSERT INTO `{schema}`.`{name}` SELECT {select} FROM {numbers}")
        conn.commit()
        log(f"  {name}: {rows:,} rows")


def checksums(conn: pymysql.connections.Connection, schema: str) -> dict[str, int]:
    with conn.cursor() as cur:
        names = ", ".join(f"`{schema}`.`{name}`" for name in TABLES)
        cur.execute(f"CHECKSUM TABLE {names}")
        return {str(row[0]).split(".", 1)[1]: int(row[1]) for row in cur.fetchall()}


def server_cpu_seconds() -> float | None:
    """CPU time of the local mariadbd so far (None when it is not on this machine)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().split(") ", 1)
        except OSError:
            continue
        if fields[0].endswith("(mariadbd") or fields[0].endswith("(mysqld"):
            values = fields[1].split()
            return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")
    return None


@dataclass
class Run:
    """One load: wall seconds, peak RSS, CPU of the loading process and of the server."""

    seconds: float
    rss_kib: int
    own_cpu: float
    server_cpu: float | None

    @property
    def total_cpu(self) -> float | None:
        return None if self.server_cpu is None else self.own_cpu + self.server_cpu


def timed_child(args: list[str], stdin_path: Path | None = None) -> Run:
    """Wall seconds, peak RSS (KiB) and CPU seconds of one child process and the server."""
    stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
    server_before = server_cpu_seconds()
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if stdin_path:
        stdin.close()  # type: ignore[union-attr]
    server_after = server_cpu_seconds()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[0]} failed with status {status}")
    server = None if server_before is None or server_after is None else server_after - server_before
    return Run(elapsed, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime, server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=520, help="approximate dump size")
    parser.add_argument("--dump", type=Path, help="reuse this dump instead of generating one")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the dump file and schemas")
    args = parser.parse_args()

    dsn = Dsn.from_env()
    conn = pymysql.connect(**dsn.connect_kwargs())
    suffix = uuid.uuid4().hex[:8]
    source, by_client, by_loader = (
        f"bench_src_{suffix}",
        f"bench_cli_{suffix}",
        f"bench_ld_{suffix}",
    )
    workdir = Path(tempfile.mkdtemp(prefix="dumpflow-bench-"))
    dump = args.dump or workdir / "bench.sql"
    client_args = ["mariadb", f"-h{dsn.host}", f"-P{dsn.port}", f"-u{dsn.user}"]
    if dsn.password:
        client_args.append(f"-p{dsn.password}")
    try:
        if args.dump is None:
            log(f"generating about {args.size_mb} MB of rows in {source}")
            build_source(conn, source, args.size_mb)
            log("mariadb-dump " + " ".join(DUMP_OPTIONS))
            with dump.open("wb") as handle:
                subprocess.run(
                    ["mariadb-dump", *client_args[1:], *DUMP_OPTIONS, source],
                    stdout=handle,
                    check=True,
                )
        size = dump.stat().st_size
        log(f"dump: {dump} {size / 1e6:.0f} MB")

        run_sql(conn, f"CREATE DATABASE `{by_client}`")
        log("mariadb client ...")
        client = timed_child([*client_args, by_client], stdin_path=dump)
        log(f"  {client.seconds:.1f} s")
        dumpflow = str(Path(sys.executable).with_name("dumpflow"))
        loader_cmd = [dumpflow, "load-dump", str(dump), "--schema", by_loader]
        if args.workers:
            loader_cmd += ["--workers", str(args.workers)]
        log("dumpflow load-dump ...")
        env_dsn = (
            f"mysql://{dsn.user}{':' + dsn.password if dsn.password else ''}@{dsn.host}:{dsn.port}"
        )
        os.environ["DUMPFLOW_DSN"] = env_dsn
        loader = timed_child(loader_cmd)
        log(f"  {loader.seconds:.1f} s")

        same = checksums(conn, by_client) == checksums(conn, by_loader)
        if args.dump is None:
            same = same and checksums(conn, source) == checksums(conn, by_loader)
        mb = size / 1e6
        print()
        print(f"dump size                 {mb:10.0f} MB")
        print(
            f"mariadb client            {client.seconds:10.1f} s   {mb / client.seconds:6.1f} MB/s"
        )
        print(
            f"dumpflow load-dump        {loader.seconds:10.1f} s   {mb / loader.seconds:6.1f} MB/s"
        )
        print(
            f"ratio loader / client     {loader.seconds / client.seconds:10.2f}     (goal <= 0.67)"
        )
        print(f"loader peak RSS           {loader.rss_kib / 1024:10.0f} MB  (goal <= 256)")
        print(f"client peak RSS           {client.rss_kib / 1024:10.0f} MB")
        for name, run in (("client", client), ("loader", loader)):
            server = "n/a" if run.server_cpu is None else f"{run.server_cpu:.1f} s"
            print(f"{name} CPU: own {run.own_cpu:.1f} s, server {server}")
        print(f"CHECKSUM TABLE identical  {'yes' if same else 'NO':>10}")
        if not same:
            raise SystemExit(1)
    finally:
        if not args.keep:
            for schema in (source, by_client, by_loader, f"{by_loader}__previous"):
                run_sql(conn, f"DROP DATABASE IF EXISTS `{schema}`")
            shutil.rmtree(workdir, ignore_errors=True)
        conn.close()


if __name__ == "__main__":
    main()
