"""Fixtures shared by every test package: real MariaDB and MySQL servers, unique schema names.

``db_server`` runs a test once per engine: MariaDB 10.11 (the local default) and MySQL
(the production engine family; ``scripts/mysql-server`` provides it). A missing server is a
failure, never a skip: CI (``.ci/run``) starts both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from db_servers import DbServer
from dumpflow.db import Dsn
from dumpflow.local.mariadb import mariadb_server
from dumpflow.local.mysql import MYSQL_DSN_ENV, mysql_server
from mariadb_schemas import drop_schemas_containing

ENGINES = ("mariadb", "mysql")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options must be registered by a conftest pytest loads first: this one, whether it runs
    ``tests/`` or one file under it."""
    parser.addoption(
        "--deep",
        action="store_true",
        default=False,
        help="explore many more fault-explorer seeds (tests/control/test_fault_explorer.py)",
    )


@pytest.fixture(scope="session")
def mariadb_dsn() -> Iterator[Dsn]:
    """The MariaDB of ``$DUMPFLOW_DSN`` (default 127.0.0.1:3306), or a throw-away one."""
    with mariadb_server() as dsn:
        os.environ["DUMPFLOW_DSN"] = DbServer("mariadb", dsn).url
        yield dsn


@pytest.fixture(scope="session")
def mysql_dsn() -> Iterator[Dsn]:
    """The MySQL of ``$DUMPFLOW_MYSQL_DSN`` (default 127.0.0.1:3307), started when needed."""
    with mysql_server() as dsn:
        os.environ[MYSQL_DSN_ENV] = DbServer("mysql", dsn).url
        yield dsn


@pytest.fixture(scope="module", params=ENGINES)
def db_server(request: pytest.FixtureRequest) -> DbServer:
    """Each real engine in turn (tests using it run once on MariaDB and once on MySQL).

    Module scope: pytest then runs a module's tests engine by engine, so a module fixture
    built on one engine (a whole warehouse scenario, say) is built once per engine."""
    engine = str(request.param)
    dsn = request.getfixturevalue(f"{engine}_dsn")
    return DbServer(engine, dsn)


def _factory(dsn: Dsn) -> Iterator[Callable[[str], str]]:
    created: list[str] = []

    def make(stem: str = "t") -> str:
        name = f"{stem}_{uuid.uuid4().hex[:10]}"
        created.append(name)
        return name

    yield make
    for name in created:
        drop_schemas_containing(dsn, name)


@pytest.fixture()
def schema_factory(mariadb_dsn: Dsn) -> Iterator[Callable[[str], str]]:
    """Creates uniquely named MariaDB schemas (parallel runs never collide), dropped after."""
    yield from _factory(mariadb_dsn)


@pytest.fixture()
def server_schema_factory(db_server: DbServer) -> Iterator[Callable[[str], str]]:
    """Unique schema names on ``db_server``'s engine, dropped after."""
    yield from _factory(db_server.dsn)
