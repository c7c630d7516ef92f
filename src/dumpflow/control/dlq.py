"""Failure messages to the dead-letter queue: what failed, where, with which run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dumpflow.control.messages import failure_body, key_tag
from dumpflow.control.state import DumpState

MESSAGE_GROUP = "dumps"


class FailureQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def send(
        self, state: DumpState, *, stage: str, status: str, message: str, at: dt.datetime
    ) -> None:
        """Send the dump's body plus the failure; one message per dump, attempt and stage."""
        body = failure_body(
            state.ref,
            stage=stage,
            status=status,
            message=message,
            at=at,
            glue_run_id=state.glue_run_id if stage == "load" else None,
            ecs_task_arn=state.ecs_task_arn if stage == "transform" else None,
            source_key=state.source_key,
            version_id=state.version_id,
        )
        tag = f"failure-{state.dump_date:%Y%m%d}-{state.attempts}-{stage}-{key_tag(state.key)}"
        self._put(body, tag)

    def forward(self, body: str, *, message_id: str) -> None:
        """Put a queue message on the DLQ as it is, as SQS's redrive would (replay reads it
        the same way); one letter per message, however often this is repeated."""
        self._put(body, f"forwarded-{message_id}"[:128])

    def _put(self, body: str, deduplication_id: str) -> None:
        kwargs: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": body}
        if self.queue_url.endswith(".fifo"):
            kwargs["MessageGroupId"] = MESSAGE_GROUP
            kwargs["MessageDeduplicationId"] = deduplication_id
        self.sqs.send_message(**kwargs)
