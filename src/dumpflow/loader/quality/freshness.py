"""Content freshness against the business date, and agreement with the manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from dumpflow.loader.quality.business_time import (
    as_jst,
    end_of_business_day,
    freshness_limit,
    iso,
    parse_manifest_timestamp,
    to_second,
)
from dumpflow.loader.quality.config import TableRule
from dumpflow.loader.quality.inputs import GateInputs, hours_text, time_column
from dumpflow.loader.quality.result import Check, Verdict

FRESHNESS = "freshness"
MANIFEST = "manifest_agreement"
STALE = "stale content"
MISMATCH = "manifest mismatch"

PASS, WARN, FAIL = Verdict.PASS, Verdict.WARN, Verdict.FAIL


def freshness_checks(inputs: GateInputs) -> list[Check]:
    """Each configured table's newest change is at most ``freshness_hours`` before the end of
    the dump date (JST)."""
    return [
        _freshness(inputs, table, rule)
        for table, rule in inputs.config.tables.items()
        if rule.freshness_hours is not None
    ]


def _freshness(inputs: GateInputs, table: str, rule: TableRule) -> Check:
    assert rule.freshness_hours is not None
    day = inputs.dump_date
    hours = hours_text(rule.freshness_hours)
    limit = freshness_limit(day, rule.freshness_hours)
    setting = rule.setting("freshness_hours")
    window = f"{setting} {hours} h before the end of {day} JST"
    facts = inputs.shadow.tables.get(table)
    if facts is None:
        return Check.make(
            FAIL,
            FRESHNESS,
            table,
            f"freshness: {table} is not in the dump",
            limit=iso(limit),
            reason="table missing",
            setting=setting,
        )
    column, problem = time_column(facts, rule)
    if column is None:
        column_setting = rule.setting("updated_at_column")
        return Check.make(
            FAIL,
            FRESHNESS,
            table,
            f"freshness: {table} {problem} (setting {column_setting})",
            limit=iso(limit),
            reason="no freshness column",
            setting=column_setting,
        )
    newest = facts.newest.get(column.name.lower())
    if newest is None:
        return Check.make(
            FAIL,
            FRESHNESS,
            table,
            f"{STALE}: {table}.{column.name} holds no timestamp (no rows, or only "
            f"NULL or zero dates); the limit is {iso(limit)} ({window})",
            limit=iso(limit),
            reason=STALE,
            setting=setting,
        )
    value = as_jst(newest)
    shown = {"value": iso(value), "limit": iso(limit)}
    if value < limit:
        return Check.make(
            FAIL,
            FRESHNESS,
            table,
            f"{STALE}: {table} newest {column.name} is {iso(value)}, older than "
            f"the limit {iso(limit)} ({window})",
            reason=STALE,
            setting=setting,
            **shown,
        )
    end = end_of_business_day(day)
    if value > end + dt.timedelta(hours=rule.future_tolerance_hours):
        tolerance = rule.setting("future_tolerance_hours")
        return Check.make(
            WARN,
            FRESHNESS,
            table,
            f"freshness: {table} newest {column.name} is {iso(value)}, more than "
            f"{hours_text(rule.future_tolerance_hours)} h after the end of {day} "
            f"JST ({iso(end)}; {tolerance})",
            reason="content after the dump date",
            setting=tolerance,
            **shown,
        )
    return Check.make(
        PASS,
        FRESHNESS,
        table,
        f"freshness: {table} newest {column.name} is {iso(value)}, not older than "
        f"the limit {iso(limit)} ({window})",
        setting=setting,
        **shown,
    )


def manifest_checks(inputs: GateInputs) -> list[Check]:
    """The manifest's ``max_updated_at_by_table`` equals the data's newest change, to the
    second, for every table it lists."""
    manifest = inputs.manifest
    if manifest is None:
        return [
            Check.make(
                WARN,
                MANIFEST,
                "*",
                "manifest agreement: the manifest gives no max_updated_at_by_table, "
                "so nothing says which content this dump should hold",
                reason="no manifest freshness",
            )
        ]
    if not isinstance(manifest, Mapping):
        return [
            Check.make(
                FAIL,
                MANIFEST,
                "*",
                f"{MISMATCH}: max_updated_at_by_table must be an object of table to "
                f"timestamp, got {type(manifest).__name__}",
                reason=MISMATCH,
            )
        ]
    checks = [_agreement(inputs, str(table), raw) for table, raw in manifest.items()]
    checks.extend(
        Check.make(
            WARN,
            MANIFEST,
            table,
            f"manifest agreement: the manifest's max_updated_at_by_table does not list {table}",
            reason="not in the manifest",
        )
        for table in inputs.config.tables
        if table not in manifest
    )
    return checks


def _agreement(inputs: GateInputs, table: str, raw: object) -> Check:
    setting = f"manifest max_updated_at_by_table.{table}"
    try:
        claimed = parse_manifest_timestamp(raw)
    except ValueError as exc:
        return Check.make(
            FAIL,
            MANIFEST,
            table,
            f"{MISMATCH}: {setting}: {exc}",
            limit=str(raw),
            reason=MISMATCH,
            setting=setting,
        )
    shown = iso(claimed)
    facts = inputs.shadow.tables.get(table)
    if facts is None:
        return Check.make(
            FAIL,
            MANIFEST,
            table,
            f"{MISMATCH}: the manifest lists {table} ({shown}), which the dump does not hold",
            limit=shown,
            reason=MISMATCH,
            setting=setting,
        )
    rule = inputs.config.rule_for(table)
    column, problem = time_column(facts, rule)
    newest = facts.newest.get(column.name.lower()) if column else None
    if column is None or newest is None:
        why = problem or f"holds no {rule.updated_at_column} timestamp"
        return Check.make(
            FAIL,
            MANIFEST,
            table,
            f"{MISMATCH}: the manifest gives {table} {shown}, but {table} {why} "
            f"({rule.setting('updated_at_column')})",
            limit=shown,
            reason=MISMATCH,
            setting=setting,
        )
    data = to_second(newest)
    if data == to_second(claimed):
        return Check.make(
            PASS,
            MANIFEST,
            table,
            f"manifest agreement: {table} newest {column.name} {iso(data)} equals "
            f"the manifest's {shown} to the second",
            value=iso(data),
            limit=shown,
            setting=setting,
        )
    return Check.make(
        FAIL,
        MANIFEST,
        table,
        f"{MISMATCH}: {table} newest {column.name} in the data is {iso(data)}, the "
        f"manifest says {shown} ({setting}, raw {raw!r}): the manifest does not "
        "describe this dump",
        value=iso(data),
        limit=shown,
        reason=MISMATCH,
        setting=setting,
    )
