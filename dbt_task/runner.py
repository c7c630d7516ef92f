"""The Fargate dbt task: transform one dump's staging tables into silver and gold.

Reads the environment the control plane sets (docs/ARCHITECTURE.md, "dbt task
environment"), refuses a date older than the newest snapshot unless it is an explicit
backfill, runs ``dbt seed`` + ``dbt build`` in-process with the dump date as a var, logs
one line per node, writes a summary to ``reports/dbt/<date>.json`` when a bucket is
configured, and returns non-zero on any error or failed test. ``main`` is also called
in-process by the local demo.

Two kinds of tests: source-data quality (severity warn: dangling references, unknown codes,
odd values) never fails the run; each one that found rows is counted with its first
offending keys in the report's ``data_quality`` section. The warehouse's own invariants
(severity error) fail it. A failed run removes every partition of its date from the daily
models before exiting non-zero (a date is all or nothing), and a build that lost a lock
wait to a reader (1205) is retried with back-off within DBT_RETRY_DEADLINE seconds.

The run is bounded by DBT_TASK_DEADLINE_MINUTES (the stack's DbtTimeoutMinutes): past it the
date's partitions are removed, a report with status ``timeout`` is written and the process
exits 3, so a hung dbt never outlives the limit the control plane counts on.
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
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymysql

PROJECT_DIR = Path(__file__).resolve().parent
RDS_CA_BUNDLE = PROJECT_DIR / "certs" / "rds-ca-bundle.pem"
SNAPSHOT_TABLE = "tenant_room_snapshot_daily"
HISTORY_TABLE = "tenant_status_history"
STATUS_DAILY_TABLE = "tenant_status_daily"
# The date-partitioned models (layer, table): one partition per dump date, snapshot_date.
DAILY_TABLES = (
    ("silver", SNAPSHOT_TABLE),
    ("silver", STATUS_DAILY_TABLE),
    ("gold", "occupancy_property_daily"),
    ("gold", "occupancy_daily"),
)
SAMPLE_KEYS = 10  # offending keys sampled per source-data-quality warning
LOCK_ERRORS = ("1205", "Lock wait timeout", "metadata lock")
LEFTOVER_SUFFIXES = ("__dbt_tmp", "__dbt_backup")
EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_TIMEOUT = 0, 1, 2, 3

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
    retry_deadline: float = 900.0  # DBT_RETRY_DEADLINE: seconds for lock-wait retries
    retry_backoff: float = 5.0  # DBT_RETRY_BACKOFF: first pause, doubled each retry (max 60)
    tls: str = "preferred"  # DBT_TLS: as the prod profile's tls field (mysql_tls adapter)
    tls_ca: str = ""
    deadline_seconds: float = 0.0  # DBT_TASK_DEADLINE_MINUTES (0: unbounded, local runs)

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
            retry_deadline = float(env.get("DBT_RETRY_DEADLINE") or 900)
            retry_backoff = float(env.get("DBT_RETRY_BACKOFF") or 5)
            deadline_minutes = float(env.get("DBT_TASK_DEADLINE_MINUTES") or 0)
        except ValueError as exc:
            raise RunRefused(
                f"dbt task {raw_date}: DBT_THREADS/DBT_PORT/DBT_LOCK_WAIT_TIMEOUT/"
                f"DBT_RETRY_DEADLINE/DBT_RETRY_BACKOFF/DBT_TASK_DEADLINE_MINUTES: {exc}"
            ) from exc
        if (
            lock_wait < 1
            or retry_deadline < 0
            or retry_backoff <= 0
            or not 0 <= deadline_minutes < float("inf")
        ):
            raise RunRefused(
                f"dbt task {raw_date}: DBT_LOCK_WAIT_TIMEOUT must be >= 1, DBT_RETRY_DEADLINE "
                ">= 0, DBT_RETRY_BACKOFF > 0 and DBT_TASK_DEADLINE_MINUTES a finite number >= 0"
            )
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
            retry_deadline=retry_deadline,
            retry_backoff=retry_backoff,
            tls=env.get("DBT_TLS")
            or ("verify-identity" if (env.get("DBT_TARGET") or "prod") == "prod" else "preferred"),
            tls_ca=env.get("DBT_TLS_CA", ""),
            deadline_seconds=deadline_minutes * 60,
        )

    @property
    def silver_schema(self) -> str:
        return "silver" + self.schema_suffix

    @property
    def gold_schema(self) -> str:
        return "gold" + self.schema_suffix

    def schema_of(self, layer: str) -> str:
        return layer + self.schema_suffix

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
class QualityCheck:
    """A source-data-quality test (severity warn) that found rows: the report's
    ``data_quality`` entry; ``sql`` (its compiled SELECT of offending rows) is not reported."""

    name: str
    model: str | None
    column: str | None
    kind: str
    failures: int
    sample_keys: list[str] = field(default_factory=list)
    sql: str = field(default="", repr=False)

    def as_report(self) -> dict[str, Any]:
        entry = asdict(self)
        del entry["sql"]
        return entry


@dataclass(slots=True)
class StepOutcome:
    """One dbt command (seed or build)."""

    command: str
    success: bool
    nodes: list[NodeOutcome] = field(default_factory=list)
    error: str | None = None
    warnings: list[QualityCheck] = field(default_factory=list)
    retried: bool = False  # superseded by a later attempt of the same command

    @property
    def lost_a_lock_wait(self) -> bool:
        """Failed only because lock waits timed out (a reader held a table): retryable. A
        failed invariant or any other error among the failures is not retried."""
        if self.success:
            return False
        bad = [node.message or "" for node in self.nodes if not node.ok]
        texts = bad or [self.error or ""]
        return all(any(marker in text for marker in LOCK_ERRORS) for text in texts)


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


def connect(config: RunConfig) -> pymysql.connections.Connection:
    """The runner's own connection (autocommit), with the task's lock wait bound."""
    return pymysql.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        connect_timeout=10,
        autocommit=True,
        init_command=(
            f"SET SESSION lock_wait_timeout = {config.lock_wait_timeout}, "
            f"innodb_lock_wait_timeout = {config.lock_wait_timeout}"
        ),
        **tls_arguments(config),
    )


def _table_exists(cur: Any, schema: str, table: str) -> bool:
    cur.execute(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name = %s",
        (schema, table),
    )
    row = cur.fetchone()
    return bool(row and row[0])


def newest_snapshot(config: RunConfig) -> dt.date | None:
    """The newest snapshot date already stored, or None before the first run."""
    conn = connect(config)
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
    """``seed`` + ``build``; a backfill rebuilds only the staging views and daily partitions.

    A backfill selects tests cautiously: only tests whose every parent it rebuilds (dbt's
    eager default would also run, say, a relationships test of today's ``int_contracts``
    against the old dump's staging views, and fail).
    """
    if config.backfill:
        return [
            [
                "build", "--select", "tag:staging", "tag:daily_snapshot",
                "--indirect-selection", "cautious",
            ]
        ]  # fmt: skip
    return [["seed"], ["build"]]


def _quality_check(node_result: Any) -> QualityCheck | None:
    """A test of severity warn that found rows, as a data_quality entry (keys sampled later)."""
    node = node_result.node
    if str(node_result.status) != "warn" or str(node.resource_type) != "test":
        return None
    metadata = getattr(node, "test_metadata", None)
    attached = getattr(node, "attached_node", None) or ""
    return QualityCheck(
        name=node.name,
        model=attached.split(".")[-1] if attached else None,
        column=getattr(node, "column_name", None),
        kind=metadata.name if metadata is not None else "singular",
        failures=int(getattr(node_result, "failures", None) or 0),
        sql=getattr(node, "compiled_code", None) or "",
    )


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
    for node_result in getattr(result.result, "results", None) or []:
        check = _quality_check(node_result)
        if check is not None:
            step.warnings.append(check)
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


def sample_offending_keys(config: RunConfig, checks: Sequence[QualityCheck]) -> None:
    """Fill each check's ``sample_keys``: the first column of its first offending rows (the
    dangling value of a relationships test, the row's id for not_null). Best effort: a
    sampling error is logged, never fails the run."""
    if not checks:
        return
    try:
        conn = connect(config)
    except pymysql.MySQLError as exc:
        log.warning("data quality: cannot sample offending keys: %s", exc)
        return
    try:
        with conn.cursor() as cur:
            for check in checks:
                if not check.sql:
                    continue
                try:
                    cur.execute(f"SELECT * FROM (\n{check.sql}\n) AS offending LIMIT {SAMPLE_KEYS}")
                    check.sample_keys = [str(row[0]) for row in cur.fetchall()]
                except pymysql.MySQLError as exc:
                    log.warning("data quality %s: cannot sample keys: %s", check.name, exc)
    finally:
        conn.close()
    for check in checks:
        log.warning(
            "data quality %s (%s.%s): %d row(s); first keys %s",
            check.name, check.model, check.column, check.failures,
            ", ".join(check.sample_keys) or "-",
        )  # fmt: skip


def drop_leftovers(config: RunConfig) -> list[str]:
    """Drop ``__dbt_tmp`` / ``__dbt_backup`` tables an interrupted build left in silver and
    gold (a rename that lost its lock wait leaves the intermediate table behind)."""
    conn = connect(config)
    dropped: list[str] = []
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema IN (%s, %s)",
                (config.silver_schema, config.gold_schema),
            )
            for schema, table in cur.fetchall():
                if str(table).endswith(LEFTOVER_SUFFIXES):
                    cur.execute(f"DROP TABLE IF EXISTS `{schema}`.`{table}`")
                    dropped.append(f"{schema}.{table}")
    finally:
        conn.close()
    if dropped:
        log.warning("dropped leftovers of an interrupted build: %s", ", ".join(dropped))
    return dropped


def remove_date_partitions(config: RunConfig) -> list[str]:
    """After a failed run: no partition of the dump date stays in any daily model, and the
    status history loses what a daily run of that date wrote (as its pre-hooks undo it), so
    a re-run starts from the state before the date. A backfill's history is rebuilt in full
    by its next run; it is left as it is. Returns what was removed (for the log)."""
    day = config.dump_date
    removed: list[str] = []
    conn = connect(config)
    try:
        with conn.cursor() as cur:
            for layer, table in DAILY_TABLES:
                schema = config.schema_of(layer)
                if _table_exists(cur, schema, table):
                    cur.execute(
                        f"DELETE FROM `{schema}`.`{table}` WHERE snapshot_date = %s", (day,)
                    )
                    removed.append(f"{schema}.{table}: {cur.rowcount} row(s)")
            silver = config.silver_schema
            if not config.backfill and _table_exists(cur, silver, HISTORY_TABLE):
                history = f"`{silver}`.`{HISTORY_TABLE}`"
                conn.begin()
                cur.execute(f"DELETE FROM {history} WHERE valid_from >= %s", (day,))
                opened = cur.rowcount
                cur.execute(
                    f"UPDATE {history} SET valid_to = NULL, is_current = 1 WHERE valid_to >= %s",
                    (day - dt.timedelta(days=1),),
                )
                reopened = cur.rowcount
                cur.execute(
                    f"UPDATE {history} AS h CROSS JOIN (SELECT MAX(snapshot_date) AS latest "
                    f"FROM `{silver}`.`{STATUS_DAILY_TABLE}`) AS newest "
                    "SET h.days_in_status = DATEDIFF(newest.latest, h.valid_from) + 1 "
                    "WHERE h.is_current = 1 AND newest.latest IS NOT NULL"
                )
                conn.commit()
                removed.append(
                    f"{silver}.{HISTORY_TABLE}: {opened} interval(s) removed, {reopened} reopened"
                )
    finally:
        conn.close()
    log.warning("dbt task %s failed: removed its partitions (%s)", day, "; ".join(removed))
    return removed


def run_with_retries(
    command: list[str], config: RunConfig, work_dir: Path, started: float
) -> list[StepOutcome]:
    """One dbt command; repeated after a lost lock wait (a reader's long transaction) with
    doubling pauses while the retry deadline allows. Every attempt is returned."""
    attempts: list[StepOutcome] = []
    pause = config.retry_backoff
    while True:
        step = run_dbt(command, config, work_dir)
        attempts.append(step)
        elapsed = time.monotonic() - started
        if not step.lost_a_lock_wait or elapsed + pause > config.retry_deadline:
            return attempts
        log.warning(
            "dbt %s %s lost a lock wait (attempt %d); retrying in %.0f s",
            step.command, config.dump_date, len(attempts), pause,
        )  # fmt: skip
        step.retried = True
        drop_leftovers(config)
        time.sleep(pause)
        pause = min(pause * 2, 60.0)


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
    checks = [check for step in steps if not step.retried for check in step.warnings]
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
        "data_quality": {
            "warnings": len(checks),
            "failing_rows": sum(check.failures for check in checks),
            "checks": [check.as_report() for check in checks],
        },
        "steps": [
            {
                "command": step.command,
                "success": step.success,
                "retried": step.retried,
                "error": step.error,
                "nodes": [asdict(node) for node in step.nodes],
            }
            for step in steps
        ],
    }


def _on_deadline(config: RunConfig, started: float, steps: list[StepOutcome]) -> None:
    """The deadline passed with dbt still running: leave nothing half-done, say timeout, exit.

    dbt runs in this process and cannot be interrupted from outside its threads, so the
    process ends here (``os._exit``); its warehouse connections close with it."""
    message = (
        f"dbt task {config.dump_date} ({config.dump_key or 'no DUMP_KEY'}): timeout: still "
        f"running after {config.deadline_seconds:.0f} s (DBT_TASK_DEADLINE_MINUTES); stopped"
    )
    log.error("%s", message)
    try:
        remove_date_partitions(config)
    except Exception as exc:
        message += f"; removing the date's partitions failed too (re-run the date): {exc}"
        log.error("%s", message)
    try:
        write_report(config, _report(config, "timeout", started, list(steps), message))
    except Exception:
        log.exception("dbt task %s: the timeout report could not be written", config.dump_date)
    logging.shutdown()
    os._exit(EXIT_TIMEOUT)


def _watchdog(config: RunConfig, started: float, steps: list[StepOutcome]) -> threading.Timer:
    remaining = max(config.deadline_seconds - (time.monotonic() - started), 0.0)
    timer = threading.Timer(remaining, _on_deadline, args=(config, started, steps))
    timer.daemon = True
    timer.start()
    return timer


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
    watchdog = _watchdog(config, started, steps) if config.deadline_seconds > 0 else None
    try:
        return _run(config, started, steps)
    finally:
        if watchdog is not None:
            watchdog.cancel()


def _run(config: RunConfig, started: float, steps: list[StepOutcome]) -> int:
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
    task = f"dbt task {config.dump_date} ({config.dump_key or 'no DUMP_KEY'})"
    try:
        drop_leftovers(config)
        with tempfile.TemporaryDirectory(prefix="dumpflow-dbt-") as work:
            for command in dbt_commands(config):
                attempts = run_with_retries(command, config, Path(work), started)
                steps.extend(attempts)
                if not attempts[-1].success:
                    break
    except pymysql.MySQLError as exc:
        message = f"{task}: warehouse error outside dbt: {exc}"
        log.error("%s", message)
        write_report(config, _report(config, "failed", started, steps, message))
        return EXIT_FAILED
    final = [step for step in steps if not step.retried]
    failed = [step for step in final if not step.success]
    sample_offending_keys(config, [c for step in final for c in step.warnings])
    error = None
    if failed:
        bad = [n.unique_id for n in failed[0].nodes if not n.ok]
        error = failed[0].error or f"dbt {failed[0].command} failed: {', '.join(bad)}"
        try:
            remove_date_partitions(config)
        except pymysql.MySQLError as exc:
            error += f"; removing the date's partitions failed too (re-run the date): {exc}"
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
