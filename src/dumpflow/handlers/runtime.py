"""What every handler shares: Powertools logger/tracer/metrics and the control context.

The control package logs through the standard ``logging`` module; during an invocation its
loggers write through the handler's Powertools logger, so their lines are JSON with the same
keys (request id, message id, dump_key, dump_date). Settings and AWS clients are made per
invocation, from the environment of that moment.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from dumpflow.config import Settings
from dumpflow.control.context import ControlContext
from dumpflow.control.telemetry import PowertoolsTelemetry

METRICS_NAMESPACE = "dumpflow"


def powertools(service: str) -> tuple[Logger, Tracer, Metrics]:
    """Logger, tracer and metrics of one function (env POWERTOOLS_* settings win)."""
    name = os.environ.get("POWERTOOLS_SERVICE_NAME") or service
    logger = Logger(service=name)
    tracer = Tracer(service=name)
    metrics = Metrics(
        service=name,
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE,
    )
    return logger, tracer, metrics


def control_context(metrics: Metrics) -> ControlContext:
    return ControlContext.build(Settings.from_env(), PowertoolsTelemetry(metrics))


@contextlib.contextmanager
def control_logs_through(logger: Logger) -> Iterator[None]:
    """Route the ``dumpflow`` loggers through ``logger`` for one invocation, then restore them."""
    package = logging.getLogger("dumpflow")
    saved = (list(package.handlers), package.propagate, package.level)
    copy_config_to_registered_loggers(source_logger=logger, include={"dumpflow"})
    try:
        yield
    finally:
        package.handlers = saved[0]
        package.propagate = saved[1]
        package.setLevel(saved[2])
