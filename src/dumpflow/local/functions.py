"""The template's Lambda functions, invoked in this process as the Lambda runtime would.

Each invocation runs the deployed handler (imported from the template's ``Handler``) with the
function's own environment variables and a context object carrying what Powertools reads.
"""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dumpflow.local.moto_server import patched_environ

log = logging.getLogger(__name__)


@dataclass
class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers and Powertools use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class LocalFunction:
    """One function of the template: where its code is and the environment it runs with."""

    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    dead_letter_arn: str | None = None

    def load_handler(self) -> Callable[[dict[str, Any], Any], Any]:
        module_name, _, attribute = self.handler.rpartition(".")
        module = importlib.import_module(module_name)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, attribute)
        return handler

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler once with this function's environment; exceptions propagate."""
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            timeout_seconds=self.timeout_seconds,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        with patched_environ(self.environment):
            handler = self.load_handler()
            log.debug("invoking %s (%s)", self.logical_id, context.aws_request_id)
            return handler(event, context)
