"""EventBridge "ECS Task State Change" (STOPPED) -> end the transform stage of its dump."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dumpflow.control.completion import Completions
from dumpflow.control.errors import RetryLater
from dumpflow.control.events import BadEvent
from dumpflow.handlers.runtime import control_context, control_logs_through, powertools

logger, tracer, metrics = powertools("dumpflow-ecs-state")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    metrics.add_metric(name="TaskEvents", unit="Count", value=1)
    try:
        with control_logs_through(logger):
            outcome = Completions(control_context(metrics)).on_task_event(event)
    except BadEvent as exc:
        metrics.add_metric(name="BadEvents", unit="Count", value=1)
        logger.error("dropping ECS event: %s", exc, extra={"stage": "transform", "event": event})
        return {"outcome": "bad-event"}
    except RetryLater as exc:
        logger.warning("a start was refused for now (%s); the event will be retried", exc)
        raise
    logger.info("ECS event: %s", outcome)
    return {"outcome": str(outcome)}
