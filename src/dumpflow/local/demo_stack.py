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
from dumpflow.local.demo_account import demo_account
from dumpflow.local.flow import LocalFlow
from dumpflow.local.mariadb import mariadb_server
from dumpflow.local.moto_server import MotoEndpoint, moto_server, patched_environ
from dumpflow.local.moto_stack import LocalStack, StackOptions, deploy_stack
from dumpflow.local.mysql import mysql_server
from dumpflow.local.template import ACCOUNT_ID, load_template
from dumpflow.local.warehouse import reset_schemas

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
    engine: str = "mariadb"

    @property
    def engine_label(self) -> str:
        return "MySQL" if self.engine == "mysql" else "MariaDB"

    @property
    def dbt_target(self) -> str:
        """The dbt profile target of the engine (dbt_task/profiles.yml, contract 2)."""
        return "local_mysql" if self.engine == "mysql" else "local"

    def missing_files(self) -> list[str]:
        """What the demo needs from the checkout and cannot find (empty when all is there)."""
        needed = (self.template, self.glue_script, self.dbt_entry_point)
        return [str(path) for path in needed if not path.exists()]

    def warehouse_schemas(self) -> list[str]:
        """Every schema this run writes: the loader's (with its shadow, rollback and retired
        copies) and dbt's."""
        loaded = [
            f"{self.schema(base)}{copy}"
            for base in ("staging", "staging_backfill")
            for copy in ("", "__shadow", "__previous", "__retired")
        ]
        return loaded + [self.schema(base) for base in ("silver", "gold", "seeds")]

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
        "DatabaseTls": "preferred",
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
    """Start the database (or use the configured one), moto and the stack; stop them after.

    The run starts from empty warehouse schemas, as it starts from an empty moto: the sample
    dates are relative to today, and a warehouse holding a newer snapshot from an earlier run
    would refuse day 1 (dbt refuses a date older than its newest snapshot)."""
    server = mysql_server(dsn) if layout.engine == "mysql" else mariadb_server(dsn)
    with server as database, moto_server(layout.region) as endpoint:
        dropped = reset_schemas(database, layout.warehouse_schemas())
        account = demo_account(database, layout.warehouse_schemas())
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
                    dsn=account,
                    parameters=parameters,
                    environment_overrides=overrides,
                ),
                endpoint,
            )
            task_environment = {
                "DBT_TARGET": layout.dbt_target,
                "DBT_SCHEMA_SUFFIX": layout.schema_suffix,
            }
            flow = LocalFlow(
                stack,
                layout.glue_script,
                layout.dbt_entry_point,
                task_environment=task_environment,
                output=output,
            )
            environment = stack.function_environment()
            differences = [
                f"{config.ENV_MIN_DUMP_BYTES}={layout.min_dump_bytes} (production "
                "default 10 MiB): the demo's small dumps would be REJECTED otherwise",
                f"dbt task runs with DBT_TARGET={layout.dbt_target} and the loader with "
                f"DatabaseTls=preferred (no certificate check against the local "
                f"{layout.engine_label}) instead of prod: Aurora MySQL over TLS verified "
                "against the RDS CA bundle",
                "X-Ray tracing off (POWERTOOLS_TRACE_DISABLED): no daemon locally",
                f"the database secret names the account {account.user} (ALL on this run's "
                "schemas only) instead of the dumpflow account of docs/deploy.md",
            ]
            if dropped:
                differences.append(
                    "started from empty warehouse schemas (dropped what an earlier run left: "
                    + ", ".join(dropped)
                    + ")"
                )
            with patched_environ(environment):
                yield DemoRuntime(
                    layout=layout,
                    dsn=database,
                    endpoint=endpoint,
                    stack=stack,
                    flow=flow,
                    settings=Settings.from_env(environment),
                    local_differences=differences,
                )


def _declared_parameters(template: Path) -> list[str]:
    return list((load_template(template).get("Parameters") or {}).keys())
