"""Progress against the previous published load: content not older, rows not gone."""

from __future__ import annotations

import math
from fractions import Fraction

from dumpflow.loader.quality.business_time import as_jst, iso
from dumpflow.loader.quality.config import TableRule
from dumpflow.loader.quality.facts import SchemaFacts, TableFacts
from dumpflow.loader.quality.inputs import NO_PREVIOUS, GateInputs, newest_change, time_column
from dumpflow.loader.quality.result import Check, Verdict

PROGRESS = "content_progress"
ROW_COUNT = "row_count"
BACKWARDS = "content moved backwards"
SHRANK = "rows shrank"
VANISHED = "table vanished"

PASS, FAIL = Verdict.PASS, Verdict.FAIL


def share_text(share: Fraction) -> str:
    percent = share * 100
    return f"{int(percent)}%" if percent.denominator == 1 else f"{float(percent):g}%"


def min_allowed_rows(previous_rows: int, share: Fraction) -> int:
    """The fewest rows that pass when at most ``share`` of ``previous_rows`` may go."""
    return math.ceil(previous_rows * (1 - share))


def progress_checks(inputs: GateInputs) -> list[Check]:
    checks: list[Check] = []
    previous = inputs.previous
    for table, rule in inputs.config.tables.items():
        current = inputs.shadow.tables.get(table)
        if previous is None:
            rows = current.rows if current else None
            checks.append(
                Check.make(PASS, PROGRESS, table, f"content progress: {table}: {NO_PREVIOUS}")
            )
            checks.append(
                Check.make(PASS, ROW_COUNT, table, f"row count: {table}: {NO_PREVIOUS}", value=rows)
            )
            continue
        before = previous.tables.get(table)
        checks.append(_progress(previous, table, rule, current, before))
        checks.append(_row_count(previous, table, rule, current, before))
    return checks


def _progress(
    previous: SchemaFacts,
    table: str,
    rule: TableRule,
    current: TableFacts | None,
    before: TableFacts | None,
) -> Check:
    where = f"the previous load ({previous.schema})"
    setting = rule.setting("updated_at_column")
    column = rule.updated_at_column
    old = newest_change(before, rule)
    if before is None or old is None:
        missing = (
            f"has no table {table}"
            if before is None
            else (f"holds no {column} timestamp in {table}")
        )
        return Check.make(PASS, PROGRESS, table, f"content progress: {where} {missing}")
    new = newest_change(current, rule)
    if new is None:
        problem = (
            "is missing"
            if current is None
            else (time_column(current, rule)[1] or f"holds no {column} timestamp")
        )
        return Check.make(
            FAIL,
            PROGRESS,
            table,
            f"{BACKWARDS}: {table} {problem} in the dump; {where}'s newest was "
            f"{iso(old)} ({setting})",
            limit=iso(old),
            reason=BACKWARDS,
            setting=setting,
        )
    shown = {"value": iso(new), "limit": iso(old)}
    if as_jst(new) < as_jst(old):
        return Check.make(
            FAIL,
            PROGRESS,
            table,
            f"{BACKWARDS}: {table} newest {column} is {iso(new)}, older than "
            f"{iso(old)} in {where} ({setting})",
            reason=BACKWARDS,
            setting=setting,
            **shown,
        )
    return Check.make(
        PASS,
        PROGRESS,
        table,
        f"content progress: {table} newest {column} {iso(new)} is not older than "
        f"{iso(old)} in {where}",
        setting=setting,
        **shown,
    )


def _row_count(
    previous: SchemaFacts,
    table: str,
    rule: TableRule,
    current: TableFacts | None,
    before: TableFacts | None,
) -> Check:
    where = f"the previous load ({previous.schema})"
    setting = rule.setting("max_shrink_share")
    rows = current.rows if current else None
    old = before.rows if before else None
    if not old:
        return Check.make(
            PASS,
            ROW_COUNT,
            table,
            f"row count: {where} has no rows in {table}",
            value=rows,
            setting=setting,
        )
    if not rows:
        shown = "is missing" if current is None else "has 0 rows"
        return Check.make(
            FAIL,
            ROW_COUNT,
            table,
            f"{VANISHED}: {table} {shown}; {where} had {old} rows",
            value=rows or 0,
            limit=1,
            reason=VANISHED,
            setting=setting,
        )
    share = rule.max_shrink_share
    if share is None:
        return Check.make(
            PASS,
            ROW_COUNT,
            table,
            f"row count: {table} has {rows} rows, {where} had {old} (shrink not "
            f"limited: {setting} is null)",
            value=rows,
            setting=setting,
        )
    lowest = min_allowed_rows(old, share)
    if rows < lowest:
        return Check.make(
            FAIL,
            ROW_COUNT,
            table,
            f"{SHRANK}: {table} has {rows} rows, fewer than the limit {lowest} "
            f"({where} had {old}; {setting} lets at most {share_text(share)} go)",
            value=rows,
            limit=lowest,
            reason=SHRANK,
            setting=setting,
        )
    return Check.make(
        PASS,
        ROW_COUNT,
        table,
        f"row count: {table} has {rows} rows, at least the limit {lowest} ({where} "
        f"had {old}; {setting} {share_text(share)})",
        value=rows,
        limit=lowest,
        setting=setting,
    )
