"""The gate's settings: one YAML file in the repository, validated strictly.

An operator edits this file, so it is untrusted input: unknown keys, duplicate keys, values of
the wrong type, non-finite or out-of-range numbers are all refused with an error naming the
file and every bad setting; nothing is coerced ("36" is not 36, ``yes`` is not 1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

#: The configuration shipped with the package (and so with the Glue loader zip).
DEFAULT_CONFIG_PATH = Path(__file__).with_name("quality_gate.yml")
CONFIG_VERSION = 1
#: MySQL identifiers as the source's dumps use them (unquoted names, at most 64 characters).
IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
#: Ten years: a longer window is a mistake, and it keeps the date arithmetic in range.
MAX_HOURS = 87_600

TABLE_KEYS = ("updated_at_column", "freshness_hours", "future_tolerance_hours", "max_shrink_share")
TOP_KEYS = ("version", "defaults", "tables")
BUILTIN_DEFAULTS: dict[str, Any] = {
    "updated_at_column": "updated_at",
    "freshness_hours": 36,
    "future_tolerance_hours": 24,
    "max_shrink_share": 0.2,
}


class QualityConfigError(ValueError):
    """The gate's configuration is unusable; the message names the file and each setting."""


@dataclass(frozen=True, slots=True)
class TableRule:
    """The checks of one table and the setting each value came from (for messages).

    ``freshness_hours`` None: no freshness check for the table; ``max_shrink_share`` None:
    any shrink passes (a table that vanishes still fails).
    """

    table: str
    updated_at_column: str
    freshness_hours: float | None
    future_tolerance_hours: float
    max_shrink_share: Fraction | None
    settings: Mapping[str, str] = field(default_factory=dict)

    def setting(self, key: str) -> str:
        """Where ``key``'s value was set, e.g. ``tables.rooms.max_shrink_share``."""
        return self.settings.get(key, f"defaults.{key}")


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Every configured table's rule, in file order, plus the defaults for other tables."""

    source: str
    defaults: TableRule
    tables: Mapping[str, TableRule]

    def rule_for(self, table: str) -> TableRule:
        """The table's own rule, or the defaults (e.g. for a table only the manifest lists)."""
        return self.tables.get(table) or TableRule(
            table=table,
            updated_at_column=self.defaults.updated_at_column,
            freshness_hours=self.defaults.freshness_hours,
            future_tolerance_hours=self.defaults.future_tolerance_hours,
            max_shrink_share=self.defaults.max_shrink_share,
            settings=self.defaults.settings,
        )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML would keep the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)  # merge keys (<<) count like keys written out
    seen: list[Any] = []
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        seen.append(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, setting: str, problem: str) -> None:
        self.items.append(f"setting {setting}: {problem}")


def _number(value: object) -> float | None:
    """A finite int or float; None for anything else (bools and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def _check_value(key: str, value: object, setting: str, problems: _Problems) -> Any:
    """The validated value of ``key`` (None when refused: the caller does not use it then)."""
    if key == "updated_at_column":
        if not isinstance(value, str) or not IDENTIFIER.match(value):
            problems.add(
                setting, f"must be a column name of letters, digits, _ or $ (got {value!r})"
            )
            return None
        return value
    if value is None and key in ("freshness_hours", "max_shrink_share"):
        return None  # explicitly switched off for this table
    number = _number(value)
    if key == "max_shrink_share":
        if number is None or not 0 <= number <= 1:
            problems.add(setting, f"must be a number from 0 to 1, or null (got {value!r})")
            return None
        return Fraction(str(value))
    low_ok = (lambda n: n > 0) if key == "freshness_hours" else (lambda n: n >= 0)
    if number is None or not low_ok(number) or number > MAX_HOURS:
        bound = "greater than 0" if key == "freshness_hours" else "at least 0"
        extra = ", or null" if key == "freshness_hours" else ""
        problems.add(
            setting,
            f"must be a number of hours {bound} and at most {MAX_HOURS}{extra} (got {value!r})",
        )
        return None
    return number


def _section(
    raw: object, where: str, base: Mapping[str, tuple[Any, str]], problems: _Problems
) -> dict[str, tuple[Any, str]]:
    """Merge one mapping of table settings over ``base``: {key: (value, setting path)}."""
    merged = dict(base)
    if raw is None:
        return merged
    if not isinstance(raw, Mapping):
        problems.add(where, f"must be a mapping of {', '.join(TABLE_KEYS)} (got {raw!r})")
        return merged
    for key, value in raw.items():
        setting = f"{where}.{key}"
        if key not in TABLE_KEYS:
            problems.add(setting, f"unknown key (known: {', '.join(TABLE_KEYS)})")
            continue
        merged[key] = (_check_value(key, value, setting, problems), setting)
    return merged


def _rule(table: str, values: Mapping[str, tuple[Any, str]]) -> TableRule:
    return TableRule(
        table=table,
        updated_at_column=values["updated_at_column"][0],
        freshness_hours=values["freshness_hours"][0],
        future_tolerance_hours=values["future_tolerance_hours"][0],
        max_shrink_share=values["max_shrink_share"][0],
        settings={key: setting for key, (_, setting) in values.items()},
    )


def parse_config(data: object, source: str) -> GateConfig:
    """Validate the parsed YAML document; raises QualityConfigError listing every problem."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise QualityConfigError(
            f"quality gate config {source}: the document must be a mapping with "
            f"{', '.join(TOP_KEYS)} (got {type(data).__name__})"
        )
    for key in data:
        if key not in TOP_KEYS:
            problems.add(str(key), f"unknown key (known: {', '.join(TOP_KEYS)})")
    version = data.get("version")
    if isinstance(version, bool) or version != CONFIG_VERSION:
        problems.add("version", f"must be {CONFIG_VERSION} (got {version!r})")
    builtin = {
        key: (_check_value(key, value, f"defaults.{key}", problems), f"defaults.{key}")
        for key, value in BUILTIN_DEFAULTS.items()
    }
    defaults = _section(data.get("defaults"), "defaults", builtin, problems)
    tables_raw = data.get("tables")
    rules: dict[str, TableRule] = {}
    if not isinstance(tables_raw, Mapping):
        problems.add("tables", f"must be a mapping of table name to settings (got {tables_raw!r})")
        tables_raw = {}
    for table, raw in tables_raw.items():
        where = f"tables.{table}"
        if not isinstance(table, str) or not IDENTIFIER.match(table):
            problems.add(where, "the table name must be letters, digits, _ or $ (at most 64)")
            continue
        rules[table] = _rule(table, _section(raw, where, defaults, problems))
    if problems.items:
        raise QualityConfigError(f"quality gate config {source}: " + "; ".join(problems.items))
    return GateConfig(source=source, defaults=_rule("*", defaults), tables=rules)


def load_config(path: Path | Traversable | None = None) -> GateConfig:
    """Read and validate the gate's YAML file (default: the one shipped with the package,
    read as a package resource so it is found inside the Glue loader zip too)."""
    path = path or resources.files(__package__).joinpath(DEFAULT_CONFIG_PATH.name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QualityConfigError(f"quality gate config {path}: cannot read it: {exc}") from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise QualityConfigError(f"quality gate config {path}: not valid YAML: {exc}") from exc
    return parse_config(data, str(path))
