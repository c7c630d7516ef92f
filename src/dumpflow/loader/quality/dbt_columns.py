"""The columns the dbt project reads from the dump, taken from its sources file.

``dbt_task/models/staging/_sources.yml`` lists, under each source table, exactly the columns
the staging models select: it is the one list of what the warehouse needs from a dump. The
Glue loader does not ship the dbt project, so the extracted list travels as
``dbt_columns.json`` beside this module; ``python -m dumpflow.loader.quality dbt-columns``
regenerates it and a test fails while the two disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

#: {table: {column: declared data_type or None}}; a table with no columns listed maps to {}.
DbtColumns = Mapping[str, Mapping[str, str | None]]

DBT_COLUMNS_PATH = Path(__file__).with_name("dbt_columns.json")
SOURCES_RELATIVE = Path("dbt_task/models/staging/_sources.yml")
REPO_ROOT = Path(__file__).resolve().parents[4]


class DbtColumnsError(ValueError):
    """The sources file or the shipped column list cannot be read; the message says where."""


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DbtColumnsError(f"{where}: expected a non-empty name, got {value!r}")
    if "{{" in value or "{%" in value:
        raise DbtColumnsError(f"{where}: {value!r} is a Jinja expression the gate cannot resolve")
    return value.strip()


def parse_dbt_sources(document: object, source: str) -> dict[str, dict[str, str | None]]:
    """``{table: {column: data_type or None}}`` of every source table in a dbt sources file.

    The physical table is the entry's ``identifier`` when it has one, else its ``name``.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("sources"), list):
        raise DbtColumnsError(f"{source}: expected a mapping with a 'sources' list")
    found: dict[str, dict[str, str | None]] = {}
    for s_index, entry in enumerate(document["sources"]):
        where = f"{source}: sources[{s_index}]"
        if not isinstance(entry, Mapping):
            raise DbtColumnsError(f"{where}: expected a mapping")
        for t_index, table_entry in enumerate(entry.get("tables") or []):
            t_where = f"{where}.tables[{t_index}]"
            if not isinstance(table_entry, Mapping):
                raise DbtColumnsError(f"{t_where}: expected a mapping")
            table = _text(table_entry.get("identifier") or table_entry.get("name"), t_where)
            if table in found:
                raise DbtColumnsError(f"{t_where}: table {table!r} is listed twice")
            columns: dict[str, str | None] = {}
            for c_index, column_entry in enumerate(table_entry.get("columns") or []):
                c_where = f"{t_where}.columns[{c_index}]"
                if not isinstance(column_entry, Mapping):
                    raise DbtColumnsError(f"{c_where}: expected a mapping")
                name = _text(column_entry.get("name"), c_where)
                if name.lower() in (known.lower() for known in columns):
                    raise DbtColumnsError(f"{c_where}: column {table}.{name} is listed twice")
                declared = column_entry.get("data_type")
                if declared is not None:
                    declared = _text(declared, f"{c_where}.data_type")
                columns[name] = declared
            found[table] = columns
    return found


def extract_dbt_columns(sources_yaml: Path) -> dict[str, dict[str, str | None]]:
    """Read a dbt sources file and extract the columns its models read."""
    try:
        document = yaml.safe_load(sources_yaml.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DbtColumnsError(f"{sources_yaml}: cannot read the dbt sources: {exc}") from exc
    return parse_dbt_sources(document, str(sources_yaml))


def render_dbt_columns(columns: DbtColumns) -> str:
    """The shipped JSON document (stable: sorted tables, columns in the sources' order)."""
    document = {
        "generated_from": SOURCES_RELATIVE.as_posix(),
        "regenerate_with": "python -m dumpflow.loader.quality dbt-columns",
        "tables": {table: dict(columns[table]) for table in sorted(columns)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def load_dbt_columns(
    path: Path | Traversable | None = None,
) -> dict[str, dict[str, str | None]]:
    """The shipped column list (what the gate uses at run time, in Glue too: read as a
    package resource, so it is found inside the loader zip)."""
    path = path or resources.files(__package__).joinpath(DBT_COLUMNS_PATH.name)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        tables = document["tables"]
        if not isinstance(tables, dict):
            raise TypeError("'tables' is not an object")
        return {
            str(table): {
                str(col): (None if kind is None else str(kind)) for col, kind in cols.items()
            }
            for table, cols in tables.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DbtColumnsError(f"{path}: cannot read the shipped dbt column list: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate ``dbt_columns.json`` from the sources file (``--check``: only compare)."""
    parser = argparse.ArgumentParser(prog="python -m dumpflow.loader.quality dbt-columns")
    parser.add_argument("--sources", type=Path, default=REPO_ROOT / SOURCES_RELATIVE)
    parser.add_argument("--out", type=Path, default=DBT_COLUMNS_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    rendered = render_dbt_columns(extract_dbt_columns(args.sources))
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if args.check:
        if current != rendered:
            sys.stderr.write(f"{args.out} is out of date with {args.sources}\n")
            return 1
        return 0
    if current != rendered:
        args.out.write_text(rendered, encoding="utf-8")
    return 0
