"""Everything the demo runs on, up and wired: MariaDB, moto, the template's stack, the flow.

The stack gets the parameters a deploy would get (database endpoint, image, subnets, ...)
with local values; the few settings that differ from production are listed in
``DemoRuntime.local_differences`` so the demo can say what it changed and why.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dumpflow import config
from dumpflow.config import Settings
from dumpflow.db import DSN_ENV, Dsn
from dumpflow.local.flow import LocalFlow
from dumpflow.local.mariadb import mariadb_server
from dumpflow.local.moto_server import MotoEndpoint, moto_server, patched_environ
from dumpflow.local.moto_stack import LocalStack, StackOptions, deploy_stack
from dumpflow.local.template import ACCOUNT_ID, load_template

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
DEMO_MIN_DUMP_BYTES = 1024


@dataclass(frozen=True)
class DemoLayout:
    """Where the deployable pieces live and how this run names and isolates its data."""

    repo_root: Path = REPO_ROOT
    stack_name: str = "dumpflow-demo"
    region: str = "ap-northeast-1"
    schema_suffix: str = ""
    min_dump_bytes: int = DEMO_MIN_DUMP_BYTES

    @property
    def template(self) -> Path:
        return self.repo_root / "template.yaml"

    @property
    def glue_script(self) -> Path:
        return self.repo_root / "glue" / "load_dump_job.py"

    @property
    def dbt_entry_point(self) -> Path:
        return self.repo_root / "dbt_task" / "runner.py"

    def schema(self, base: str) -> str:
        """A schema name of this run (``staging``, or ``staging_<suffix>`` when isolated)."""
        return f"{base}{self.schema_suffix}"


@dataclass
class DemoRuntime:
    """The running demo: database, AWS endpoint, deployed stack, and the flow driving it."""

    layout: DemoLayout
    dsn: Dsn
    endpoint: MotoEndpoint
    stack: LocalStack
    flow: LocalFlow
    settings: Settings
    local_differences: list[str] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        return self.settings.bucket


def _stack_parameters(layout: DemoLayout, dsn: Dsn) -> dict[str, str]:
    """Values for the parameters a real deploy passes (samconfig / SSM), pointing at local."""
    return {
        "DbtImageUri": (f"{ACCOUNT_ID}.dkr.ecr.{layout.region}.amazonaws.com/dumpflow-dbt:local"),
        "AuroraEndpoint": dsn.host,
        "AuroraPort": str(dsn.port),
        "ArtifactBucketName": f"{layout.stack_name}-artifacts",
        "LoaderPackageKey": "dumpflow/loader.zip",
        "AlarmEmail": "operator@localhost",
        "MinDumpBytes": str(layout.min_dump_bytes),
        "TargetSchema": layout.schema("staging"),
        "BackfillSchema": layout.schema("staging_backfill"),
    }


def _dsn_url(dsn: Dsn) -> str:
    password = f":{dsn.password}" if dsn.password else ""
    return f"mysql://{dsn.user}{password}@{dsn.host}:{dsn.port}"


@contextlib.contextmanager
def demo_runtime(
    layout: DemoLayout, dsn: Dsn | None = None, output: TextIO | None = None
) -> Iterator[DemoRuntime]:
    """Start MariaDB (or use the configured one), moto and the stack; stop them after."""
    with mariadb_server(dsn) as database, moto_server(layout.region) as endpoint:
        declared = set(_declared_parameters(layout.template))
        parameters = {k: v for k, v in _stack_parameters(layout, database).items() if k in declared}
        overrides = {
            config.ENV_MIN_DUMP_BYTES: str(layout.min_dump_bytes),
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        with patched_environ({**endpoint.environment(), DSN_ENV: _dsn_url(database)}):
            stack = deploy_stack(
                StackOptions(
                    template_path=layout.template,
                    stack_name=layout.stack_name,
                    dsn=database,
                    parameters=parameters,
                    environment_overrides=overrides,
                ),
                endpoint,
            )
            task_environment = {"DBT_TARGET": "local", "DBT_SCHEMA_SUFFIX": layout.schema_suffix}
            flow = LocalFlow(
                stack,
                layout.glue_script,
                layout.dbt_entry_point,
                task_environment=task_environment,
                output=output,
            )
            environment = stack.function_environment()
            with patched_environ(environment):
                yield DemoRuntime(
                    layout=layout,
                    dsn=database,
                    endpoint=endpoint,
                    stack=stack,
                    flow=flow,
                    settings=Settings.from_env(environment),
                    local_differences=[
                        f"{config.ENV_MIN_DUMP_BYTES}={layout.min_dump_bytes} (production "
                        "default 10 MiB): the demo's small dumps would be REJECTED otherwise",
                        "dbt task runs with DBT_TARGET=local (type mariadb) instead of prod "
                        "(type mysql, Aurora)",
                        "X-Ray tracing off (POWERTOOLS_TRACE_DISABLED): no daemon locally",
                    ],
                )


def _declared_parameters(template: Path) -> list[str]:
    return list((load_template(template).get("Parameters") or {}).keys())
