"""The Fargate dbt task: transform one dump's staging tables into silver and gold.

Reads the environment the control plane sets (docs/ARCHITECTURE.md, "dbt task
environment"), refuses a date older than the newest snapshot unless it is an explicit
backfill, runs ``dbt seed`` + ``dbt build`` in-process with the dump date as a var, logs
one line per node, writes a summary to ``reports/dbt/<date>.json`` when a bucket is
configured, and returns non-zero on any error or failed test. ``main`` is also called
in-process by the local demo.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import ssl
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymysql

PROJECT_DIR = Path(__file__).resolve().parent
RDS_CA_BUNDLE = PROJECT_DIR / "certs" / "rds-ca-bundle.pem"
SNAPSHOT_TABLE = "tenant_room_snapshot_daily"
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2

log = logging.getLogger("dumpflow.dbt_task")


class RunRefused(RuntimeError):
    """The run must not start (bad environment, or an older date without the backfill flag)."""


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What one task run transforms, and where."""

    dump_date: dt.date
    dump_key: str = ""
    target: str = "prod"
    threads: int = 2
    source_schema: str | None = None
    backfill: bool = False
    bucket: str = ""
    schema_suffix: str = ""
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    lock_wait_timeout: int = 60
    tls: str = "preferred"  # DBT_TLS: as the prod profile's tls field (mysql_tls adapter)
    tls_ca: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunConfig:
        raw_date = env.get("DUMP_DATE", "")
        try:
            dump_date = dt.datetime.strptime(raw_date, "%Y-%m-%d").date()
        except ValueError as exc:
            raise RunRefused(f"dbt task: DUMP_DATE must be YYYY-MM-DD (got {raw_date!r})") from exc
        try:
            threads = int(env.get("DBT_THREADS") or 2)
            port = int(env.get("DBT_PORT") or 3306)
            lock_wait = int(env.get("DBT_LOCK_WAIT_TIMEOUT") or 60)
        except ValueError as exc:
            raise RunRefused(
                f"dbt task {raw_date}: DBT_THREADS/DBT_PORT/DBT_LOCK_WAIT_TIMEOUT: {exc}"
            ) from exc
        return cls(
            dump_date=dump_date,
            dump_key=env.get("DUMP_KEY", ""),
            target=env.get("DBT_TARGET") or "prod",
            threads=threads,
            source_schema=env.get("DBT_SOURCE_SCHEMA") or None,
            backfill=_flag(env.get("DBT_BACKFILL")),
            bucket=env.get("DUMPFLOW_BUCKET", ""),
            schema_suffix=env.get("DBT_SCHEMA_SUFFIX", ""),
            host=env.get("DBT_HOST") or "127.0.0.1",
            port=port,
            user=env.get("DBT_USER") or "root",
            password=env.get("DBT_PASSWORD", ""),
            lock_wait_timeout=lock_wait,
            tls=env.get("DBT_TLS")
            or ("verify-identity" if (env.get("DBT_TARGET") or "prod") == "prod" else "preferred"),
            tls_ca=env.get("DBT_TLS_CA", ""),
        )

    @property
    def silver_schema(self) -> str:
        return "silver" + self.schema_suffix

    @property
    def dbt_vars(self) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "dump_date": self.dump_date.isoformat(),
            "backfill": self.backfill,
            "lock_wait_timeout_seconds": self.lock_wait_timeout,
        }
        if self.source_schema:
            variables["source_schema"] = self.source_schema
        return variables


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """One dbt node's result, as logged and reported."""

    unique_id: str
    resource_type: str
    status: str
    seconds: float
    message: str | None
    failures: int | None

    @property
    def ok(self) -> bool:
        """Did not fail the run: a test of severity warn that found rows is a warning."""
        return self.status in ("success", "pass", "skipped", "warn")

    @property
    def log_level(self) -> int:
        if self.status == "warn":
            return logging.WARNING
        return logging.INFO if self.ok else logging.ERROR


@dataclass(slots=True)
class StepOutcome:
    """One dbt command (seed or build)."""

    command: str
    success: bool
    nodes: list[NodeOutcome] = field(default_factory=list)
    error: str | None = None


def tls_arguments(config: RunConfig) -> dict[str, Any]:
    """pymysql's TLS for the runner's own query, verified as dbt's connection is (DBT_TLS)."""
    mode = config.tls.strip().lower().replace("_", "-")
    if mode == "preferred":
        return {}
    if mode not in ("verify-ca", "verify-identity"):
        raise RunRefused(f"dbt task: DBT_TLS={config.tls!r}: verify-identity, verify-ca, preferred")
    try:
        context = ssl.create_default_context(cafile=config.tls_ca or str(RDS_CA_BUNDLE))
    except OSError as exc:
        raise RunRefused(f"dbt task: DBT_TLS_CA {config.tls_ca or RDS_CA_BUNDLE}: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = mode == "verify-identity"
    return {"ssl": context}


def newest_snapshot(config: RunConfig) -> dt.date | None:
    """The newest snapshot date already stored, or None before the first run."""
    conn = pymysql.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        connect_timeout=10,
        init_command=f"SET SESSION lock_wait_timeout = {config.lock_wait_timeout}",
        **tls_arguments(config),
    )
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s",
                (config.silver_schema, SNAPSHOT_TABLE),
            )
            row = cur.fetchone()
            if not row or not row[0]:
                return None
            cur.execute(
                f"SELECT MAX(snapshot_date) FROM `{config.silver_schema}`.`{SNAPSHOT_TABLE}`"
            )
            row = cur.fetchone()
            return row[0] if row and isinstance(row[0], dt.date) else None
    finally:
        conn.close()


def check_order(config: RunConfig, newest: dt.date | None) -> None:
    """An older date would rewrite history: only an explicit backfill may do that."""
    if newest is not None and config.dump_date < newest and not config.backfill:
        raise RunRefused(
            f"dbt task {config.dump_date}: older than the newest snapshot {newest} in "
            f"{config.silver_schema}.{SNAPSHOT_TABLE}; set DBT_BACKFILL=1 to backfill it"
        )


def dbt_commands(config: RunConfig) -> list[list[str]]:
    """``seed`` + ``build``; a backfill rebuilds only the staging views and daily partitions."""
    if config.backfill:
        return [["build", "--select", "tag:staging", "tag:daily_snapshot"]]
    return [["seed"], ["build"]]


def _outcomes(result: Any) -> list[NodeOutcome]:
    outcomes: list[NodeOutcome] = []
    for node_result in getattr(result, "results", None) or []:
        node = node_result.node
        failures = getattr(node_result, "failures", None)
        outcomes.append(
            NodeOutcome(
                unique_id=node.unique_id,
                resource_type=str(node.resource_type),
                status=str(node_result.status),
                seconds=round(float(node_result.execution_time or 0.0), 3),
                message=node_result.message,
                failures=int(failures) if failures is not None else None,
            )
        )
    return outcomes


def run_dbt(command: list[str], config: RunConfig, work_dir: Path) -> StepOutcome:
    """One dbt command in-process; its nodes are logged one line each."""
    from dbt.cli.main import dbtRunner

    args = [
        *command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target", config.target,
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps(config.dbt_vars),
        "--threads", str(config.threads),
        "--no-version-check",
        "--no-send-anonymous-usage-stats",
        "--no-use-colors",
        "--quiet",
    ]  # fmt: skip
    result = dbtRunner().invoke(args)
    step = StepOutcome(command=" ".join(command), success=bool(result.success))
    step.nodes = _outcomes(result.result)
    if result.exception is not None:
        step.error = f"{type(result.exception).__name__}: {result.exception}"
    for node in step.nodes:
        line = "%s %s %s %.2fs%s"
        suffix = f" {node.message}" if node.message and node.log_level > logging.INFO else ""
        log.log(
            node.log_level,
            line,
            node.status.upper(),
            node.resource_type,
            node.unique_id,
            node.seconds,
            suffix,
        )
    if not step.success and not step.nodes:
        step.error = step.error or "dbt failed before running any node (see the dbt log above)"
    if step.error:
        log.error("dbt %s %s: %s", step.command, config.dump_date, step.error)
    return step


def load_quality(s3: Any, bucket: str, dump_date: dt.date) -> dict[str, Any]:
    """The quality gate's verdict on the load this run transforms (docs/QUALITY_GATE.md),
    from ``reports/load/<date>.json``: verdict, summary, who accepted a failure, and the rows
    that failed or warned. Never fails the run: a missing or odd report is said as such."""
    key = f"reports/load/{dump_date.isoformat()}.json"
    try:
        loaded = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:  # the dbt run stands on its own; the reason is kept
        return {"report": key, "error": f"{type(exc).__name__}: {exc}"[:300]}
    gate = loaded.get("quality") if isinstance(loaded, dict) else None
    if not isinstance(gate, dict):
        return {"report": key, "verdict": None, "note": "the load report has no quality section"}
    rows = [
        {name: check.get(name) for name in ("check", "table", "value", "limit", "verdict")}
        for check in gate.get("checks") or []
        if isinstance(check, dict) and check.get("verdict") in ("fail", "warn")
    ]
    return {
        "report": key,
        "verdict": gate.get("verdict"),
        "summary": gate.get("summary"),
        "accepted_by": gate.get("accepted_by"),
        "checks": rows,
    }


def write_report(config: RunConfig, report: dict[str, Any]) -> str | None:
    """Upload the run summary to ``reports/dbt/<date>.json``, with the quality gate's verdict
    on the load it transformed (``load_quality``); the key, or None without a bucket."""
    if not config.bucket:
        return None
    import boto3

    key = f"reports/dbt/{config.dump_date.isoformat()}.json"
    s3 = boto3.client("s3")
    report = {**report, "load_quality": load_quality(s3, config.bucket, config.dump_date)}
    s3.put_object(
        Bucket=config.bucket,
        Key=key,
        Body=json.dumps(report, indent=2, default=str).encode(),
        ContentType="application/json",
    )
    log.info("report written to s3://%s/%s", config.bucket, key)
    return key


def _report(
    config: RunConfig, status: str, started: float, steps: Sequence[StepOutcome], error: str | None
) -> dict[str, Any]:
    nodes = [node for step in steps for node in step.nodes]
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.status] = counts.get(node.status, 0) + 1
    return {
        "dump_date": config.dump_date.isoformat(),
        "dump_key": config.dump_key,
        "target": config.target,
        "backfill": config.backfill,
        "source_schema": config.source_schema or f"staging{config.schema_suffix}",
        "status": status,
        "error": error,
        "seconds": round(time.monotonic() - started, 3),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "counts": counts,
        "steps": [
            {
                "command": step.command,
                "success": step.success,
                "error": step.error,
                "nodes": [asdict(node) for node in step.nodes],
            }
            for step in steps
        ],
    }


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--date", help="DUMP_DATE override (YYYY-MM-DD)")
    parser.add_argument("--target", help="DBT_TARGET override (prod | local)")
    parser.add_argument("--source-schema", help="DBT_SOURCE_SCHEMA override")
    parser.add_argument("--backfill", action="store_true", help="same as DBT_BACKFILL=1")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the task for the configured dump date; the exit code of the container."""
    args = _parse_args(argv)
    env = dict(os.environ)
    overrides = {
        "DUMP_DATE": args.date,
        "DBT_TARGET": args.target,
        "DBT_SOURCE_SCHEMA": args.source_schema,
        "DBT_BACKFILL": "1" if args.backfill else None,
    }
    env.update({name: value for name, value in overrides.items() if value})
    started = time.monotonic()
    try:
        config = RunConfig.from_env(env)
    except RunRefused as exc:
        log.error("%s", exc)
        return EXIT_REFUSED
    steps: list[StepOutcome] = []
    try:
        check_order(config, newest_snapshot(config))
    except RunRefused as exc:
        log.error("%s", exc)
        write_report(config, _report(config, "refused", started, steps, str(exc)))
        return EXIT_REFUSED
    except pymysql.MySQLError as exc:
        message = f"dbt task {config.dump_date}: cannot read the newest snapshot: {exc}"
        log.error("%s", message)
        write_report(config, _report(config, "failed", started, steps, message))
        return EXIT_FAILED
    log.info(
        "dbt task %s (key %s, target %s, backfill %s)",
        config.dump_date, config.dump_key or "-", config.target, config.backfill,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="dumpflow-dbt-") as work:
        for command in dbt_commands(config):
            step = run_dbt(command, config, Path(work))
            steps.append(step)
            if not step.success:
                break
    failed = [step for step in steps if not step.success]
    error = None
    task = f"dbt task {config.dump_date} ({config.dump_key or 'no DUMP_KEY'})"
    if failed:
        bad = [n.unique_id for n in failed[0].nodes if not n.ok]
        error = failed[0].error or f"dbt {failed[0].command} failed: {', '.join(bad)}"
        log.error("%s: %s", task, error)
    else:
        log.info("%s: succeeded in %.1f s", task, time.monotonic() - started)
    write_report(
        config, _report(config, "failed" if failed else "succeeded", started, steps, error)
    )
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("mysql.connector").setLevel(logging.WARNING)
    sys.exit(main())
