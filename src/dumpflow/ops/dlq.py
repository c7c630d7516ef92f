"""Reading and removing dead-letter messages without losing any.

A FIFO queue hands out at most the in-flight batch of a message group until those messages
are deleted or become visible again, so the DLQ is read in rounds: messages are held in
flight (a visibility timeout) while the operator's command decides, released when they are
left alone, and deleted only by the caller once their replacement is safely on the queue.
A crash at any point simply lets the held messages reappear after the timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dumpflow.control.messages import KeyKind, classify_key
from dumpflow.dumps import DEFAULT_KEY_PATTERN, DumpRef, NotADumpKey, dump_ref

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

RECEIVE_BATCH = 10
DEFAULT_HOLD_SECONDS = 300


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One DLQ message: the dump it names (when readable) and the failure it carries."""

    message_id: str
    receipt_handle: str
    body: str
    dump: DumpRef | None
    failure: dict[str, Any] | None
    previous_attempt: int | None
    receive_count: int
    problem: str | None = None
    manifest_key: str | None = None

    @property
    def key(self) -> str | None:
        return self.dump.key if self.dump else self.manifest_key

    @property
    def source_key(self) -> str | None:
        """The archived copy the failed run read (a backfill of an expired dump), if any."""
        value = (self.failure or {}).get("source_key")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class QueueDepth:
    visible: int
    in_flight: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight


def parse_dead_letter(
    message: dict[str, Any], key_pattern: str = DEFAULT_KEY_PATTERN
) -> DeadLetter:
    """Accept both control-plane failure messages and bodies SQS redrove unchanged."""
    body = str(message.get("Body", ""))
    attributes = message.get("Attributes", {})
    base: dict[str, Any] = {
        "message_id": message["MessageId"],
        "receipt_handle": message["ReceiptHandle"],
        "body": body,
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
    }
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as exc:
        return DeadLetter(
            **base,
            dump=None,
            failure=None,
            previous_attempt=None,
            problem=f"body is not JSON ({exc.msg})",
        )
    if not isinstance(payload, dict):
        return DeadLetter(
            **base,
            dump=None,
            failure=None,
            previous_attempt=None,
            problem="body is not a JSON object",
        )
    failure = payload.get("failure") if isinstance(payload.get("failure"), dict) else None
    attempt = payload.get("attempt")
    previous = attempt if isinstance(attempt, int) else None
    missing = [f for f in ("bucket", "key", "size") if f not in payload]
    etag = payload.get("etag", payload.get("eTag"))
    if missing or etag is None:
        fields = ", ".join(missing + ([] if etag is not None else ["etag"]))
        return DeadLetter(
            **base,
            dump=None,
            failure=failure,
            previous_attempt=previous,
            problem=f"body lacks {fields}",
        )
    if isinstance(payload.get("key"), str) and classify_key(payload["key"], key_pattern) is (
        KeyKind.MANIFEST
    ):
        # a manifest's own event that SQS redrove after maxReceiveCount: replay sends it again
        return DeadLetter(
            **base,
            dump=None,
            failure=failure,
            previous_attempt=previous,
            manifest_key=payload["key"],
        )
    try:
        dump = dump_ref(payload["bucket"], payload["key"], str(etag), payload["size"], key_pattern)
    except (NotADumpKey, ValueError) as exc:
        return DeadLetter(
            **base, dump=None, failure=failure, previous_attempt=previous, problem=str(exc)
        )
    return DeadLetter(**base, dump=dump, failure=failure, previous_attempt=previous)


class DeadLetterQueue:
    """The DLQ seen through receive/hold/release/delete; never deletes on its own."""

    def __init__(
        self,
        sqs: SQSClient,
        url: str,
        key_pattern: str = DEFAULT_KEY_PATTERN,
        hold_seconds: int = DEFAULT_HOLD_SECONDS,
    ) -> None:
        self.sqs = sqs
        self.url = url
        self.key_pattern = key_pattern
        self.hold_seconds = hold_seconds

    def depth(self) -> QueueDepth:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return QueueDepth(
            visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        )

    def receive(self) -> list[DeadLetter]:
        """Everything receivable now, held in flight; stops when a round brings nothing new."""
        held: dict[str, DeadLetter] = {}
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=RECEIVE_BATCH,
                VisibilityTimeout=self.hold_seconds,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            fresh = [
                parse_dead_letter(dict(m), self.key_pattern)
                for m in response.get("Messages", [])
                if m["MessageId"] not in held
            ]
            if not fresh:
                return list(held.values())
            held.update((letter.message_id, letter) for letter in fresh)

    def release(self, letters: list[DeadLetter]) -> None:
        """Make held messages visible again at once (left for a later run)."""
        for letter in letters:
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
            )

    def delete(self, letter: DeadLetter) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=letter.receipt_handle)
