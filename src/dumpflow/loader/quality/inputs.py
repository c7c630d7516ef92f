"""What every check judges, and the helpers the checks share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dumpflow.loader.quality.config import GateConfig, TableRule
from dumpflow.loader.quality.dbt_columns import SOURCES_RELATIVE, DbtColumns
from dumpflow.loader.quality.facts import TIME_TYPES, Column, SchemaFacts, TableFacts

NO_PREVIOUS = "no previous load"
DBT_SETTING = f"dbt sources {SOURCES_RELATIVE.as_posix()}"


@dataclass(frozen=True, slots=True)
class GateInputs:
    """The shadow, the previous load (None: none), the manifest's ``max_updated_at_by_table``
    as given (untrusted), the settings and the columns dbt reads."""

    dump_date: dt.date
    shadow: SchemaFacts
    previous: SchemaFacts | None
    manifest: object
    config: GateConfig
    dbt_columns: DbtColumns


def hours_text(hours: float) -> str:
    return f"{int(hours)}" if float(hours).is_integer() else f"{hours:g}"


def time_column(facts: TableFacts, rule: TableRule) -> tuple[Column | None, str | None]:
    """The rule's time column in ``facts``, or why it cannot be used."""
    column = facts.columns.get(rule.updated_at_column.lower())
    if column is None:
        return None, f"has no column {rule.updated_at_column}"
    if column.data_type not in TIME_TYPES:
        return None, f"column {column.name} is {column.column_type}, not a date/time column"
    return column, None


def newest_change(facts: TableFacts | None, rule: TableRule) -> dt.datetime | None:
    """The table's newest value of the rule's time column (None: no table, column or value)."""
    if facts is None:
        return None
    column, _ = time_column(facts, rule)
    return facts.newest.get(column.name.lower()) if column else None
