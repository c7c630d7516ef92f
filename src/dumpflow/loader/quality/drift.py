"""Schema drift against the previous load, and the columns dbt reads."""

from __future__ import annotations

from dumpflow.loader.quality.dbt_columns import DbtColumns
from dumpflow.loader.quality.facts import Column, TableFacts
from dumpflow.loader.quality.inputs import DBT_SETTING, NO_PREVIOUS, GateInputs
from dumpflow.loader.quality.result import Check, ColumnChange, Verdict

DRIFT = "schema_drift"
DBT_COLUMNS = "dbt_columns"
BREAKING = frozenset({"removed", "retyped", "table_removed"})

PASS, WARN, FAIL = Verdict.PASS, Verdict.WARN, Verdict.FAIL


def _read_columns(dbt: DbtColumns, table: str, facts: TableFacts | None) -> set[str] | None:
    """Lower-case columns dbt reads from ``table`` (None: dbt does not read the table); every
    column when the sources list none for it."""
    if table not in dbt:
        return None
    listed = {name.lower() for name in dbt[table]}
    if not listed and facts is not None:
        return set(facts.columns)
    return listed


def drift_checks(inputs: GateInputs) -> tuple[list[Check], list[ColumnChange]]:
    """Columns added, removed or retyped against the previous load: removing or retyping a
    column dbt reads fails, every other change is a warning."""
    dbt = inputs.dbt_columns
    previous = inputs.previous
    if previous is None:
        unchanged = [
            Check.make(
                PASS, DRIFT, table, f"schema drift: {table}: {NO_PREVIOUS}", setting=DBT_SETTING
            )
            for table in dbt
        ]
        return unchanged, []
    checks: list[Check] = []
    changes: list[ColumnChange] = []
    for table in sorted(set(previous.tables) | set(inputs.shadow.tables)):
        before, after = previous.tables.get(table), inputs.shadow.tables.get(table)
        read = _read_columns(dbt, table, before or after)
        found = table_changes(table, before, after, read)
        changes.extend(found)
        if found:
            implicit = table in dbt and not dbt[table]
            checks.append(_drift_check(table, found, previous.schema, implicit))
        elif read is not None:
            checks.append(
                Check.make(
                    PASS,
                    DRIFT,
                    table,
                    f"schema drift: {table}: columns as in the previous load ({previous.schema})",
                    value="no change",
                    setting=DBT_SETTING,
                )
            )
    return checks, changes


def table_changes(
    table: str, before: TableFacts | None, after: TableFacts | None, read: set[str] | None
) -> list[ColumnChange]:
    """The differences of one table; ``read``: the lower-case columns dbt reads (None: none)."""
    if before is None:
        return [ColumnChange(table, None, "table_added", None, None, read is not None)]
    if after is None:
        return [ColumnChange(table, None, "table_removed", None, None, read is not None)]
    read = read or set()
    found: list[ColumnChange] = []
    for key, old in before.columns.items():
        new = after.columns.get(key)
        if new is None:
            found.append(
                ColumnChange(table, old.name, "removed", old.column_type, None, key in read)
            )
        elif new.column_type != old.column_type:
            found.append(
                ColumnChange(
                    table, old.name, "retyped", old.column_type, new.column_type, key in read
                )
            )
    found.extend(
        ColumnChange(table, new.name, "added", None, new.column_type, key in read)
        for key, new in after.columns.items()
        if key not in before.columns
    )
    return found


def _describe(change: ColumnChange) -> str:
    if change.change == "retyped":
        return f"{change.column} {change.before} -> {change.after}"
    return change.column or change.table


def _drift_check(table: str, found: list[ColumnChange], previous: str, implicit: bool) -> Check:
    groups: dict[str, list[str]] = {}
    for change in found:
        groups.setdefault(change.change, []).append(_describe(change))
    value = "; ".join(f"{kind}: {', '.join(items)}" for kind, items in groups.items())
    where = f"schema drift: {table} against the previous load ({previous}): {value}"
    breaking = [c for c in found if c.read_by_dbt and c.change in BREAKING]
    if not breaking:
        return Check.make(
            WARN,
            DRIFT,
            table,
            f"{where}; no column dbt reads is affected ({DBT_SETTING})",
            value=value,
            reason="schema changed",
            setting=DBT_SETTING,
        )
    why = (
        " (dbt's sources list no columns for it, so every column counts as read)"
        if implicit
        else ""
    )
    return Check.make(
        FAIL,
        DRIFT,
        table,
        f"{where}; dbt reads {', '.join(_describe(c) for c in breaking)}{why} ({DBT_SETTING})",
        value=value,
        limit="dbt reads it",
        reason="dbt column removed or retyped",
        setting=DBT_SETTING,
    )


def _type_matches(declared: str, column: Column) -> bool:
    """A declared ``int`` matches DATA_TYPE; a declared ``varchar(8)`` matches COLUMN_TYPE."""
    wanted = "".join(declared.lower().split())
    if "(" in wanted:
        return wanted == "".join(column.column_type.split())
    return wanted == column.data_type


def dbt_column_checks(inputs: GateInputs) -> list[Check]:
    """Every column dbt reads is in the shadow, with its declared type where one is given."""
    return [
        _dbt_columns(inputs, table, dict(columns)) for table, columns in inputs.dbt_columns.items()
    ]


def _dbt_columns(inputs: GateInputs, table: str, columns: dict[str, str | None]) -> Check:
    wanted = len(columns)
    facts = inputs.shadow.tables.get(table)
    if facts is None:
        return Check.make(
            FAIL,
            DBT_COLUMNS,
            table,
            f"dbt columns: dbt reads {table}, which the dump does not hold ({DBT_SETTING})",
            limit=wanted,
            reason="dbt table missing",
            setting=DBT_SETTING,
        )
    missing = [name for name in columns if name.lower() not in facts.columns]
    mistyped = [
        f"{name} is {facts.columns[name.lower()].column_type}, declared {declared}"
        for name, declared in columns.items()
        if declared is not None
        and name.lower() in facts.columns
        and not _type_matches(declared, facts.columns[name.lower()])
    ]
    present = wanted - len(missing)
    if missing or mistyped:
        problems = (["missing " + ", ".join(missing)] if missing else []) + mistyped
        return Check.make(
            FAIL,
            DBT_COLUMNS,
            table,
            f"dbt columns: {table}: {'; '.join(problems)} ({present} of {wanted} "
            f"columns dbt reads are present; {DBT_SETTING})",
            value=present,
            limit=wanted,
            reason="dbt column missing" if missing else "dbt column type",
            setting=DBT_SETTING,
        )
    message = (
        f"dbt columns: {table} has all {wanted} columns dbt reads"
        if columns
        else f"dbt columns: {table} is in the dump (dbt's sources list no columns for it)"
    )
    return Check.make(
        PASS, DBT_COLUMNS, table, message, value=present, limit=wanted, setting=DBT_SETTING
    )
