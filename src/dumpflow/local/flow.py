"""Drives the local stack until nothing is left to do: the passage of time in the demo.

One round moves S3 events onto the bus, lets each queue's poller invoke its function, runs the
Glue job runs and ECS tasks the handlers started. When a round does nothing but messages are
still held invisible by failures, their visibility timeout is let pass, so SQS's own retry and
DLQ redrive happen as they would over the following minutes.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dumpflow.local.ecs_runner import EcsRunner
from dumpflow.local.event_bus import EventBus
from dumpflow.local.glue_runner import GlueRunner
from dumpflow.local.moto_stack import LocalStack
from dumpflow.local.poller import PollResult, QueuePoller

log = logging.getLogger(__name__)


class FlowDidNotSettle(RuntimeError):
    """Work kept arriving for more rounds than any scenario needs: a loop between parts."""


@dataclass
class FlowActivity:
    """What a settle call did, for progress display and assertions."""

    s3_events: int = 0
    polls: list[PollResult] = field(default_factory=list)
    glue_runs: int = 0
    ecs_tasks: int = 0
    redeliveries: int = 0


class LocalFlow:
    """The moving parts around the handlers: bus, pollers, Glue runner, ECS runner."""

    def __init__(
        self,
        stack: LocalStack,
        glue_script: Path,
        dbt_entry_point: Path,
        task_environment: dict[str, str] | None = None,
        output: TextIO | None = None,
    ) -> None:
        self.stack = stack
        self.output = output
        self.bus = EventBus(stack)
        self.pollers = [QueuePoller(stack, source) for source in stack.sources]
        self.glue = GlueRunner(stack, self.bus, glue_script)
        self.ecs = EcsRunner(stack, self.bus, dbt_entry_point, task_environment)

    def settle(self, max_rounds: int = 200) -> FlowActivity:
        """Run rounds until one finds nothing to do and no failed message is waiting.

        With ``output`` set, what the functions, the Glue script and dbt print goes there
        (where CloudWatch Logs would have it), not to the terminal.
        """
        with contextlib.ExitStack() as stack:
            if self.output is not None:
                stack.enter_context(contextlib.redirect_stdout(self.output))
                stack.enter_context(contextlib.redirect_stderr(self.output))
            return self._settle(max_rounds)

    def _settle(self, max_rounds: int) -> FlowActivity:
        activity = FlowActivity()
        for _ in range(max_rounds):
            progressed = 0
            delivered = self.bus.drain_s3_events()
            activity.s3_events += delivered
            progressed += delivered
            for poller in self.pollers:
                result = poller.poll_once()
                if result.received:
                    activity.polls.append(result)
                    progressed += result.received
            glue_runs = len(self.glue.run_pending())
            ecs_tasks = len(self.ecs.run_pending())
            activity.glue_runs += glue_runs
            activity.ecs_tasks += ecs_tasks
            progressed += glue_runs + ecs_tasks
            if progressed:
                continue
            expired = sum(poller.expire_visibility() for poller in self.pollers)
            if not expired:
                return activity
            activity.redeliveries += expired
            log.info("visibility timeout passed for %d failed message(s)", expired)
        raise FlowDidNotSettle(f"the local flow was still busy after {max_rounds} rounds")
