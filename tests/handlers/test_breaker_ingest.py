"""Attacks on the ingest function's partial-batch contract (issue 14): a recorded dump's
record is never listed, bad bodies are dropped and counted, an unrecordable one is retried
once and then put on the DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from control.aws_world import LambdaContext, World, emitted_metrics, sqs_event
from dumpflow.control.state import DumpState, DumpStatus, StateStore
from dumpflow.dumps import DumpRef
from dumpflow.handlers import ingest


def received(event: dict[str, Any], count: str | None) -> dict[str, Any]:
    for record in event["Records"]:
        if count is None:
            record["attributes"].pop("ApproximateReceiveCount", None)
        else:
            record["attributes"]["ApproximateReceiveCount"] = count
    return event


def duplicate_count_refused(monkeypatch: pytest.MonkeyPatch, ref: DumpRef) -> None:
    """DynamoDB throttles the write that counts one more delivery of ``ref``."""
    real = StateStore.count_duplicate

    def refuse(self: StateStore, key: str, **kwargs: Any) -> DumpState | None:
        if key == ref.key:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "PutItem",
            )
        return real(self, key, **kwargs)

    monkeypatch.setattr(StateStore, "count_duplicate", refuse)


def test_a_duplicate_of_a_recorded_dump_is_acknowledged_when_counting_it_fails(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise 1: once the dump's item exists its message is always acknowledged, whatever
    DynamoDB write fails afterwards. A duplicate delivery (EventBridge delivers at least
    once) finds the item, then Intake._duplicate's count_duplicate write fails: the record
    is listed (it holds the single message group for a visibility timeout), and on its
    second receive it is put on the DLQ as if it could not be recorded."""
    ref = deployed.put_dump(deployed.day(-1))
    assert ingest.handler(sqs_event(deployed.body(ref)), LambdaContext()) == {
        "batchItemFailures": []
    }
    assert deployed.state(ref).status is DumpStatus.LOADING
    duplicate_count_refused(monkeypatch, ref)
    event = sqs_event(deployed.body(ref))
    try:
        response = ingest.handler(event, LambdaContext())
    except BatchProcessingError as exc:
        pytest.fail(f"the duplicate of a recorded dump was left to SQS's retry: {exc}")
    assert response == {"batchItemFailures": []}
    ingest.handler(received(event, "2"), LambdaContext())
    assert deployed.dlq_messages() == [], "a recorded, running dump was put on the DLQ"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000, id="nested-too-deep-RecursionError"),
        pytest.param(
            json.dumps(
                {"bucket": "b", "key": "dumps/gghouse_20261101.sql", "etag": "e", "size": 0}
            ).replace("0}", "1e400}"),
            id="size-infinite-OverflowError",
        ),
        pytest.param(
            json.dumps({"source": "aws.s3", "detail": {"bucket": "b", "object": {"key": "k"}}}),
            id="eventbridge-bucket-not-an-object-AttributeError",
        ),
        pytest.param(
            json.dumps({"source": "aws.s3", "detail": {"bucket": {"name": "b"}, "object": [1]}}),
            id="eventbridge-object-a-list-AttributeError",
        ),
    ],
)
def test_an_unparseable_body_is_dropped_and_counted_not_retried_or_forwarded(
    deployed: World, capsys: pytest.CaptureFixture[str], body: str
) -> None:
    """Promise 1: bad (unparseable) messages are dropped and counted (BadMessages, alarmed).
    parse_message lets RecursionError, OverflowError and AttributeError escape as plain
    exceptions, so the handler treats the body as "could not be recorded": it holds the
    queue one visibility timeout, then lands on the DLQ, and BadMessages is never counted."""
    ref = deployed.put_dump(deployed.day(-1))
    event = sqs_event(body, deployed.body(ref))
    try:
        response = ingest.handler(event, LambdaContext())
    except BatchProcessingError as exc:
        pytest.fail(f"a bad body was left to SQS's retry: {exc}")
    assert response == {"batchItemFailures": []}
    assert deployed.state(ref).status is DumpStatus.LOADING
    assert emitted_metrics(capsys.readouterr().out).get("BadMessages") == 1
    assert deployed.dlq_messages() == []


def cannot_record(monkeypatch: pytest.MonkeyPatch, ref: DumpRef) -> None:
    real = StateStore.create

    def refuse(self: StateStore, state: DumpState) -> bool:
        if state.key == ref.key:
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem")
        return real(self, state)

    monkeypatch.setattr(StateStore, "create", refuse)


@pytest.mark.parametrize("count", [None, "", "abc", "-1", "1"])
def test_an_unrecordable_message_with_a_missing_or_garbage_receive_count_is_retried(
    deployed: World, monkeypatch: pytest.MonkeyPatch, count: str | None
) -> None:
    """Regression: an unreadable ApproximateReceiveCount counts as the first receive."""
    ref = deployed.put_dump(deployed.day(-1))
    cannot_record(monkeypatch, ref)
    with pytest.raises(BatchProcessingError):
        ingest.handler(received(sqs_event(deployed.body(ref)), count), LambdaContext())
    assert deployed.dlq_messages() == []


def test_a_batch_of_bad_unrecordable_and_poisoned_records_holds_only_the_unrecordable_one(
    deployed: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: bad first (dropped), a recordable dump whose evaluation is poisoned
    (acknowledged), an unrecordable one (forwarded on its second receive), a good one."""
    from dumpflow.control.manifest import ManifestLookup

    poisoned, unrecordable, good = (deployed.put_dump(deployed.day(n)) for n in (-3, -2, -1))
    real_fetch = ManifestLookup.fetch

    def slow_down(self: ManifestLookup, wanted: DumpRef) -> Any:
        if wanted.key == poisoned.key:
            raise ClientError({"Error": {"Code": "SlowDown"}}, "GetObject")
        return real_fetch(self, wanted)

    monkeypatch.setattr(ManifestLookup, "fetch", slow_down)
    cannot_record(monkeypatch, unrecordable)
    event = sqs_event(
        "{nope", deployed.body(poisoned), deployed.body(unrecordable), deployed.body(good)
    )
    response = ingest.handler(event, LambdaContext())
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        event["Records"][2]["messageId"],
        event["Records"][3]["messageId"],
    ]
    assert deployed.state(poisoned).status is DumpStatus.RECEIVED
    retry = {"Records": [r for r in event["Records"][2:]]}
    assert ingest.handler(received(retry, "2"), LambdaContext()) == {"batchItemFailures": []}
    assert [m["key"] for m in deployed.dlq_messages()] == [unrecordable.key]
    # the good, newer dump waits behind the older poisoned one (date order)
    assert deployed.state(good).status is DumpStatus.WAITING
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["BadMessages"] == 1 and metrics["MessagesForwarded"] == 1
