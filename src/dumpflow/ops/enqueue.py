"""Put a dump back on the FIFO queue as a replay or backfill message (the ingest contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dumpflow.control.messages import key_tag
from dumpflow.dumps import DumpRef

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MESSAGE_GROUP = "dumps"
Mode = Literal["replay", "backfill"]


@dataclass(frozen=True, slots=True)
class Enqueued:
    """What was sent: enough for the summary and for the operator to find it again."""

    key: str
    mode: Mode
    attempt: int
    deduplication_id: str
    message_id: str


def deduplication_id(mode: Mode, dump: DumpRef, attempt: int) -> str:
    """``<mode>-<yyyymmdd>-<attempt>-<key tag>``: a new attempt, or another key of the same
    date, is never swallowed by FIFO dedup (a swallowed send would let replay delete the
    dump's only DLQ letter)."""
    return f"{mode}-{dump.dump_date:%Y%m%d}-{attempt}-{key_tag(dump.key)}"


def message_body(
    dump: DumpRef, *, mode: Mode, attempt: int, force: bool, source_key: str | None = None
) -> dict[str, object]:
    """The event's shape (``size`` a string, as the input transformer sends it) plus the arm.

    ``source_key`` names the archived copy when the object under the dump prefix has expired.
    """
    body: dict[str, object] = {
        "bucket": dump.bucket,
        "key": dump.key,
        "etag": dump.etag,
        "size": str(dump.size),
        "mode": mode,
        "attempt": attempt,
        "force": force,
    }
    if source_key and source_key != dump.key:
        body["source_key"] = source_key
    return body


def enqueue(
    sqs: SQSClient,
    queue_url: str,
    dump: DumpRef,
    *,
    mode: Mode,
    attempt: int,
    force: bool,
    source_key: str | None = None,
) -> Enqueued:
    """Send one armed message; raises on failure so callers never delete a DLQ copy early."""
    dedup = deduplication_id(mode, dump, attempt)
    body = message_body(dump, mode=mode, attempt=attempt, force=force, source_key=source_key)
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps(body),
        MessageGroupId=MESSAGE_GROUP,
        MessageDeduplicationId=dedup,
    )
    return Enqueued(dump.key, mode, attempt, dedup, response["MessageId"])
