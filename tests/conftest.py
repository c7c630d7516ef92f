"""Fixtures shared by every test package: a real MariaDB server and unique schema names."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from dumpflow.db import Dsn
from dumpflow.local.mariadb import mariadb_server
from mariadb_schemas import drop_schemas_containing


@pytest.fixture(scope="session")
def mariadb_dsn() -> Iterator[Dsn]:
    """The MariaDB of ``$DUMPFLOW_DSN`` (default 127.0.0.1:3306), or a throw-away one."""
    with mariadb_server() as dsn:
        os.environ["DUMPFLOW_DSN"] = (
            f"mysql://{dsn.user}{':' + dsn.password if dsn.password else ''}@{dsn.host}:{dsn.port}"
        )
        yield dsn


@pytest.fixture()
def schema_factory(mariadb_dsn: Dsn) -> Iterator[object]:
    """Creates uniquely named schemas (so parallel runs never collide) and drops them after."""
    created: list[str] = []

    def make(stem: str = "t") -> str:
        name = f"{stem}_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return name

    yield make
    for name in created:
        drop_schemas_containing(mariadb_dsn, name)
