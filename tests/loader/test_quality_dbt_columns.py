"""The columns dbt reads: extracted from the dbt sources file, shipped as JSON, kept in sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dumpflow.loader.quality.dbt_columns import (
    DBT_COLUMNS_PATH,
    SOURCES_RELATIVE,
    DbtColumnsError,
    extract_dbt_columns,
    load_dbt_columns,
    main,
    render_dbt_columns,
)

ROOT = Path(__file__).resolve().parents[2]

#: The shape of the warehouse's sources file: columns listed per table, tests, descriptions,
#: Jinja only in the schema, an ``identifier`` where the model name differs from the table.
SOURCES = """
version: 2
sources:
  - name: gghouse
    schema: "{{ var('source_schema', 'staging' ~ env_var('DBT_SCHEMA_SUFFIX', '')) }}"
    loaded_at_field: updated_at
    freshness:
      warn_after: {count: 36, period: hour}
    tables:
      - name: rooms
        description: Rooms.
        columns:
          - name: id
            tests: [unique, not_null]
          - name: apartment_id
            tests:
              - relationships: {to: "source('gghouse', 'apartments')", field: id}
          - name: rent
            data_type: int
          - name: updated_at
            data_type: datetime
      - name: contracts
        identifier: movings
        tests:
          - partial_dates: {columns: [movein_date], key: id}
        columns:
          - name: id
          - name: movein_date
      - name: inquiries
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "_sources.yml"
    path.write_text(text)
    return path


def test_columns_come_from_the_sources_file_with_declared_types(tmp_path: Path) -> None:
    assert extract_dbt_columns(write(tmp_path, SOURCES)) == {
        "rooms": {"id": None, "apartment_id": None, "rent": "int", "updated_at": "datetime"},
        "movings": {"id": None, "movein_date": None},
        "inquiries": {},
    }


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("version: 2\n", "expected a mapping with a 'sources' list"),
        ("sources: [{tables: [{name: rooms}, {name: rooms}]}]\n", "listed twice"),
        (
            "sources: [{tables: [{name: rooms, columns: [{name: id}, {name: ID}]}]}]\n",
            "rooms.ID is listed twice",
        ),
        ("sources: [{tables: [{name: '{{ var(\"t\") }}'}]}]\n", "Jinja expression"),
        ("sources: [{tables: [{columns: [{name: id}]}]}]\n", "expected a non-empty name"),
        ("sources: [{tables: [{name: rooms, columns: [id]}]}]\n", "columns[0]: expected a mapping"),
        (
            "sources: [{tables: [{name: rooms, columns: [{name: id, data_type: 3}]}]}]\n",
            "data_type",
        ),
        ("sources: [{tables: {name: rooms\n", "cannot read the dbt sources"),
    ],
)
def test_a_sources_file_the_gate_cannot_use_is_refused_with_where(
    tmp_path: Path, text: str, says: str
) -> None:
    with pytest.raises(DbtColumnsError) as caught:
        extract_dbt_columns(write(tmp_path, text))
    assert says in str(caught.value) and "_sources.yml" in str(caught.value)


def test_the_shipped_list_round_trips(tmp_path: Path) -> None:
    columns = extract_dbt_columns(write(tmp_path, SOURCES))
    out = tmp_path / "dbt_columns.json"
    out.write_text(render_dbt_columns(columns))
    assert load_dbt_columns(out) == columns
    assert list(json.loads(out.read_text())["tables"]["rooms"]) == [
        "id",
        "apartment_id",
        "rent",
        "updated_at",
    ]  # the sources' order
    out.write_text('{"tables": ["rooms"]}')
    with pytest.raises(DbtColumnsError, match=r"dbt_columns\.json"):
        load_dbt_columns(out)


def test_the_shipped_list_is_in_sync_with_the_dbt_projects_sources() -> None:
    """Fails when _sources.yml changed: run `python -m dumpflow.loader.quality dbt-columns`."""
    sources = ROOT / SOURCES_RELATIVE
    assert load_dbt_columns() == extract_dbt_columns(sources)
    assert DBT_COLUMNS_PATH.read_text(encoding="utf-8") == render_dbt_columns(
        extract_dbt_columns(sources)
    )


def test_the_regeneration_command_checks_and_rewrites(tmp_path: Path) -> None:
    sources = write(tmp_path, SOURCES)
    out = tmp_path / "dbt_columns.json"
    args = ["--sources", str(sources), "--out", str(out)]
    assert main([*args, "--check"]) == 1 and not out.exists()
    assert main(args) == 0 and load_dbt_columns(out)["movings"] == {"id": None, "movein_date": None}
    assert main([*args, "--check"]) == 0
    command = [sys.executable, "-m", "dumpflow.loader.quality", "dbt-columns", *args, "--check"]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    sources.write_text(SOURCES.replace("- name: movein_date", "- name: moveout_date"))
    stale = subprocess.run(command, capture_output=True, text=True, check=False)
    assert stale.returncode == 1 and "out of date" in stale.stderr
