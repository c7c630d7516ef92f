"""The quality gate's cost beside the load it guards, on a scale-1 sample dump.

Two consecutive sample dumps (real ``mariadb-dump`` output, ``dumpflow sample-dump``) are
loaded with the loader (``dumpflow.loader.load_dump``): day 1 into the "published" schema,
day 2 into the schema the gate then judges as the shadow. The gate runs ``--repeats`` times
against them (shipped configuration, the warehouse's columns); the report shows the load of
day 2 and the gate's median side by side, and the gate's share of the load time. Day 2
passes every check (the script exits 1 otherwise). All schemas are private and dropped at
the end. Then the same pair once more as production runs it, the gate wired in as the
loader's ``before_publish`` step (``QualityStep``): day 1, then day 2 judged and published;
the report's own ``seconds`` (gate included) and ``quality.seconds`` give the wired share.

    .venv/bin/python benchmarks/quality_gate.py [--scale 1.0] [--repeats 5] [--dsn URL ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pymysql

from dumpflow.db import Dsn
from dumpflow.loader import load_dump
from dumpflow.loader.quality import QualityOptions, QualityStep, load_config, run_gate
from dumpflow.loader.quality.dbt_columns import extract_dbt_columns
from dumpflow.sample import SampleDump, write_sample_dumps

ROOT = Path(__file__).resolve().parents[1]
DAY_1 = dt.date(2026, 11, 24)
REQUIRED = ("movings", "tenants", "apartments", "rooms", "inquiries")


def drop_private(dsn: Dsn, fragment: str) -> None:
    conn = pymysql.connect(**dsn.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if fragment in name:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def measure(dsn: Dsn, dumps: list[SampleDump], repeats: int, dbt_columns_path: Path) -> dict:
    fragment = f"bench_gate_{uuid.uuid4().hex[:8]}"
    published, shadow = f"{fragment}_published", f"{fragment}_shadow"
    config = load_config()
    dbt_columns = extract_dbt_columns(dbt_columns_path)
    try:
        load_dump(str(dumps[0].path), published, dsn, required_tables=REQUIRED)
        started = time.perf_counter()
        report = load_dump(str(dumps[1].path), shadow, dsn, required_tables=REQUIRED)
        load_seconds = time.perf_counter() - started
        gate_seconds = []
        conn = pymysql.connect(**dsn.connect_kwargs())
        try:
            for _ in range(repeats):
                result = run_gate(
                    conn,
                    shadow_schema=shadow,
                    published_schema=published,
                    dump_date=dumps[1].dump_date,
                    manifest_max_updated_at=dumps[1].manifest["max_updated_at_by_table"],
                    config=config,
                    dbt_columns=dbt_columns,
                )
                gate_seconds.append(result.seconds)
        finally:
            conn.close()
        wired = f"{fragment}_wired"
        for dump in dumps:
            step = QualityStep(
                QualityOptions(dump.dump_date, dump.manifest["max_updated_at_by_table"])
            )
            wired_report = load_dump(
                str(dump.path), wired, dsn, required_tables=REQUIRED, before_publish=step
            )
        assert wired_report.quality is not None
        return {
            "wired_load": wired_report.seconds,
            "wired_gate": float(wired_report.quality["seconds"]),
            "wired_verdict": wired_report.quality["verdict"],
            "rows": report.total_rows,
            "sql_bytes": report.sql_bytes,
            "load": load_seconds,
            "gate": statistics.median(gate_seconds),
            "gate_max": max(gate_seconds),
            "checks": len(result.checks),
            "verdict": result.verdict.value,
            "failures": [c.message for c in result.failures + result.warnings],
        }
    finally:
        drop_private(dsn, fragment)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--dsn",
        action="append",
        help="server(s) to measure on (default $DUMPFLOW_DSN; give it twice for two engines)",
    )
    parser.add_argument(
        "--sources",
        type=Path,
        default=ROOT / "dbt_task/models/staging/_sources.yml",
        help="the dbt sources file whose columns the drift checks use",
    )
    args = parser.parse_args()
    servers = [Dsn.from_env(url) for url in (args.dsn or [None])]
    with tempfile.TemporaryDirectory(prefix="bench_gate_") as workdir:
        started = time.perf_counter()
        dumps = write_sample_dumps(Path(workdir), DAY_1, 2, scale=args.scale)
        print(
            f"sample dumps (scale {args.scale}, 2 days): "
            f"{time.perf_counter() - started:.1f}s, {dumps[1].manifest['dump_size_bytes']:,} bytes",
            flush=True,
        )
        results = [(dsn, measure(dsn, dumps, args.repeats, args.sources)) for dsn in servers]
    print(f"\n{'server':<32} {'rows':>9} {'load day 2':>11} {'gate':>8} {'share':>7} verdict")
    ok = True
    for dsn, res in results:
        share = res["gate"] / res["load"]
        print(
            f"{dsn.redacted():<32} {res['rows']:>9,} {res['load']:>10.2f}s {res['gate']:>7.3f}s "
            f"{share:>6.1%} {res['verdict']} ({res['checks']} checks, max {res['gate_max']:.3f}s)"
        )
        print(
            f"{'  wired (before_publish)':<32} {'':>9} {res['wired_load']:>10.2f}s "
            f"{res['wired_gate']:>7.3f}s {res['wired_gate'] / res['wired_load']:>6.1%} "
            f"{res['wired_verdict']} (load of day 2 with the gate inside it)"
        )
        for message in res["failures"]:
            print(f"    {message}")
        ok = ok and res["verdict"] == "pass" and res["wired_verdict"] == "pass"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
