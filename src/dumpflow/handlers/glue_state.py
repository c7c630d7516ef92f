"""EventBridge "Glue Job State Change" -> end the load stage of the dump that run belongs to."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dumpflow.control.completion import Completions
from dumpflow.control.errors import RetryLater
from dumpflow.control.events import BadEvent
from dumpflow.handlers.runtime import control_context, control_logs_through, powertools

logger, tracer, metrics = powertools("dumpflow-glue-state")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    metrics.add_metric(name="GlueEvents", unit="Count", value=1)
    try:
        with control_logs_through(logger):
            outcome = Completions(control_context(metrics)).on_glue_event(event)
    except BadEvent as exc:
        metrics.add_metric(name="BadEvents", unit="Count", value=1)
        logger.error("dropping Glue event: %s", exc, extra={"stage": "load", "event": event})
        return {"outcome": "bad-event"}
    except RetryLater as exc:
        logger.warning("a start was refused for now (%s); the event will be retried", exc)
        raise
    logger.info("Glue event: %s", outcome)
    return {"outcome": str(outcome)}
