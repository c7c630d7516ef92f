"""The whole daily dbt run (runner: seed + build, every model and test) with 30 vs 365 days
of history, side by side in one run. Goal: ratio 365/30 <= 1.25 (issue 12, flat daily cost).

Steps: two sample dumps (days D and D+1) at ``--scale``; two private warehouses (their own
DBT_SCHEMA_SUFFIX, one shared source schema) are built by ``dbt_task/runner.py`` for D; then
their history is pre-filled with plain SQL: the daily partitions (snapshot, status
observations, both occupancy tables) get copies of D's rows on the 30 or 365 days before D,
and tenant_status_history gets one closed interval per tenant per 30 days before D's open
one (gap-free, as a year of status changes leaves it). Then the runner runs D+1 on both in
alternation (``--repeats`` times each after a warm-up pair; a re-run of the newest date
replaces it, exactly the daily path). Prints per-node median seconds and the whole-run
medians with their ratio. Every schema used is private and dropped at the end.

    .venv/bin/python benchmarks/dbt_daily_run.py                        # quick: scale 0.05
    .venv/bin/python benchmarks/dbt_daily_run.py --scale 1 --repeats 3  # the issue's scale
    .venv/bin/python benchmarks/dbt_daily_run.py --port 3307 --target local_mysql
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pymysql

from dumpflow.db import Dsn
from dumpflow.sample import write_sample_dumps
from dumpflow.sample.restore import restore_with_client

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 1, 1)
DAILY = (
    ("silver", "tenant_room_snapshot_daily"),
    ("silver", "tenant_status_daily"),
    ("gold", "occupancy_property_daily"),
    ("gold", "occupancy_daily"),
)


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dbt_task_runner", ROOT / "dbt_task/runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def sql(dsn: Dsn, *statements: str) -> None:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        conn.commit()
    finally:
        conn.close()


def fill_history(dsn: Dsn, suffix: str, days: int) -> None:
    """Copies of D's partitions on the `days` days before D; SCD2 intervals to match."""
    for layer, table in DAILY:
        name = f"`{layer}{suffix}`.`{table}`"
        copy = f"`{layer}{suffix}`.copy_rows"
        statements = [
            f"CREATE TEMPORARY TABLE {copy} AS SELECT * FROM {name} WHERE snapshot_date = '{DAY}'"
        ]
        for _ in range(days):
            statements += [
                f"UPDATE {copy} SET snapshot_date = DATE_SUB(snapshot_date, INTERVAL 1 DAY)",
                f"INSERT INTO {name} SELECT * FROM {copy}",
            ]
        sql(dsn, *statements)
    history = f"`silver{suffix}`.`tenant_status_history`"
    first = DAY - dt.timedelta(days=days)
    starts = [first + dt.timedelta(days=d) for d in range(0, days, 30)]
    statements = [
        f"CREATE TEMPORARY TABLE `silver{suffix}`.open_rows AS SELECT * FROM {history} "
        "WHERE is_current = 1"
    ]
    for start, end in zip(starts, [*starts[1:], DAY], strict=True):
        last = end - dt.timedelta(days=1)
        statements.append(
            f"INSERT INTO {history} SELECT tenant_id, '{start}', '{last}', 0, "
            "(status_code + 1) % 18, status_label_ja, status_label_en, is_active_lease, "
            "contract_type_code, contract_type_label_ja, contract_type_label_en, tenant_type, "
            f"{(last - start).days + 1} FROM `silver{suffix}`.open_rows"
        )
    sql(dsn, *statements)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--target", default="local")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    dsn = Dsn(host=args.host, port=args.port, user="root", password="")
    runner = load_runner()
    base = f"_b{uuid.uuid4().hex[:8]}"
    suffixes = {30: f"{base}_30", 365: f"{base}_365"}
    source = f"staging{base}"
    reports: list[dict[str, Any]] = []
    original_report = getattr(runner, "_report")  # noqa: B009 (a module loaded from a file)

    def capture(*a: Any, **k: Any) -> dict[str, Any]:
        report: dict[str, Any] = original_report(*a, **k)
        reports.append(report)
        return report

    setattr(runner, "_report", capture)  # noqa: B010
    os.environ.update(
        DBT_TARGET=args.target, DBT_HOST=args.host, DBT_PORT=str(args.port),
        DBT_USER="root", DBT_PASSWORD="", DBT_SOURCE_SCHEMA=source,
    )  # fmt: skip
    os.environ.pop("DUMPFLOW_BUCKET", None)
    os.environ.pop("DBT_BACKFILL", None)
    mariadb = Dsn(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first, second = write_sample_dumps(
                Path(tmp), DAY, 2, scale=args.scale, seed=7, dsn=mariadb
            )

            def run(days: int, day: dt.date) -> float:
                os.environ["DBT_SCHEMA_SUFFIX"] = suffixes[days]
                os.environ["DUMP_DATE"] = day.isoformat()
                started = time.monotonic()
                code = runner.main([])
                if code != 0:
                    raise SystemExit(f"runner exited {code} ({days} days, {day})")
                return time.monotonic() - started

            restore_with_client(dsn, source, first.path)
            for days in suffixes:
                run(days, DAY)
                fill_history(dsn, suffixes[days], days)
            restore_with_client(dsn, source, second.path)
            whole: dict[int, list[float]] = {30: [], 365: []}
            nodes: dict[int, dict[str, list[float]]] = {30: {}, 365: {}}
            for attempt in range(args.repeats + 1):
                for days in (30, 365) if attempt % 2 == 0 else (365, 30):
                    seconds = run(days, second.dump_date)
                    if attempt == 0:
                        continue  # warm-up pair
                    whole[days].append(seconds)
                    for step in reports[-1]["steps"]:
                        for node in step["nodes"]:
                            name = node["unique_id"].split(".")[2]
                            nodes[days].setdefault(name, []).append(node["seconds"])
    finally:
        conn = pymysql.connect(**dsn.connect_kwargs())
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if base in name:
                    cur.execute(f"DROP DATABASE `{name}`")
        conn.close()
    print(f"dbt daily run, scale {args.scale}, {args.target} on port {args.port}")
    print(f"{'node':<70} {'30 days':>9} {'365 days':>9} {'ratio':>6}")
    for name in sorted(nodes[30], key=lambda n: -statistics.median(nodes[365].get(n, [0]))):
        a = statistics.median(nodes[30][name])
        b = statistics.median(nodes[365].get(name, [0.0]))
        if max(a, b) >= 0.05:
            print(f"{name[:70]:<70} {a:9.3f} {b:9.3f} {b / a if a else 0:6.2f}")
    a, b = statistics.median(whole[30]), statistics.median(whole[365])
    print(f"{'WHOLE RUN (runner.main, median)':<70} {a:9.2f} {b:9.2f} {b / a:6.2f}")
    print(f"goal: 365/30 <= 1.25 -> {'met' if b / a <= 1.25 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
