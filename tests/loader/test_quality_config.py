"""The gate's configuration file: the shipped defaults, and strict refusal of bad settings."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dumpflow.loader.quality.config import (
    DEFAULT_CONFIG_PATH,
    QualityConfigError,
    load_config,
    parse_config,
)
from loader.quality_support import REQUIRED

EXAMPLES = 500 if os.environ.get("DUMPFLOW_DEEP_TESTS") else 80


def test_the_shipped_file_checks_the_required_tables_with_the_documented_defaults() -> None:
    config = load_config()
    assert config.source == str(DEFAULT_CONFIG_PATH)
    assert set(config.tables) == set(REQUIRED)
    for rule in config.tables.values():
        assert rule.updated_at_column == "updated_at"
        assert rule.freshness_hours == 36
        assert rule.max_shrink_share == Fraction(1, 5)
        assert rule.future_tolerance_hours == 24
        assert rule.setting("max_shrink_share") == "defaults.max_shrink_share"


def test_a_table_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "gate.yml"
    path.write_text(
        "version: 1\n"
        "defaults: {freshness_hours: 48}\n"
        "tables:\n"
        "  rooms: {max_shrink_share: 0.05, updated_at_column: modified}\n"
        "  tenants:\n"
        "  m_media: {freshness_hours: null, max_shrink_share: null}\n"
    )
    config = load_config(path)
    rooms, tenants, media = (
        config.tables["rooms"],
        config.tables["tenants"],
        config.tables["m_media"],
    )
    assert (rooms.freshness_hours, rooms.max_shrink_share) == (48, Fraction(1, 20))
    assert rooms.updated_at_column == "modified"
    assert rooms.setting("max_shrink_share") == "tables.rooms.max_shrink_share"
    assert rooms.setting("freshness_hours") == "defaults.freshness_hours"
    assert (tenants.freshness_hours, tenants.max_shrink_share) == (48, Fraction(1, 5))
    assert media.freshness_hours is None and media.max_shrink_share is None
    # a table no rule names (e.g. one only the manifest lists) gets the defaults
    other = config.rule_for("inquiries")
    assert (other.updated_at_column, other.freshness_hours) == ("updated_at", 48)


BAD_DOCUMENTS = [
    (
        "version: 1\ntables: {rooms: {freshness_hour: 36}}\n",
        "tables.rooms.freshness_hour",
        "unknown key",
    ),
    ("version: 1\ntables: {}\nextra: 1\n", "setting extra", "unknown key"),
    ("version: 1\ndefaults: {max_shrink: 0.1}\ntables: {}\n", "defaults.max_shrink", "unknown"),
    (
        "version: 1\ntables: {rooms: {max_shrink_share: -0.1}}\n",
        "tables.rooms.max_shrink_share",
        "from 0 to 1",
    ),
    ("version: 1\ntables: {rooms: {max_shrink_share: 1.5}}\n", "max_shrink_share", "from 0 to 1"),
    ("version: 1\ntables: {rooms: {max_shrink_share: '0.2'}}\n", "max_shrink_share", "'0.2'"),
    ("version: 1\ntables: {rooms: {max_shrink_share: .nan}}\n", "max_shrink_share", "nan"),
    ("version: 1\ntables: {rooms: {freshness_hours: 0}}\n", "freshness_hours", "greater than 0"),
    ("version: 1\ntables: {rooms: {freshness_hours: .inf}}\n", "freshness_hours", "inf"),
    ("version: 1\ntables: {rooms: {freshness_hours: yes}}\n", "freshness_hours", "True"),
    ("version: 1\ntables: {rooms: {freshness_hours: 1e9}}\n", "freshness_hours", "at most"),
    (
        "version: 1\ntables: {rooms: {future_tolerance_hours: -1}}\n",
        "future_tolerance_hours",
        "at least 0",
    ),
    (
        "version: 1\ntables: {rooms: {future_tolerance_hours: null}}\n",
        "future_tolerance_hours",
        "None",
    ),
    (
        "version: 1\ntables: {rooms: {updated_at_column: 'x`; DROP'}}\n",
        "updated_at_column",
        "column name",
    ),
    ("version: 1\ntables: {'rooms; DROP TABLE x': {}}\n", "tables.rooms; DROP", "table name"),
    ("version: 1\ntables: {rooms: [1, 2]}\n", "setting tables.rooms", "must be a mapping"),
    ("version: 1\ntables: [rooms]\n", "setting tables", "must be a mapping"),
    ("tables: {}\n", "setting version", "must be 1"),
    ("version: true\ntables: {}\n", "setting version", "must be 1"),
    ("version: 2\ntables: {}\n", "setting version", "must be 1"),
    ("- rooms\n", "quality gate config", "must be a mapping"),
    (
        "version: 1\ntables:\n  rooms: {}\n  rooms: {freshness_hours: 1}\n",
        "found the key 'rooms' twice",
        "not valid YAML",
    ),
    (
        "version: 1\ntables: {rooms: {freshness_hours: 1, freshness_hours: 2}}\n",
        "'freshness_hours' twice",
        "line 2",
    ),
    ("version: 1\ntables: {rooms: {freshness_hours: [}\n", "not valid YAML", "line"),
]


@pytest.mark.parametrize(("text", "names", "says"), BAD_DOCUMENTS)
def test_a_bad_setting_is_refused_naming_the_file_and_the_setting(
    tmp_path: Path, text: str, names: str, says: str
) -> None:
    path = tmp_path / "quality_gate.yml"
    path.write_text(text)
    with pytest.raises(QualityConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and names in message and says in message


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(QualityConfigError) as caught:
        parse_config(
            {"version": 1, "tables": {"rooms": {"freshness_hours": -1, "max_shrink_share": 2}}},
            "f.yml",
        )
    assert "tables.rooms.freshness_hours" in str(caught.value)
    assert "tables.rooms.max_shrink_share" in str(caught.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(QualityConfigError, match=r"missing\.yml: cannot read it"):
        load_config(tmp_path / "missing.yml")
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00version: 1")
    with pytest.raises(QualityConfigError, match=r"binary\.yml"):
        load_config(binary)


def _is_valid(key: str, value: object) -> bool:
    if key == "updated_at_column":
        return (
            isinstance(value, str)
            and 0 < len(value) <= 64
            and all(ch.isascii() and (ch.isalnum() or ch in "_$") for ch in value)
        )
    if value is None:
        return key in ("freshness_hours", "max_shrink_share")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if (isinstance(value, int) and abs(value) > 10**300) or not math.isfinite(value):
        return False
    if key == "max_shrink_share":
        return 0 <= value <= 1
    if key == "freshness_hours":
        return 0 < value <= 87_600
    return 0 <= value <= 87_600


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.integers(min_value=10**308, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
keys = st.sampled_from(
    ["updated_at_column", "freshness_hours", "future_tolerance_hours", "max_shrink_share"]
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(key=keys, value=values, where=st.sampled_from(["defaults", "tables.rooms"]))
def test_generated_values_are_accepted_exactly_when_valid_and_never_coerced(
    key: str, value: object, where: str
) -> None:
    section = {key: value}
    document: dict[str, object] = {"version": 1, "tables": {"rooms": {}}}
    if where == "defaults":
        document["defaults"] = section
    else:
        document["tables"] = {"rooms": section}
    # through YAML too, as the operator writes it
    text = yaml.safe_dump(document, allow_unicode=True)
    for source in (document, yaml.safe_load(text)):
        if _is_valid(key, value):
            rule = parse_config(source, "gen.yml").tables["rooms"]
            got = getattr(rule, key)
            if key == "max_shrink_share" and value is not None:
                assert got == Fraction(str(value))
            else:
                assert got == value
            assert rule.setting(key) == f"{where}.{key}"
        else:
            with pytest.raises(QualityConfigError) as caught:
                parse_config(source, "gen.yml")
            assert f"setting {where}.{key}:" in str(caught.value)
            assert "gen.yml" in str(caught.value)
