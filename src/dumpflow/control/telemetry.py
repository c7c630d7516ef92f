"""Where the control plane reports counts and durations (Powertools metrics in Lambda)."""

from __future__ import annotations

from typing import Any, Protocol


class Telemetry(Protocol):
    def count(self, name: str, value: int = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...


class PowertoolsTelemetry:
    """Adapter onto an ``aws_lambda_powertools.Metrics`` instance (CloudWatch EMF)."""

    def __init__(self, metrics: Any) -> None:
        self.metrics = metrics

    def count(self, name: str, value: int = 1) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def seconds(self, name: str, value: float) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=value)
