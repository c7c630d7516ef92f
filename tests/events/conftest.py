"""The demo's local stack under the dev stack's name: where the sample events belong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dumpflow.db import Dsn
from dumpflow.local.demo_stack import DemoLayout, demo_runtime
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import SAMPLE_STACK_NAME


@pytest.fixture()
def sample_world(mariadb_dsn: Dsn) -> Iterator[SampleWorld]:
    """A fresh stack from template.yaml named ``dumpflow-dev`` (moto; MariaDB is not written:
    no Glue job or dbt task runs here, only the functions)."""
    with demo_runtime(DemoLayout(stack_name=SAMPLE_STACK_NAME), mariadb_dsn) as runtime:
        yield SampleWorld(runtime)
