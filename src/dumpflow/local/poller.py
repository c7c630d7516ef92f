"""The SQS event source mapping of Lambda, played locally against moto's queue.

A batch is received, handed to the function as the ``Records`` event Lambda builds, and
deleted afterwards, except what failed: with ``ReportBatchItemFailures`` only the listed
messages stay, otherwise a raised error keeps the whole batch. Kept messages become visible
again when their visibility timeout passes (``expire_visibility`` plays that time passing)
and moto moves them to the DLQ once ``maxReceiveCount`` is exceeded, as SQS does.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from dumpflow.local.moto_stack import LocalStack, QueueSource

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    """One receive-and-invoke round."""

    received: int = 0
    deleted: int = 0
    failed_ids: list[str] = field(default_factory=list)
    error: str | None = None


def lambda_sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda puts it into the ``Records`` of the event."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller:
    """Feeds one queue to its function, batch by batch, like the event source mapping."""

    def __init__(self, stack: LocalStack, source: QueueSource) -> None:
        self.stack = stack
        self.source = source
        self.sqs = stack.client("sqs")
        self.queue_url = stack.queue_url(source.queue_arn)
        self.invisible: list[str] = []

    def poll_once(self) -> PollResult:
        """Receive one batch (if any), invoke the function, delete what succeeded."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        result = PollResult(received=len(messages))
        if not messages:
            return result
        records = [
            lambda_sqs_record(m, self.source.queue_arn, self.stack.endpoint.region)
            for m in messages
        ]
        failed = self._invoke(records, result)
        for message in messages:
            if message["MessageId"] in failed:
                self.invisible.append(message["ReceiptHandle"])
                continue
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            result.deleted += 1
        result.failed_ids = sorted(failed)
        return result

    def _invoke(self, records: list[dict[str, Any]], result: PollResult) -> set[str]:
        """The ids Lambda would leave on the queue after this invocation."""
        all_ids = {r["messageId"] for r in records}
        try:
            response = self.source.function.invoke({"Records": records})
        except Exception as exc:
            log.warning(
                "%s raised on a batch of %d: %s", self.source.function.logical_id, len(records), exc
            )
            result.error = f"{type(exc).__name__}: {exc}"
            return all_ids
        if not self.source.report_batch_item_failures or not isinstance(response, dict):
            return set()
        failures = response.get("batchItemFailures") or []
        failed = {str(item.get("itemIdentifier") or "") for item in failures}
        if failed - all_ids:
            log.warning(
                "batchItemFailures names unknown ids %s: whole batch fails", failed - all_ids
            )
            return all_ids
        return failed

    def expire_visibility(self) -> int:
        """Let the visibility timeout of the messages kept by failures pass now."""
        expired = 0
        for handle in self.invisible:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
                expired += 1
            except self.sqs.exceptions.ClientError as exc:
                log.debug("receipt handle no longer valid: %s", exc)
        self.invisible.clear()
        return expired
