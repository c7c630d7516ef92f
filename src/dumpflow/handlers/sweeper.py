"""Scheduled sweep: reclaim a silent run's slot, end overdue manifest waits, start the next."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dumpflow.control.sweeper import Sweeper
from dumpflow.handlers.runtime import control_context, control_logs_through, powertools

logger, tracer, metrics = powertools("dumpflow-sweeper")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Sweeps", unit="Count", value=1)
    with control_logs_through(logger):
        report = Sweeper(control_context(metrics)).sweep()
    logger.info("sweep done", extra={"report": dataclasses.asdict(report)})
    return dataclasses.asdict(report)
