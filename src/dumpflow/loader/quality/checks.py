"""The gate's checks as pure functions of the measured facts (no database in here).

Each check yields rows of (check, table, value, limit, verdict, message); a message names the
table, the two values and the setting that set the limit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from dumpflow.loader.quality.business_time import (
    as_jst,
    end_of_business_day,
    freshness_limit,
    iso,
    parse_manifest_timestamp,
    to_second,
)
from dumpflow.loader.quality.config import GateConfig, TableRule
from dumpflow.loader.quality.dbt_columns import SOURCES_RELATIVE, DbtColumns
from dumpflow.loader.quality.facts import TIME_TYPES, Column, SchemaFacts, TableFacts
from dumpflow.loader.quality.result import Check, ColumnChange, Verdict

FRESHNESS = "freshness"
MANIFEST = "manifest_agreement"
PROGRESS = "content_progress"
ROW_COUNT = "row_count"
DRIFT = "schema_drift"
DBT_COLUMNS = "dbt_columns"

STALE = "stale content"
MANIFEST_MISMATCH = "manifest mismatch"
BACKWARDS = "content moved backwards"
SHRANK = "rows shrank"
VANISHED = "table vanished"
DBT_SETTING = f"dbt sources {SOURCES_RELATIVE.as_posix()}"
NO_PREVIOUS = "no previous load"


@dataclass(frozen=True, slots=True)
class GateInputs:
    """Everything the checks judge: the shadow, the previous load (None: none), the manifest's
    ``max_updated_at_by_table`` as given (untrusted), the settings and dbt's columns."""

    dump_date: dt.date
    shadow: SchemaFacts
    previous: SchemaFacts | None
    manifest: object
    config: GateConfig
    dbt_columns: DbtColumns


def hours_text(hours: float) -> str:
    return f"{int(hours)}" if float(hours).is_integer() else f"{hours:g}"


def share_text(share: Fraction) -> str:
    percent = share * 100
    return f"{int(percent)}%" if percent.denominator == 1 else f"{float(percent):g}%"


def min_allowed_rows(previous_rows: int, share: Fraction) -> int:
    """The fewest rows that pass when at most ``share`` of ``previous_rows`` may go."""
    return math.ceil(previous_rows * (1 - share))


def _time_column(facts: TableFacts, rule: TableRule) -> tuple[Column | None, str | None]:
    """The rule's time column in ``facts``, or why it cannot be used."""
    column = facts.columns.get(rule.updated_at_column.lower())
    if column is None:
        return None, f"has no column {rule.updated_at_column}"
    if column.data_type not in TIME_TYPES:
        return None, f"column {column.name} is {column.column_type}, not a date/time column"
    return column, None


def freshness_checks(inputs: GateInputs) -> list[Check]:
    checks: list[Check] = []
    end = end_of_business_day(inputs.dump_date)
    for table, rule in inputs.config.tables.items():
        if rule.freshness_hours is None:
            continue
        hours = hours_text(rule.freshness_hours)
        limit = freshness_limit(inputs.dump_date, rule.freshness_hours)
        setting = rule.setting("freshness_hours")
        facts = inputs.shadow.tables.get(table)
        if facts is None:
            checks.append(
                Check(
                    FRESHNESS,
                    table,
                    None,
                    iso(limit),
                    Verdict.FAIL,
                    f"{STALE}: {table} is not in the dump (limit {iso(limit)})",
                    STALE,
                    setting,
                )
            )
            continue
        column, problem = _time_column(facts, rule)
        if column is None:
            checks.append(
                Check(
                    FRESHNESS,
                    table,
                    None,
                    iso(limit),
                    Verdict.FAIL,
                    f"freshness: {table} {problem} (setting {rule.setting('updated_at_column')})",
                    "no freshness column",
                    rule.setting("updated_at_column"),
                )
            )
            continue
        newest = facts.newest.get(column.name.lower())
        if newest is None:
            checks.append(
                Check(
                    FRESHNESS,
                    table,
                    None,
                    iso(limit),
                    Verdict.FAIL,
                    f"{STALE}: {table}.{column.name} holds no timestamp (no rows, or only "
                    f"NULL or zero dates); the limit is {iso(limit)} ({setting} {hours} h "
                    f"before the end of {inputs.dump_date} JST)",
                    STALE,
                    setting,
                )
            )
            continue
        value = as_jst(newest)
        if value < limit:
            verdict, reason = Verdict.FAIL, STALE
            message = (
                f"{STALE}: {table} newest {column.name} is {iso(value)}, older than the limit "
                f"{iso(limit)} ({setting} {hours} h before the end of {inputs.dump_date} JST)"
            )
        elif value > end + dt.timedelta(hours=rule.future_tolerance_hours):
            setting = rule.setting("future_tolerance_hours")
            verdict, reason = Verdict.WARN, "content after the dump date"
            message = (
                f"freshness: {table} newest {column.name} is {iso(value)}, more than "
                f"{hours_text(rule.future_tolerance_hours)} h after the end of "
                f"{inputs.dump_date} JST ({iso(end)}; {setting})"
            )
        else:
            verdict, reason = Verdict.PASS, None
            message = (
                f"freshness: {table} newest {column.name} is {iso(value)}, not older than the "
                f"limit {iso(limit)} ({setting} {hours} h)"
            )
        checks.append(
            Check(FRESHNESS, table, iso(value), iso(limit), verdict, message, reason, setting)
        )
    return checks


def manifest_checks(inputs: GateInputs) -> list[Check]:
    """The manifest's ``max_updated_at_by_table`` must equal the data's, to the second."""
    manifest = inputs.manifest
    if manifest is None:
        return [
            Check(
                MANIFEST,
                "*",
                None,
                None,
                Verdict.WARN,
                "manifest agreement: the manifest gives no max_updated_at_by_table, so "
                "nothing says which content this dump should hold",
                "no manifest freshness",
            )
        ]
    if not isinstance(manifest, Mapping):
        return [
            Check(
                MANIFEST,
                "*",
                None,
                None,
                Verdict.FAIL,
                f"{MANIFEST_MISMATCH}: max_updated_at_by_table must be an object of table to "
                f"timestamp, got {type(manifest).__name__}",
                MANIFEST_MISMATCH,
            )
        ]
    checks: list[Check] = []
    for table, raw in manifest.items():
        checks.append(_manifest_table(inputs, table, raw))
    for table in inputs.config.tables:
        if table not in manifest:
            checks.append(
                Check(
                    MANIFEST,
                    table,
                    None,
                    None,
                    Verdict.WARN,
                    f"manifest agreement: the manifest's max_updated_at_by_table does not "
                    f"list {table}",
                    "not in the manifest",
                )
            )
    return checks


def _manifest_table(inputs: GateInputs, table: object, raw: object) -> Check:
    name = str(table)
    setting = f"manifest max_updated_at_by_table.{name}"
    claimed: dt.datetime | None = None
    try:
        claimed = parse_manifest_timestamp(raw)
    except ValueError as exc:
        return Check(
            MANIFEST,
            name,
            None,
            str(raw),
            Verdict.FAIL,
            f"{MANIFEST_MISMATCH}: {setting}: {exc}",
            MANIFEST_MISMATCH,
            setting,
        )
    shown = iso(claimed)
    facts = inputs.shadow.tables.get(name) if isinstance(table, str) else None
    if facts is None:
        return Check(
            MANIFEST,
            name,
            None,
            shown,
            Verdict.FAIL,
            f"{MANIFEST_MISMATCH}: the manifest lists {name} ({shown}), which the dump "
            "does not hold",
            MANIFEST_MISMATCH,
            setting,
        )
    rule = inputs.config.rule_for(name)
    column, problem = _time_column(facts, rule)
    if column is None:
        return Check(
            MANIFEST,
            name,
            None,
            shown,
            Verdict.FAIL,
            f"{MANIFEST_MISMATCH}: the manifest gives {name} {shown}, but {name} "
            f"{problem} ({rule.setting('updated_at_column')})",
            MANIFEST_MISMATCH,
            setting,
        )
    newest = facts.newest.get(column.name.lower())
    if newest is None:
        return Check(
            MANIFEST,
            name,
            None,
            shown,
            Verdict.FAIL,
            f"{MANIFEST_MISMATCH}: the manifest gives {name} {shown}, the data holds "
            f"no {column.name} timestamp",
            MANIFEST_MISMATCH,
            setting,
        )
    data = to_second(newest)
    if data == to_second(claimed):
        return Check(
            MANIFEST,
            name,
            iso(data),
            shown,
            Verdict.PASS,
            f"manifest agreement: {name} newest {column.name} {iso(data)} equals the "
            f"manifest's {shown} to the second",
            None,
            setting,
        )
    return Check(
        MANIFEST,
        name,
        iso(data),
        shown,
        Verdict.FAIL,
        f"{MANIFEST_MISMATCH}: {name} newest {column.name} in the data is {iso(data)}, "
        f"the manifest says {shown} ({setting}, raw {raw!r}): the manifest does not "
        "describe this dump",
        MANIFEST_MISMATCH,
        setting,
    )


def progress_checks(inputs: GateInputs) -> list[Check]:
    """Against the previous published load: no older newest change, no shrink past the share."""
    checks: list[Check] = []
    previous = inputs.previous
    for table, rule in inputs.config.tables.items():
        current = inputs.shadow.tables.get(table)
        rows = current.rows if current else None
        if previous is None:
            checks.append(
                Check(
                    PROGRESS,
                    table,
                    None,
                    None,
                    Verdict.PASS,
                    f"content progress: {table}: {NO_PREVIOUS}",
                )
            )
            checks.append(
                Check(
                    ROW_COUNT, table, rows, None, Verdict.PASS, f"row count: {table}: {NO_PREVIOUS}"
                )
            )
            continue
        before = previous.tables.get(table)
        checks.append(_progress(inputs, table, rule, current, before))
        checks.append(_row_count(inputs, table, rule, current, before))
    return checks


def _progress(
    inputs: GateInputs,
    table: str,
    rule: TableRule,
    current: TableFacts | None,
    before: TableFacts | None,
) -> Check:
    assert inputs.previous is not None
    where = f"the previous load ({inputs.previous.schema})"
    setting = rule.setting("updated_at_column")
    if before is None:
        return Check(
            PROGRESS,
            table,
            None,
            None,
            Verdict.PASS,
            f"content progress: {where} has no table {table}",
        )
    old_column, _ = _time_column(before, rule)
    old = before.newest.get(old_column.name.lower()) if old_column else None
    if old is None:
        return Check(
            PROGRESS,
            table,
            None,
            None,
            Verdict.PASS,
            f"content progress: {where} holds no {rule.updated_at_column} timestamp in {table}",
        )
    new_column, problem = _time_column(current, rule) if current else (None, "is missing")
    new = current.newest.get(new_column.name.lower()) if current and new_column else None
    if new is None:
        reason = problem or f"holds no {rule.updated_at_column} timestamp"
        return Check(
            PROGRESS,
            table,
            None,
            iso(old),
            Verdict.FAIL,
            f"{BACKWARDS}: {table} {reason} in the dump; {where}'s newest was "
            f"{iso(old)} ({setting})",
            BACKWARDS,
            setting,
        )
    if as_jst(new) < as_jst(old):
        return Check(
            PROGRESS,
            table,
            iso(new),
            iso(old),
            Verdict.FAIL,
            f"{BACKWARDS}: {table} newest {rule.updated_at_column} is {iso(new)}, older "
            f"than {iso(old)} in {where} ({setting})",
            BACKWARDS,
            setting,
        )
    return Check(
        PROGRESS,
        table,
        iso(new),
        iso(old),
        Verdict.PASS,
        f"content progress: {table} newest {rule.updated_at_column} {iso(new)} is not "
        f"older than {iso(old)} in {where}",
        None,
        setting,
    )


def _row_count(
    inputs: GateInputs,
    table: str,
    rule: TableRule,
    current: TableFacts | None,
    before: TableFacts | None,
) -> Check:
    assert inputs.previous is not None
    where = f"the previous load ({inputs.previous.schema})"
    setting = rule.setting("max_shrink_share")
    rows = current.rows if current else None
    old = before.rows if before else None
    if not old:
        return Check(
            ROW_COUNT,
            table,
            rows,
            None,
            Verdict.PASS,
            f"row count: {where} has no rows in {table}",
            None,
            setting,
        )
    if not rows:
        shown = "is missing" if current is None else "has 0 rows"
        return Check(
            ROW_COUNT,
            table,
            rows or 0,
            1,
            Verdict.FAIL,
            f"{VANISHED}: {table} {shown}; {where} had {old} rows",
            VANISHED,
            setting,
        )
    share = rule.max_shrink_share
    if share is None:
        return Check(
            ROW_COUNT,
            table,
            rows,
            None,
            Verdict.PASS,
            f"row count: {table} has {rows} rows, {where} had {old} (shrink not limited: "
            f"{setting} is null)",
            None,
            setting,
        )
    lowest = min_allowed_rows(old, share)
    if rows < lowest:
        return Check(
            ROW_COUNT,
            table,
            rows,
            lowest,
            Verdict.FAIL,
            f"{SHRANK}: {table} has {rows} rows, fewer than the limit {lowest} ({where} "
            f"had {old}; {setting} lets at most {share_text(share)} go)",
            SHRANK,
            setting,
        )
    return Check(
        ROW_COUNT,
        table,
        rows,
        lowest,
        Verdict.PASS,
        f"row count: {table} has {rows} rows, at least the limit {lowest} ({where} had "
        f"{old}; {setting} {share_text(share)})",
        None,
        setting,
    )


def _read_columns(dbt: DbtColumns, table: str, facts: TableFacts | None) -> set[str] | None:
    """Lower-case columns dbt reads from ``table``; every column when its list is empty."""
    if table not in dbt:
        return None
    listed = {name.lower() for name in dbt[table]}
    if not listed and facts is not None:
        return set(facts.columns)
    return listed


def drift_checks(inputs: GateInputs) -> tuple[list[Check], list[ColumnChange]]:
    """Columns added, removed or retyped against the previous load; removing or retyping a
    column dbt reads fails, anything else is a warning."""
    dbt = inputs.dbt_columns
    previous = inputs.previous
    if previous is None:
        return [
            Check(
                DRIFT,
                table,
                None,
                None,
                Verdict.PASS,
                f"schema drift: {table}: {NO_PREVIOUS}",
                None,
                DBT_SETTING,
            )
            for table in dbt
        ], []
    checks: list[Check] = []
    changes: list[ColumnChange] = []
    shadow = inputs.shadow.tables
    for table in sorted(set(previous.tables) | set(shadow)):
        before, after = previous.tables.get(table), shadow.get(table)
        read = _read_columns(dbt, table, before or after)
        found = _table_changes(table, before, after, read)
        changes.extend(found)
        if not found:
            if read is not None:
                checks.append(
                    Check(
                        DRIFT,
                        table,
                        "no change",
                        None,
                        Verdict.PASS,
                        f"schema drift: {table}: columns as in the previous load "
                        f"({previous.schema})",
                        None,
                        DBT_SETTING,
                    )
                )
            continue
        checks.append(_drift_check(table, found, read, previous.schema, dbt))
    return checks, changes


def _table_changes(
    table: str, before: TableFacts | None, after: TableFacts | None, read: set[str] | None
) -> list[ColumnChange]:
    reads_table = read is not None
    if before is None:
        return [ColumnChange(table, None, "table_added", None, None, reads_table)]
    if after is None:
        return [ColumnChange(table, None, "table_removed", None, None, reads_table)]
    read = read or set()
    found: list[ColumnChange] = []
    for key, column in before.columns.items():
        new = after.columns.get(key)
        if new is None:
            found.append(
                ColumnChange(table, column.name, "removed", column.column_type, None, key in read)
            )
        elif new.column_type != column.column_type:
            found.append(
                ColumnChange(
                    table, column.name, "retyped", column.column_type, new.column_type, key in read
                )
            )
    for key, column in after.columns.items():
        if key not in before.columns:
            found.append(
                ColumnChange(table, column.name, "added", None, column.column_type, key in read)
            )
    return found


def _describe(change: ColumnChange) -> str:
    if change.change == "retyped":
        return f"{change.column} {change.before} -> {change.after}"
    return change.column or change.table


def _drift_check(
    table: str, found: list[ColumnChange], read: set[str] | None, previous: str, dbt: DbtColumns
) -> Check:
    groups: dict[str, list[str]] = {}
    for change in found:
        groups.setdefault(change.change, []).append(_describe(change))
    value = "; ".join(f"{kind}: {', '.join(items)}" for kind, items in groups.items())
    breaking = [
        c for c in found if c.read_by_dbt and c.change in ("removed", "retyped", "table_removed")
    ]
    implicit = table in dbt and not dbt[table]
    if breaking:
        names = ", ".join(_describe(c) for c in breaking)
        why = (
            " (dbt's sources list no columns for it, so every column counts as read)"
            if implicit
            else ""
        )
        return Check(
            DRIFT,
            table,
            value,
            "dbt reads it",
            Verdict.FAIL,
            f"schema drift: {table} against the previous load ({previous}): {value}; "
            f"dbt reads {names}{why} ({DBT_SETTING})",
            "dbt column removed or retyped",
            DBT_SETTING,
        )
    return Check(
        DRIFT,
        table,
        value,
        None,
        Verdict.WARN,
        f"schema drift: {table} against the previous load ({previous}): {value}; no "
        f"column dbt reads is affected ({DBT_SETTING})",
        "schema changed",
        DBT_SETTING,
    )


def _type_matches(declared: str, column: Column) -> bool:
    wanted = "".join(declared.lower().split())
    if "(" in wanted:
        return wanted == "".join(column.column_type.split())
    return wanted == column.data_type


def dbt_column_checks(inputs: GateInputs) -> list[Check]:
    """Every column dbt reads is in the shadow, with its declared type where one is given."""
    checks: list[Check] = []
    for table, columns in inputs.dbt_columns.items():
        facts = inputs.shadow.tables.get(table)
        if facts is None:
            checks.append(
                Check(
                    DBT_COLUMNS,
                    table,
                    None,
                    len(columns),
                    Verdict.FAIL,
                    f"dbt columns: dbt reads {table}, which the dump does not hold ({DBT_SETTING})",
                    "dbt table missing",
                    DBT_SETTING,
                )
            )
            continue
        missing = [name for name in columns if name.lower() not in facts.columns]
        mistyped = [
            f"{name} is {facts.columns[name.lower()].column_type}, declared {kind}"
            for name, kind in columns.items()
            if kind is not None
            and name.lower() in facts.columns
            and not _type_matches(kind, facts.columns[name.lower()])
        ]
        present = len(columns) - len(missing)
        if missing or mistyped:
            problems = []
            if missing:
                problems.append("missing " + ", ".join(missing))
            if mistyped:
                problems.append("; ".join(mistyped))
            checks.append(
                Check(
                    DBT_COLUMNS,
                    table,
                    present,
                    len(columns),
                    Verdict.FAIL,
                    f"dbt columns: {table}: {'; '.join(problems)} ({present} of "
                    f"{len(columns)} columns dbt reads are usable; {DBT_SETTING})",
                    "dbt column missing" if missing else "dbt column type",
                    DBT_SETTING,
                )
            )
        else:
            checks.append(
                Check(
                    DBT_COLUMNS,
                    table,
                    present,
                    len(columns),
                    Verdict.PASS,
                    f"dbt columns: {table} has all {len(columns)} columns dbt reads",
                    None,
                    DBT_SETTING,
                )
            )
    return checks
