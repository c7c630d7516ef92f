"""The sample events under ``events/`` and the stack they belong to.

Every sample carries the names of samconfig.toml's dev stack (``dumpflow-dev``): its queue and
bucket, Glue job, ECS cluster and task family, and the sweeper's rule. They are the inputs of
``sam local invoke -e`` and of the tests, always used as the files are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dumpflow.control.messages import DumpMessage, parse_message
from dumpflow.dumps import DumpRef, dump_ref

REPO_ROOT = Path(__file__).resolve().parents[3]
EVENTS_DIR = REPO_ROOT / "events"
SAMPLE_STACK_NAME = "dumpflow-dev"
ENV_VARS_NAME = "env.json"  # written next to the samples by make sam-local, not a sample

SQS_DUMP_OBJECT_CREATED = "sqs_dump_object_created.json"
GLUE_JOB_SUCCEEDED = "glue_job_succeeded.json"
GLUE_JOB_FAILED = "glue_job_failed.json"
ECS_TASK_STOPPED_EXIT0 = "ecs_task_stopped_exit0.json"
ECS_TASK_STOPPED_EXIT1 = "ecs_task_stopped_exit1.json"
SWEEPER_SCHEDULE = "sweeper_schedule.json"

# Which function of template.yaml each sample is for.
SAMPLE_FUNCTIONS: dict[str, str] = {
    SQS_DUMP_OBJECT_CREATED: "IngestFunction",
    GLUE_JOB_SUCCEEDED: "GlueStateFunction",
    GLUE_JOB_FAILED: "GlueStateFunction",
    ECS_TASK_STOPPED_EXIT0: "EcsStateFunction",
    ECS_TASK_STOPPED_EXIT1: "EcsStateFunction",
    SWEEPER_SCHEDULE: "SweeperFunction",
}


class SampleMismatch(RuntimeError):
    """The sample files disagree with each other or with the stack they are used against."""


@dataclass(frozen=True)
class SampleEvents:
    """Read access to the sample files and the ids they share."""

    directory: Path = EVENTS_DIR

    def path(self, name: str) -> Path:
        return self.directory / name

    def names(self) -> list[str]:
        """Every sample file in the directory."""
        return sorted(p.name for p in self.directory.glob("*.json") if p.name != ENV_VARS_NAME)

    def load(self, name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path(name).read_text(encoding="utf-8"))
        return loaded

    @property
    def message(self) -> DumpMessage:
        """The queue body of the SQS sample: the dump every other sample is about."""
        return parse_message(self.load(SQS_DUMP_OBJECT_CREATED)["Records"][0]["body"])

    @property
    def dump(self) -> DumpRef:
        message = self.message
        return dump_ref(message.bucket, message.key, message.etag, message.size)

    @property
    def glue_job(self) -> str:
        return str(self._same(GLUE_JOB_SUCCEEDED, GLUE_JOB_FAILED, "jobName"))

    @property
    def glue_run_id(self) -> str:
        """The run both Glue samples report on (the load of the SQS sample's dump)."""
        return str(self._same(GLUE_JOB_SUCCEEDED, GLUE_JOB_FAILED, "jobRunId"))

    @property
    def task_arn(self) -> str:
        """The dbt task both ECS samples report on (the transform of that dump)."""
        return str(self._same(ECS_TASK_STOPPED_EXIT0, ECS_TASK_STOPPED_EXIT1, "taskArn"))

    @property
    def task_id(self) -> str:
        return self.task_arn.rsplit("/", 1)[-1]

    @property
    def cluster_arn(self) -> str:
        return str(self._same(ECS_TASK_STOPPED_EXIT0, ECS_TASK_STOPPED_EXIT1, "clusterArn"))

    @property
    def task_definition_arn(self) -> str:
        return str(self._same(ECS_TASK_STOPPED_EXIT0, ECS_TASK_STOPPED_EXIT1, "taskDefinitionArn"))

    def _same(self, first: str, second: str, field: str) -> Any:
        a, b = (self.load(name)["detail"].get(field) for name in (first, second))
        if a != b or a is None:
            raise SampleMismatch(f"{first} and {second} disagree on {field}: {a!r} vs {b!r}")
        return a
