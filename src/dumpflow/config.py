"""Runtime settings shared by the Lambdas, the CLI and the local stack, read from the environment.

The environment variable names are the contract between template.yaml (which sets them on
every function), the operator CLI (which resolves them from stack outputs) and the local
demo stack. Keep them in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dumpflow.dumps import DEFAULT_DUMP_PREFIX, DEFAULT_KEY_PATTERN

ENV_TABLE = "DUMPFLOW_TABLE"
ENV_BUCKET = "DUMPFLOW_BUCKET"
ENV_QUEUE_URL = "DUMPFLOW_QUEUE_URL"
ENV_DLQ_URL = "DUMPFLOW_DLQ_URL"
ENV_GLUE_JOB = "DUMPFLOW_GLUE_JOB"
ENV_ECS_CLUSTER = "DUMPFLOW_ECS_CLUSTER"
ENV_TASK_DEFINITION = "DUMPFLOW_TASK_DEFINITION"
ENV_TASK_CONTAINER = "DUMPFLOW_TASK_CONTAINER"
ENV_SUBNETS = "DUMPFLOW_SUBNETS"
ENV_SECURITY_GROUPS = "DUMPFLOW_SECURITY_GROUPS"
ENV_DUMP_PREFIX = "DUMPFLOW_DUMP_PREFIX"
ENV_KEY_PATTERN = "DUMPFLOW_KEY_PATTERN"
ENV_MIN_DUMP_BYTES = "DUMPFLOW_MIN_DUMP_BYTES"
ENV_REQUIRE_MANIFEST = "DUMPFLOW_REQUIRE_MANIFEST"
ENV_MANIFEST_WAIT_SECONDS = "DUMPFLOW_MANIFEST_WAIT_SECONDS"
ENV_TARGET_SCHEMA = "DUMPFLOW_TARGET_SCHEMA"
ENV_BACKFILL_SCHEMA = "DUMPFLOW_BACKFILL_SCHEMA"
ENV_GLUE_TIMEOUT_MINUTES = "DUMPFLOW_GLUE_TIMEOUT_MINUTES"
ENV_DBT_TIMEOUT_MINUTES = "DUMPFLOW_DBT_TIMEOUT_MINUTES"

MIB = 1024 * 1024


def _bool(raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the control plane needs to know about its deployment."""

    table: str = "dumpflow-state"
    bucket: str = ""
    queue_url: str = ""
    dlq_url: str = ""
    glue_job: str = "dumpflow-load-dump"
    ecs_cluster: str = "dumpflow"
    task_definition: str = "dumpflow-dbt"
    task_container: str = "dbt"
    subnets: tuple[str, ...] = field(default_factory=tuple)
    security_groups: tuple[str, ...] = field(default_factory=tuple)
    dump_prefix: str = DEFAULT_DUMP_PREFIX
    key_pattern: str = DEFAULT_KEY_PATTERN
    min_dump_bytes: int = 10 * MIB
    require_manifest: bool = True
    manifest_wait_seconds: int = 3600
    target_schema: str = "staging"
    backfill_schema: str = "staging_backfill"
    glue_timeout_minutes: int = 120
    dbt_timeout_minutes: int = 60

    @property
    def lease_seconds(self) -> int:
        """A run holding the lease longer than this was lost: Glue timeout + dbt limit."""
        return (self.glue_timeout_minutes + self.dbt_timeout_minutes) * 60

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        d = cls()
        return cls(
            table=e.get(ENV_TABLE, d.table),
            bucket=e.get(ENV_BUCKET, d.bucket),
            queue_url=e.get(ENV_QUEUE_URL, d.queue_url),
            dlq_url=e.get(ENV_DLQ_URL, d.dlq_url),
            glue_job=e.get(ENV_GLUE_JOB, d.glue_job),
            ecs_cluster=e.get(ENV_ECS_CLUSTER, d.ecs_cluster),
            task_definition=e.get(ENV_TASK_DEFINITION, d.task_definition),
            task_container=e.get(ENV_TASK_CONTAINER, d.task_container),
            subnets=_list(e.get(ENV_SUBNETS)),
            security_groups=_list(e.get(ENV_SECURITY_GROUPS)),
            dump_prefix=e.get(ENV_DUMP_PREFIX, d.dump_prefix),
            key_pattern=e.get(ENV_KEY_PATTERN, d.key_pattern),
            min_dump_bytes=int(e.get(ENV_MIN_DUMP_BYTES, d.min_dump_bytes)),
            require_manifest=_bool(e.get(ENV_REQUIRE_MANIFEST), d.require_manifest),
            manifest_wait_seconds=int(e.get(ENV_MANIFEST_WAIT_SECONDS, d.manifest_wait_seconds)),
            target_schema=e.get(ENV_TARGET_SCHEMA, d.target_schema),
            backfill_schema=e.get(ENV_BACKFILL_SCHEMA, d.backfill_schema),
            glue_timeout_minutes=int(e.get(ENV_GLUE_TIMEOUT_MINUTES, d.glue_timeout_minutes)),
            dbt_timeout_minutes=int(e.get(ENV_DBT_TIMEOUT_MINUTES, d.dbt_timeout_minutes)),
        )
