"""``run_gate``: judge a loaded shadow schema before it replaces the published one."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping

import pymysql

from dumpflow.loader.quality.config import GateConfig
from dumpflow.loader.quality.dbt_columns import DbtColumns
from dumpflow.loader.quality.drift import dbt_column_checks, drift_checks
from dumpflow.loader.quality.facts import (
    DbConnection,
    SchemaFacts,
    jst_session,
    measure,
    read_columns,
    schema_exists,
)
from dumpflow.loader.quality.freshness import freshness_checks, manifest_checks
from dumpflow.loader.quality.inputs import GateInputs
from dumpflow.loader.quality.progress import progress_checks
from dumpflow.loader.quality.result import GateResult

log = logging.getLogger(__name__)

NO_PREVIOUS_NOTE = "the progress and drift checks pass with 'no previous load'"


class GateError(RuntimeError):
    """The gate could not read what it judges (a database error, a missing shadow schema).

    Not a quality verdict: the load failed and may be retried, nothing was rejected.
    """


def _facts(conn: DbConnection, schema: str, config: GateConfig, manifest: object) -> SchemaFacts:
    facts = SchemaFacts(schema, read_columns(conn, schema))
    newest = {table: rule.updated_at_column for table, rule in config.tables.items()}
    if isinstance(manifest, Mapping):
        for table in manifest:
            if isinstance(table, str) and table not in newest:
                newest[table] = config.rule_for(table).updated_at_column
    measure(conn, facts, list(config.tables), newest)
    return facts


def run_gate(
    conn: DbConnection,
    *,
    shadow_schema: str,
    published_schema: str | None,
    dump_date: dt.date,
    manifest_max_updated_at: object,
    config: GateConfig,
    dbt_columns: DbtColumns,
) -> GateResult:
    """Check ``shadow_schema`` (the dump just loaded) against its business date, the manifest's
    ``max_updated_at_by_table`` and ``published_schema`` (the load it would replace; None or an
    empty/missing schema: no previous load, e.g. the first load or a backfill).

    Reads only; the caller publishes or drops the shadow by the result. Raises GateError when
    the schemas cannot be read.
    """
    started = time.perf_counter()
    notes: list[str] = []
    try:
        if not schema_exists(conn, shadow_schema):
            raise GateError(f"quality gate: the shadow schema {shadow_schema!r} does not exist")
        with jst_session(conn):
            shadow = _facts(conn, shadow_schema, config, manifest_max_updated_at)
            previous: SchemaFacts | None = None
            if published_schema is not None and schema_exists(conn, published_schema):
                previous = _facts(conn, published_schema, config, None)
                if not previous.tables:
                    notes.append(f"{published_schema} holds no tables: {NO_PREVIOUS_NOTE}")
                    previous = None
            elif published_schema is not None:
                notes.append(f"{published_schema} does not exist: {NO_PREVIOUS_NOTE}")
    except pymysql.err.MySQLError as exc:
        raise GateError(f"quality gate on {shadow_schema}: cannot read the schemas: {exc}") from exc
    inputs = GateInputs(
        dump_date=dump_date,
        shadow=shadow,
        previous=previous,
        manifest=manifest_max_updated_at,
        config=config,
        dbt_columns=dbt_columns,
    )
    drift, changes = drift_checks(inputs)
    checks = [
        *freshness_checks(inputs),
        *manifest_checks(inputs),
        *progress_checks(inputs),
        *drift,
        *dbt_column_checks(inputs),
    ]
    result = GateResult(
        dump_date=dump_date.isoformat(),
        shadow_schema=shadow_schema,
        previous_schema=previous.schema if previous else None,
        checks=tuple(checks),
        drift=tuple(changes),
        config_source=config.source,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )
    log.info(
        "quality gate on %s for %s: %s (%d failed, %d warnings) in %.2f s",
        shadow_schema,
        dump_date,
        result.verdict.value,
        len(result.failures),
        len(result.warnings),
        result.seconds,
    )
    return result
