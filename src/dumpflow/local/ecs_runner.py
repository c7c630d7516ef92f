"""ECS on Fargate, played locally: run each started dbt task in this process, then announce it.

For every task the control plane started in moto, the container's environment is assembled the
way ECS does (task definition ``environment``, ``secrets`` read from Secrets Manager, then the
run's ``containerOverrides``), the dbt runner's ``main(command)`` runs with it (the image's
entry point gets the task's ``command``, none by default), the task is stopped
in moto and the "ECS Task State Change" (STOPPED, with the container's exit code) goes to the
event bus.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from dumpflow.local.event_bus import EventBus, make_event
from dumpflow.local.moto_server import patched_environ
from dumpflow.local.moto_stack import LocalStack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EcsTaskOutcome:
    """How one task ended."""

    task_arn: str
    started_by: str
    environment: dict[str, str]
    exit_code: int
    reason: str
    seconds: float


def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ecs_task_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"task entry point {path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


def _pairs(items: Any, key: str = "name", value: str = "value") -> dict[str, str]:
    return {str(item[key]): str(item[value]) for item in items or []}


class EcsRunner:
    """Finds started tasks of the template's clusters and executes their container."""

    def __init__(
        self,
        stack: LocalStack,
        bus: EventBus,
        entry_point: Path,
        environment_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.bus = bus
        self.entry_point = entry_point
        self.environment_overrides = dict(environment_overrides or {})
        self.ecs = stack.client("ecs")
        self.secrets = stack.client("secretsmanager")
        self.seen: set[str] = set()
        self.outcomes: list[EcsTaskOutcome] = []
        self.clusters = [
            stack.physical[i].ref for i in stack.resources_of_type("AWS::ECS::Cluster")
        ]

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        for cluster in self.clusters:
            arns = self.ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING").get("taskArns", [])
            fresh = [arn for arn in arns if arn not in self.seen]
            if fresh:
                tasks = self.ecs.describe_tasks(cluster=cluster, tasks=fresh)["tasks"]
                found += [(cluster, task) for task in tasks]
        return found

    def run_pending(self) -> list[EcsTaskOutcome]:
        return [self.execute(cluster, task) for cluster, task in self.pending()]

    def _secret_value(self, value_from: str) -> str:
        """``valueFrom`` is a secret ARN, optionally followed by ``:json-key:stage:version``."""
        parts = value_from.split(":")
        secret_id, json_key = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")
        text = str(self.secrets.get_secret_value(SecretId=secret_id)["SecretString"])
        if not json_key:
            return text
        return str(json.loads(text)[json_key])

    def container_environment(self, task: dict[str, Any]) -> tuple[str, dict[str, str], list[str]]:
        """The essential container's name, environment and command, built as ECS builds them."""
        definition = self.ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
        containers = definition["taskDefinition"]["containerDefinitions"]
        container = next((c for c in containers if c.get("essential", True)), containers[0])
        environment = _pairs(container.get("environment"))
        command = [str(part) for part in container.get("command") or []]
        for secret in container.get("secrets") or []:
            environment[secret["name"]] = self._secret_value(secret["valueFrom"])
        for override in (task.get("overrides") or {}).get("containerOverrides") or []:
            if override.get("name") == container["name"]:
                environment.update(_pairs(override.get("environment")))
                command = [str(part) for part in override.get("command") or command]
        environment.update(self.environment_overrides)
        return str(container["name"]), environment, command

    def execute(self, cluster: str, task: dict[str, Any]) -> EcsTaskOutcome:
        task_arn = task["taskArn"]
        self.seen.add(task_arn)
        container_name, environment, command = self.container_environment(task)
        started_at = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        log.info("ECS task %s started by %s", task_arn.rsplit("/", 1)[-1], task.get("startedBy"))
        exit_code, reason = 0, "Essential container in task exited"
        try:
            with patched_environ(environment):
                main: Callable[[list[str]], Any] = _load_module(self.entry_point).main
                returned = main(command)
            exit_code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception as exc:
            exit_code, reason = 1, f"{type(exc).__name__}: {exc}"
            log.warning("ECS task %s crashed: %s", task_arn, reason, exc_info=True)
        outcome = EcsTaskOutcome(
            task_arn, str(task.get("startedBy", "")), environment, exit_code, reason,
            time.monotonic() - started,
        )  # fmt: skip
        self.ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)
        self.outcomes.append(outcome)
        self.bus.publish(self._stopped_event(cluster, task, container_name, outcome, started_at))
        return outcome

    def _stopped_event(
        self,
        cluster: str,
        task: dict[str, Any],
        container_name: str,
        outcome: EcsTaskOutcome,
        started_at: dt.datetime,
    ) -> dict[str, Any]:
        stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
        container_arn = next(
            (c.get("containerArn") for c in task.get("containers") or [] if c.get("containerArn")),
            task["taskArn"].replace(":task/", ":container/"),
        )
        detail = {
            "clusterArn": task.get("clusterArn", cluster),
            "taskArn": task["taskArn"],
            "taskDefinitionArn": task["taskDefinitionArn"],
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "launchType": task.get("launchType", "FARGATE"),
            "startedBy": outcome.started_by,
            "group": task.get("group", ""),
            "overrides": task.get("overrides") or {},
            "stopCode": "EssentialContainerExited",
            "stoppedReason": outcome.reason,
            "startedAt": started_at.strftime(stamp),
            "stoppedAt": dt.datetime.now(dt.UTC).strftime(stamp),
            "containers": [
                {
                    "containerArn": container_arn,
                    "name": container_name,
                    "taskArn": task["taskArn"],
                    "lastStatus": "STOPPED",
                    "exitCode": outcome.exit_code,
                }
            ],
            "version": 3,
        }
        return make_event(
            source="aws.ecs",
            detail_type="ECS Task State Change",
            detail=detail,
            region=self.stack.endpoint.region,
            resources=[task["taskArn"]],
        )
