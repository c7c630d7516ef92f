"""Fixtures for the dbt project: the runner module, an isolated warehouse, sample dumps."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from dumpflow.db import Dsn
from mariadb_schemas import drop_schemas_containing

RUNNER_PATH = Path(__file__).resolve().parents[2] / "dbt_task" / "runner.py"


@pytest.fixture(scope="session")
def runner() -> ModuleType:
    """``dbt_task/runner.py`` imported from its file, as the container runs it."""
    spec = importlib.util.spec_from_file_location("dbt_task_runner", RUNNER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def warehouse_suffix(mariadb_dsn: Dsn) -> Iterator[str]:
    """A DBT_SCHEMA_SUFFIX of our own (staging<s>, silver<s>, gold<s>, seeds<s>), dropped after."""
    suffix = f"_t{uuid.uuid4().hex[:10]}"
    yield suffix
    drop_schemas_containing(mariadb_dsn, suffix)
