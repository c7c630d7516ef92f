"""EventBridge events from Glue and ECS, reduced to the fields the flow uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BadEvent(ValueError):
    """An event without the fields its detail-type promises."""


@dataclass(frozen=True, slots=True)
class GlueRunEvent:
    job_name: str
    run_id: str
    state: str
    message: str


@dataclass(frozen=True, slots=True)
class TaskStoppedEvent:
    task_arn: str
    task_definition_arn: str
    last_status: str
    started_by: str
    detail: dict[str, Any]


def _detail(event: Any, detail_type: str) -> dict[str, Any]:
    if not isinstance(event, dict) or event.get("detail-type") != detail_type:
        got = event.get("detail-type") if isinstance(event, dict) else type(event).__name__
        raise BadEvent(f"expected a {detail_type!r} event, got {got!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadEvent(f"{detail_type} event without a detail object")
    return detail


def _field(detail: dict[str, Any], name: str, what: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not value:
        raise BadEvent(f"{what} event without {name!r}")
    return value


def parse_glue_event(event: Any) -> GlueRunEvent:
    detail = _detail(event, "Glue Job State Change")
    return GlueRunEvent(
        job_name=_field(detail, "jobName", "Glue"),
        run_id=_field(detail, "jobRunId", "Glue"),
        state=_field(detail, "state", "Glue"),
        message=str(detail.get("message") or ""),
    )


def parse_task_event(event: Any) -> TaskStoppedEvent:
    detail = _detail(event, "ECS Task State Change")
    return TaskStoppedEvent(
        task_arn=_field(detail, "taskArn", "ECS"),
        task_definition_arn=_field(detail, "taskDefinitionArn", "ECS"),
        last_status=_field(detail, "lastStatus", "ECS"),
        started_by=str(detail.get("startedBy") or ""),
        detail=detail,
    )
