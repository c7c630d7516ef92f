"""Daily increment of tenant_room_snapshot_daily with 30 vs 365 days of history, side by side.

The new filter (``snapshot_date > COALESCE((SELECT MAX(snapshot_date) FROM this), ...)``
with the (snapshot_date, apartment_id) index the post-hook creates) costs the same whatever the
history holds: goal ratio 365/30 <= 1.25. The old project's filter (``snapshot_date NOT IN
(SELECT DISTINCT snapshot_date FROM this)``, on a table whose declared indexes dbt-mysql
never created) is measured the same way as the baseline.

Steps: one scale-1 sample dump (about 12,000 occupying tenants) restored into a private
source schema; the runner builds two private warehouses from it for day D; their history
is pre-filled with plain SQL (copies of day D's rows on earlier dates): 30 days in one,
365 days in the other. Then the increment for D+1 runs on both in alternation (so the
background I/O of a shared machine hits both alike): real ``dbt run``s of the model (the
node's own time), and the statements dbt-mysql's incremental materialization executes
(pre-hook delete, the model's compiled SELECT into a temporary table, INSERT, one
transaction) for the new filter and for the old one. Medians after a warm-up pair; the
D+1 rows are deleted after each run. Every schema used is private and dropped at the end.

    .venv/bin/python benchmarks/dbt_incremental.py [--scale 1.0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pymysql

from dumpflow.db import Dsn
from dumpflow.sample import write_sample_dumps
from dumpflow.sample.restore import restore_with_client

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "dbt_task"
MODEL = "tenant_room_snapshot_daily"
DAY = dt.date(2026, 1, 1)
NEXT = DAY + dt.timedelta(days=1)
FILTER = re.compile(
    r"snapshot_date > COALESCE\(\(SELECT MAX\(snapshot_date\) FROM [^)]+\), '1900-01-01'\)"
)
INDEXES = {"ix_snapshot_date_apartment_id": "snapshot_date, apartment_id"}


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dbt_task_runner", PROJECT / "runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Warehouse:
    """One isolated warehouse (its own DBT_SCHEMA_SUFFIX) and its snapshot table."""

    suffix: str

    @property
    def schema(self) -> str:
        return f"silver{self.suffix}"

    @property
    def table(self) -> str:
        return f"`{self.schema}`.`{MODEL}`"


class Bench:
    """Two warehouses over one source schema: 30 days of history and 365 days."""

    def __init__(self, dsn: Dsn, base: str) -> None:
        self.base = base
        self.source = f"staging{base}"
        self.small, self.large = Warehouse(f"{base}_30"), Warehouse(f"{base}_365")
        self.scratch = f"`{self.large.schema}`.`bench_increment`"
        self.conn = pymysql.connect(**dsn.connect_kwargs())

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())

    def one(self, statement: str) -> Any:
        return self.sql(statement)[0][0]

    def fill_history(self, warehouse: Warehouse, days: int, batch: int = 30) -> None:
        """Copy day D's rows to D-1 .. D-(days-1), without indexes (fast), then index."""
        table = warehouse.table
        self.set_indexes(table, False)
        have = self.one(f"SELECT COUNT(DISTINCT snapshot_date) FROM {table}")
        cols = [
            row[0]
            for row in self.sql(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                f"'{warehouse.schema}' AND table_name = '{MODEL}' ORDER BY ordinal_position"
            )
        ]
        select = ", ".join(
            "DATE_SUB(t.snapshot_date, INTERVAL n.k DAY)" if c == "snapshot_date" else f"t.`{c}`"
            for c in cols
        )
        offsets = list(range(have, days))
        for start in range(0, len(offsets), batch):
            numbers = " UNION ALL ".join(f"SELECT {k} AS k" for k in offsets[start : start + batch])
            self.sql(
                f"INSERT INTO {table} ({', '.join(f'`{c}`' for c in cols)}) "
                f"SELECT {select} FROM {table} AS t CROSS JOIN ({numbers}) AS n "
                f"WHERE t.snapshot_date = '{DAY}'"
            )
        self.set_indexes(table, True)

    def set_indexes(self, table: str, present: bool) -> None:
        schema, name = (part.strip("`") for part in table.split("."))
        existing = {
            row[0]
            for row in self.sql(
                "SELECT DISTINCT index_name FROM information_schema.statistics WHERE "
                f"table_schema = '{schema}' AND table_name = '{name}'"
            )
        }
        for index, cols in INDEXES.items():
            if present and index not in existing:
                self.sql(f"CREATE INDEX `{index}` ON {table} ({cols})")
            if not present and index in existing:
                self.sql(f"DROP INDEX `{index}` ON {table}")

    def settle(self, timeout: float = 30.0) -> None:
        """Wait (bounded) until InnoDB has flushed most bulk writes of the setup."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            if int(rows[0][1]) < 1000:
                return
            time.sleep(1)

    def forget_next_day(self, warehouse: Warehouse) -> None:
        self.sql(f"DELETE FROM {warehouse.table} WHERE snapshot_date = '{NEXT}'")

    def increment(self, table: str, select_sql: str) -> float:
        """One daily increment of ``table`` as dbt-mysql runs it; seconds; leaves no trace."""
        started = time.perf_counter()
        self.sql("BEGIN")
        self.sql(
            f"DELETE FROM {table} WHERE snapshot_date = '{NEXT}' AND snapshot_date >= "
            f"(SELECT newest FROM (SELECT MAX(snapshot_date) AS newest FROM {table}) s)"
        )
        self.sql(f"CREATE TEMPORARY TABLE {self.scratch} AS {select_sql}")
        self.sql(f"INSERT INTO {table} SELECT * FROM {self.scratch}")
        self.sql("COMMIT")
        elapsed = time.perf_counter() - started
        inserted = self.one(f"SELECT COUNT(*) FROM {self.scratch}")
        self.sql(f"DROP TEMPORARY TABLE {self.scratch}")
        self.sql(f"DELETE FROM {table} WHERE snapshot_date = '{NEXT}'")
        if inserted == 0:
            raise RuntimeError("the increment inserted nothing: the benchmark is not measuring")
        return elapsed

    def side_by_side(
        self, measure: Callable[[Warehouse], float], repeats: int
    ) -> tuple[float, float]:
        """Medians for (30 days, 365 days), runs alternating, after one warm-up pair."""
        small: list[float] = []
        large: list[float] = []
        for attempt in range(repeats + 1):
            first, second = measure(self.small), measure(self.large)
            if attempt:
                small.append(first)
                large.append(second)
        return statistics.median(small), statistics.median(large)

    def drop_all(self) -> None:
        for (name,) in self.sql("SHOW DATABASES"):
            if self.base in name:
                self.sql(f"DROP DATABASE `{name}`")


def _dbt(command: str, work: Path, source: str) -> Any:
    from dbt.cli.main import dbtRunner

    variables = {"dump_date": NEXT.isoformat(), "source_schema": source}
    result = dbtRunner().invoke(
        [command, "--select", MODEL, "--project-dir", str(PROJECT),
         "--profiles-dir", str(PROJECT), "--target-path", str(work / "target"),
         "--log-path", str(work / "logs"), "--vars", json.dumps(variables),
         "--no-version-check", "--quiet"]
    )  # fmt: skip
    if not result.success:
        raise RuntimeError(f"dbt {command} failed: {result.exception}")
    return result.result


def compiled_increment(bench: Bench, warehouse: Warehouse, work: Path) -> str:
    """The model's SELECT for D+1 exactly as dbt compiles it against ``warehouse``'s table."""
    os.environ["DBT_SCHEMA_SUFFIX"] = warehouse.suffix
    _dbt("compile", work, bench.source)
    compiled = next((work / "target" / "compiled").rglob(f"{MODEL}.sql")).read_text()
    if not FILTER.search(compiled) or warehouse.table not in compiled:
        raise RuntimeError("the compiled model does not carry the MAX(snapshot_date) filter")
    return compiled


def dbt_node_seconds(bench: Bench, warehouse: Warehouse, work: Path) -> float:
    """One real ``dbt run`` of the model for D+1 in ``warehouse``: the node's own time."""
    os.environ["DBT_SCHEMA_SUFFIX"] = warehouse.suffix
    seconds = float(_dbt("run", work, bench.source).results[0].execution_time)
    bench.forget_next_day(warehouse)
    return seconds


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = action()
    print(f"  {label}: {time.perf_counter() - started:.1f}s", flush=True)
    return value


def _explain(bench: Bench, title: str, select_sql: str) -> None:
    print(f"\nEXPLAIN {title}:")
    for row in bench.sql(f"EXPLAIN {select_sql}"):
        print("  ", row)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    dsn = Dsn.from_env()
    bench = Bench(dsn, f"_bench{uuid.uuid4().hex[:8]}")
    os.environ.update(
        {
            "DBT_TARGET": "local", "DBT_HOST": dsn.host, "DBT_PORT": str(dsn.port),
            "DBT_USER": dsn.user, "DBT_PASSWORD": dsn.password, "DUMP_DATE": DAY.isoformat(),
            "DBT_SOURCE_SCHEMA": bench.source,
        }
    )  # fmt: skip
    for name in ("DBT_BACKFILL", "DUMPFLOW_BUCKET"):
        os.environ.pop(name, None)
    results: dict[str, tuple[float, float]] = {}
    print(f"setup (scale {args.scale}, schemas *{bench.base}*):")
    try:
        with tempfile.TemporaryDirectory(prefix="dumpflow-bench-") as tmp:
            work = Path(tmp)
            (dump,) = timed(
                "sample dump",
                lambda: write_sample_dumps(work, DAY, scale=args.scale, seed=42, dsn=dsn),
            )
            timed("restore", lambda: restore_with_client(dsn, bench.source, dump.path))
            runner = load_runner()
            for warehouse in (bench.small, bench.large):
                os.environ["DBT_SCHEMA_SUFFIX"] = warehouse.suffix
                code = timed(f"runner for day D, *{warehouse.suffix}", lambda: runner.main([]))
                if code != 0:
                    raise RuntimeError(f"runner exited {code}")
            per_day = bench.one(f"SELECT COUNT(*) FROM {bench.large.table}")
            timed("fill history to 30 days", lambda: bench.fill_history(bench.small, 30))
            timed("fill history to 365 days", lambda: bench.fill_history(bench.large, 365))
            bench.settle()
            select_large = compiled_increment(bench, bench.large, work)
            select_small = select_large.replace(bench.large.table, bench.small.table)
            selects = {bench.small: select_small, bench.large: select_large}
            results["dbt"] = timed(
                "dbt run, side by side",
                lambda: bench.side_by_side(lambda w: dbt_node_seconds(bench, w, work), 3),
            )
            _explain(bench, "of the increment (365 days, index present)", select_large)
            results["new"] = timed(
                "new filter, side by side",
                lambda: bench.side_by_side(
                    lambda w: bench.increment(w.table, selects[w]), args.repeats
                ),
            )
            for warehouse in (bench.small, bench.large):
                bench.set_indexes(warehouse.table, False)
            bench.settle()
            old = {
                w: FILTER.sub(
                    f"snapshot_date NOT IN (SELECT DISTINCT snapshot_date FROM {w.table})",
                    selects[w],
                )
                for w in selects
            }
            _explain(bench, "of the old NOT IN increment (365 days, no index)", old[bench.large])
            results["old"] = timed(
                "old filter, side by side",
                lambda: bench.side_by_side(
                    lambda w: bench.increment(w.table, old[w]), args.repeats
                ),
            )
            rows = bench.one(f"SELECT COUNT(*) FROM {bench.large.table}")
    finally:
        bench.drop_all()
    print(f"\nrows per day: {per_day:,}; rows at 365 days: {rows:,}; repeats: {args.repeats}")
    print(f"{'daily increment of ' + MODEL:<56} {'30 days':>9} {'365 days':>9} {'ratio':>6}")
    labels = {
        "new": "MAX(snapshot_date) filter + index (SQL, median)",
        "dbt": "same, dbt run node time (median of 3)",
        "old": "old NOT IN filter, no index (SQL, median, baseline)",
    }
    for key, label in labels.items():
        small, large = results[key]
        print(f"{label:<56} {small:>8.3f}s {large:>8.3f}s {large / small:>6.2f}")
    print("goal: ratio of the new filter <= 1.25")
    return 0


if __name__ == "__main__":
    sys.exit(main())
