"""The stack's two FIFO queues as the operator commands see them: depths, and proof that the
queue replay drains really is the DLQ of the queue it sends to.

Replay deletes what it reads. Pointed at the main queue (a pasted URL, a wrong variable) it
would take pending dumps for failures "already resolved" and delete them, so before reading
anything it checks the main queue's redrive policy: its ``deadLetterTargetArn`` must be the
ARN of the queue about to be drained.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dumpflow import config
from dumpflow.ops.dlq import QueueDepth
from dumpflow.ops.errors import OpsError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class NotTheDeadLetterQueue(OpsError):
    """The queue to drain is not the main queue's dead-letter queue: nothing was read."""


def queue_depth(sqs: SQSClient, url: str) -> QueueDepth:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return QueueDepth(
        visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    )


def _attributes(sqs: SQSClient, url: str, *names: str) -> dict[str, str]:
    response: Any = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))  # type: ignore[arg-type]
    return {str(k): str(v) for k, v in response.get("Attributes", {}).items()}


def verify_dead_letter_queue(sqs: SQSClient, queue_url: str, dlq_url: str) -> None:
    """Raise NotTheDeadLetterQueue unless ``dlq_url`` is ``queue_url``'s redrive target."""
    where = f"{config.ENV_DLQ_URL} / the stack's DlqUrl"
    if dlq_url.rstrip("/") == queue_url.rstrip("/"):
        raise NotTheDeadLetterQueue(
            f"the DLQ URL {dlq_url} is the main queue itself: replay refuses to drain it "
            f"(check {where})"
        )
    dlq_arn = _attributes(sqs, dlq_url, "QueueArn").get("QueueArn", "")
    raw_policy = _attributes(sqs, queue_url, "RedrivePolicy").get("RedrivePolicy")
    if not raw_policy:
        raise NotTheDeadLetterQueue(
            f"the main queue {queue_url} has no redrive policy, so {dlq_url} cannot be shown "
            "to be its DLQ: replay refuses to drain it"
        )
    try:
        target = str(json.loads(raw_policy).get("deadLetterTargetArn", ""))
    except (ValueError, AttributeError) as exc:
        raise NotTheDeadLetterQueue(
            f"the main queue's redrive policy is not JSON ({raw_policy!r})"
        ) from exc
    if not dlq_arn or target != dlq_arn:
        raise NotTheDeadLetterQueue(
            f"{dlq_url} ({dlq_arn or 'no ARN'}) is not the DLQ of {queue_url} (its redrive "
            f"target is {target or 'unset'}): replay refuses to drain it (check {where})"
        )
