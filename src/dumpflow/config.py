"""Runtime settings shared by the Lambdas, the CLI and the local stack, read from the environment.

The environment variable names are the contract between template.yaml (which sets them on
every function), the operator CLI (which resolves them from stack outputs) and the local
demo stack. Keep them in one place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
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
ENV_DAILY_STARTS_PER_BACKFILL = "DUMPFLOW_DAILY_STARTS_PER_BACKFILL"

MIB = 1024 * 1024


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingError(ValueError):
    """A setting's value is unusable: names the setting, the value and what it must be."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r}: {expected}")
        self.name = name
        self.value = value


def _bool(e: Mapping[str, str], name: str, default: bool) -> bool:
    raw = e.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in _TRUE + _FALSE:
        return raw.strip().lower() in _TRUE
    raise SettingError(name, raw, f"must be one of {', '.join(_TRUE + _FALSE)}")


def _int(e: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """A whole number of at least ``minimum``: ``10MiB`` or ``1e6`` is refused, not guessed."""
    raw = e.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,18}", text) or int(text) < minimum:
        raise SettingError(name, raw, f"must be a whole number >= {minimum} (plain digits)")
    return int(text)


def _key_pattern(e: Mapping[str, str], default: str) -> str:
    raw = e.get(ENV_KEY_PATTERN) or default
    try:
        compiled = re.compile(raw)
    except re.error as exc:
        raise SettingError(ENV_KEY_PATTERN, raw, f"is not a regular expression ({exc})") from exc
    if "date" not in compiled.groupindex:
        raise SettingError(ENV_KEY_PATTERN, raw, "needs the named group (?P<date>...)")
    return raw


def _schema(e: Mapping[str, str], name: str, default: str) -> str:
    raw = e.get(name) or default
    if not re.fullmatch(r"[A-Za-z0-9_$]{1,64}", raw):
        raise SettingError(name, raw, "must be a schema name (letters, digits, _ and $)")
    return raw


def _prefix(e: Mapping[str, str], default: str) -> str:
    raw = e.get(ENV_DUMP_PREFIX) or default
    if not raw.endswith("/") or raw.startswith("/") or any(c.isspace() for c in raw):
        raise SettingError(ENV_DUMP_PREFIX, raw, "must be a key prefix ending in / (dumps/)")
    return raw


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
    # While backfill dates wait, a daily dump goes first, but one backfill date runs after
    # this many daily starts (so a long backfill still moves on busy days).
    daily_starts_per_backfill: int = 4

    @property
    def lease_seconds(self) -> int:
        """A run holding the lease longer than this was lost: Glue timeout + dbt limit."""
        return (self.glue_timeout_minutes + self.dbt_timeout_minutes) * 60

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Raises SettingError for a value that cannot be used (never a silent default)."""
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
            dump_prefix=_prefix(e, d.dump_prefix),
            key_pattern=_key_pattern(e, d.key_pattern),
            min_dump_bytes=_int(e, ENV_MIN_DUMP_BYTES, d.min_dump_bytes, 1),
            require_manifest=_bool(e, ENV_REQUIRE_MANIFEST, d.require_manifest),
            manifest_wait_seconds=_int(e, ENV_MANIFEST_WAIT_SECONDS, d.manifest_wait_seconds, 0),
            target_schema=_schema(e, ENV_TARGET_SCHEMA, d.target_schema),
            backfill_schema=_schema(e, ENV_BACKFILL_SCHEMA, d.backfill_schema),
            glue_timeout_minutes=_int(e, ENV_GLUE_TIMEOUT_MINUTES, d.glue_timeout_minutes, 1),
            dbt_timeout_minutes=_int(e, ENV_DBT_TIMEOUT_MINUTES, d.dbt_timeout_minutes, 1),
            daily_starts_per_backfill=_int(
                e, ENV_DAILY_STARTS_PER_BACKFILL, d.daily_starts_per_backfill, 1
            ),
        )
