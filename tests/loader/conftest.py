"""Fixtures of the loader tests: a source schema with awkward data, and its dump."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from loader.support import PRODUCTION_OPTIONS, build_source, mariadb_dump


@pytest.fixture()
def source_schema(mariadb_dsn: Dsn, schema_factory: Callable[[str], str]) -> str:
    name = schema_factory("ldsrc")
    build_source(mariadb_dsn, name)
    return name


@pytest.fixture()
def production_dump(mariadb_dsn: Dsn, source_schema: str, tmp_path: Path) -> Iterator[Path]:
    """A dump of the source schema in the production option style."""
    path = tmp_path / "gghouse_20261125.sql"
    path.write_bytes(mariadb_dump(mariadb_dsn, source_schema, *PRODUCTION_OPTIONS))
    yield path
