"""Starting the dbt Fargate task and asking ECS about it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dumpflow.config import Settings
from dumpflow.control.errors import RetryLater, StartRejected
from dumpflow.control.state import DumpState

_RETRYABLE = frozenset({"ThrottlingException", "ServerException", "LimitExceededException"})


class EcsBusy(RetryLater):
    """ECS could not place the task now (throttled, capacity): retry later."""


class EcsStartRejected(StartRejected):
    """ECS refused the task for good (bad task definition, network settings)."""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    task_arn: str
    last_status: str
    exit_code: int | None
    reason: str

    @property
    def succeeded(self) -> bool:
        return self.last_status == "STOPPED" and self.exit_code == 0


def started_by(state: DumpState) -> str:
    """The task's ``startedBy`` (36 characters at most): the attempt's token, which adoption
    and the STOPPED event match on, so a late event of an earlier attempt is never taken."""
    if state.run_token:
        return f"dumpflow-{state.run_token[:27]}"
    return f"dumpflow-{state.dump_date:%Y%m%d}"


def task_family(task_definition: str) -> str:
    """``family`` out of ``family``, ``family:3`` or a task definition ARN."""
    return task_definition.rsplit("/", 1)[-1].split(":", 1)[0]


def task_environment(state: DumpState) -> list[dict[str, str]]:
    return [
        {"name": "DUMP_KEY", "value": state.key},
        {"name": "DUMP_DATE", "value": state.dump_date.isoformat()},
        {"name": "DBT_SOURCE_SCHEMA", "value": state.target_schema},
        {"name": "DBT_BACKFILL", "value": "1" if state.backfill else "0"},
    ]


def outcome_of(task: dict[str, Any], container: str) -> TaskOutcome:
    """Exit code and reason of our container in a described (or event) task."""
    ours: dict[str, Any] = next(
        (c for c in task.get("containers", []) if c.get("name") == container), {}
    )
    reasons = [task.get("stoppedReason"), ours.get("reason")]
    return TaskOutcome(
        task_arn=task["taskArn"],
        last_status=task.get("lastStatus", ""),
        exit_code=ours.get("exitCode"),
        reason="; ".join(r for r in reasons if r),
    )


class DbtTask:
    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def start(self, state: DumpState) -> str:
        s = self.settings
        try:
            response = self.client.run_task(
                cluster=s.ecs_cluster,
                taskDefinition=s.task_definition,
                launchType="FARGATE",
                count=1,
                startedBy=started_by(state),
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": list(s.subnets),
                        "securityGroups": list(s.security_groups),
                        "assignPublicIp": "DISABLED",
                    }
                },
                overrides={
                    "containerOverrides": [
                        {"name": s.task_container, "environment": task_environment(state)}
                    ]
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _RETRYABLE:
                raise EcsBusy(f"ECS {code}: {exc}") from exc
            raise EcsStartRejected(f"ECS {code}: {exc}") from exc
        tasks = response.get("tasks") or []
        if not tasks:
            failures = "; ".join(
                f"{f.get('reason', '?')} {f.get('detail', '')}".strip()
                for f in response.get("failures", [])
            )
            raise EcsBusy(f"ECS placed no task: {failures or 'no reason given'}")
        return str(tasks[0]["taskArn"])

    def describe(self, task_arn: str) -> TaskOutcome | None:
        response = self.client.describe_tasks(cluster=self.settings.ecs_cluster, tasks=[task_arn])
        tasks = response.get("tasks") or []
        return outcome_of(tasks[0], self.settings.task_container) if tasks else None

    def stop(self, task_arn: str, reason: str) -> None:
        """Stop a task past its time limit (ECS keeps at most 255 characters of reason)."""
        self.client.stop_task(cluster=self.settings.ecs_cluster, task=task_arn, reason=reason[:255])

    def find_task(self, state: DumpState, since: dt.datetime) -> str | None:
        """The task started under this attempt's token (recovering a lost start)."""
        arns: list[str] = []
        for desired in ("RUNNING", "STOPPED"):
            response = self.client.list_tasks(
                cluster=self.settings.ecs_cluster,
                startedBy=started_by(state),
                desiredStatus=desired,
            )
            arns.extend(response.get("taskArns", []))
        if not arns:
            return None
        if state.run_token:
            return arns[0]  # startedBy carries this start's token: it is that start's task
        described = self.client.describe_tasks(cluster=self.settings.ecs_cluster, tasks=arns)
        for task in described.get("tasks", []):
            created = task.get("createdAt")
            if created is None or created >= since:
                return str(task["taskArn"])
        return None
