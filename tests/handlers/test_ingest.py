"""The ingest Lambda: SQS FIFO batches with partial batch responses."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError

from control.aws_world import LambdaContext, World, emitted_metrics, sqs_event
from dumpflow.control.manifest import ManifestLookup
from dumpflow.control.state import DumpState, DumpStatus, StateStore
from dumpflow.dumps import DumpRef
from dumpflow.handlers import ingest


@pytest.fixture()
def ingest_log() -> Iterator[io.StringIO]:
    """The JSON lines the ingest function's Powertools logger writes."""
    stream = io.StringIO()
    previous = ingest.logger.registered_handler.setStream(stream)
    yield stream
    ingest.logger.registered_handler.setStream(previous)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_dump_message_starts_its_load(
    deployed: World, capsys: pytest.CaptureFixture[str], ingest_log: io.StringIO
) -> None:
    ref = deployed.put_dump(deployed.day(-1))
    response = ingest.handler(sqs_event(deployed.body(ref)), LambdaContext())
    assert response == {"batchItemFailures": []}
    state = deployed.state(ref)
    assert state.status is DumpStatus.LOADING
    assert deployed.runs_for(ref)[0]["Id"] == state.glue_run_id
    out = capsys.readouterr().out
    assert emitted_metrics(out)["DumpsReceived"] == 1
    assert emitted_metrics(out)["LoadsStarted"] == 1
    lines = json_lines(ingest_log)
    about_the_dump = [line for line in lines if line.get("dump_key") == ref.key]
    assert {line["name"] for line in about_the_dump} >= {
        "dumpflow.control.intake",
        "dumpflow.control.pipeline",
    }
    for line in about_the_dump:
        assert line["dump_date"] == ref.dump_date.isoformat()
        assert line["service"] == "dumpflow-ingest"
        assert line["function_request_id"] == LambdaContext().aws_request_id
        assert line["message_id"] == "00000000-0a8d-4c1b-9a51-2f0d6b3c9e41"


def test_bad_records_are_dropped_without_blocking_the_batch(
    deployed: World, capsys: pytest.CaptureFixture[str], ingest_log: io.StringIO
) -> None:
    ref = deployed.put_dump(deployed.day(-1))
    event = sqs_event(
        "{this is not json",
        json.dumps({"bucket": deployed.settings.bucket, "etag": "x", "size": "1"}),
        json.dumps(
            {
                "bucket": deployed.settings.bucket,
                "key": "dumps/notes.txt",
                "etag": "x",
                "size": "10",
            }
        ),
        deployed.body(ref),
    )
    response = ingest.handler(event, LambdaContext())
    assert response == {"batchItemFailures": []}
    assert deployed.state(ref).status is DumpStatus.LOADING
    out = capsys.readouterr().out
    dropped = [line for line in json_lines(ingest_log) if "dropping message" in line["message"]]
    assert len(dropped) == 2
    assert "not JSON" in dropped[0]["message"]
    assert "'key' is missing" in dropped[1]["message"]
    assert all(line["level"] == "ERROR" and line["stage"] == "ingest" for line in dropped)
    metrics = emitted_metrics(out)
    assert metrics["BadMessages"] == 2
    assert metrics["IgnoredKeys"] == 1


def s3_slows_down(monkeypatch: pytest.MonkeyPatch, ref: DumpRef) -> None:
    """Every manifest read of ``ref`` answers SlowDown: a message that fails each time."""
    real = ManifestLookup.fetch

    def slow_down(self: ManifestLookup, wanted: DumpRef) -> Any:
        if wanted.key == ref.key:
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce rate"}}, "GetObject"
            )
        return real(self, wanted)

    monkeypatch.setattr(ManifestLookup, "fetch", slow_down)


def cannot_record(monkeypatch: pytest.MonkeyPatch, ref: DumpRef) -> None:
    """DynamoDB refuses the first write of ``ref``'s item, every time (before any record)."""
    real = StateStore.create

    def refuse(self: StateStore, state: DumpState) -> bool:
        if state.key == ref.key:
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "try again"}}, "PutItem"
            )
        return real(self, state)

    monkeypatch.setattr(StateStore, "create", refuse)


def received(event: dict[str, Any], count: int | str | None) -> dict[str, Any]:
    """The batch as SQS hands it over on its ``count``-th receive (None: no such attribute)."""
    for record in event["Records"]:
        if count is None:
            record["attributes"].pop("ApproximateReceiveCount", None)
        else:
            record["attributes"]["ApproximateReceiveCount"] = str(count)
    return event


def test_a_poisoned_message_delays_nothing_behind_it(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: the queue has one message group; a message that fails every time used to
    be retried by SQS (up to 5 x 6 minutes) and held every message after it. Now it is
    acknowledged once its dump is recorded: the older dump behind it starts at once."""
    older, poisoned = deployed.put_dump(deployed.day(-2)), deployed.put_dump(deployed.day(-1))
    s3_slows_down(monkeypatch, poisoned)
    event = sqs_event("{not json", deployed.body(poisoned), deployed.body(older))
    response = ingest.handler(event, LambdaContext())
    assert response == {"batchItemFailures": []}
    assert deployed.state(older).status is DumpStatus.LOADING
    stuck = deployed.state(poisoned)
    assert stuck.status is DumpStatus.RECEIVED  # the sweeper evaluates it again
    assert stuck.last_error is not None and "SlowDown" in stuck.last_error["message"]
    assert deployed.dlq_messages() == []


def test_a_message_that_cannot_be_recorded_is_retried_once_then_parked_on_the_dlq(
    deployed: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before a record exists only SQS can retry: the record and the ones after it fail on
    the first receive (FIFO order); on the second the message goes to the DLQ as it is and
    the rest of the batch goes on, so it holds the queue for one visibility timeout."""
    poisoned, later = deployed.put_dump(deployed.day(-2)), deployed.put_dump(deployed.day(-1))
    cannot_record(monkeypatch, poisoned)
    event = sqs_event(deployed.body(poisoned), deployed.body(later))
    with pytest.raises(BatchProcessingError, match="All records failed"):
        ingest.handler(event, LambdaContext())  # both come back after the visibility timeout
    assert deployed.store.get(later.key) is None
    response = ingest.handler(received(event, 2), LambdaContext())
    assert response == {"batchItemFailures": []}
    assert deployed.store.get(poisoned.key) is None
    assert deployed.state(later).status is DumpStatus.LOADING
    assert [json.dumps(m) for m in deployed.dlq_messages()] == [
        json.dumps(json.loads(deployed.body(poisoned)))
    ]
    assert emitted_metrics(capsys.readouterr().out)["MessagesForwarded"] == 1


def test_a_batch_that_failed_entirely_fails_the_invocation(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = deployed.put_dump(deployed.day(-1))
    cannot_record(monkeypatch, ref)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        ingest.handler(sqs_event(deployed.body(ref)), LambdaContext())
    assert deployed.store.get(ref.key) is None


def test_a_busy_glue_slot_is_waited_on_in_the_table_not_in_the_queue(
    deployed: World, glue_runs_stay_running: None
) -> None:
    """Issue 11 #7: ConcurrentRunsExceeded acknowledges the record (no receive is spent);
    the dump waits as WAITING(glue-busy), first in line."""
    deployed.glue.start_job_run(JobName=deployed.settings.glue_job, Arguments={})
    ref = deployed.put_dump(deployed.day(-1))
    for _ in range(6):
        response = ingest.handler(sqs_event(deployed.body(ref)), LambdaContext())
        assert response == {"batchItemFailures": []}
    state = deployed.state(ref)
    assert (state.status, state.reason) == (DumpStatus.WAITING, "glue-busy")
    assert deployed.dlq_messages() == []


def test_settings_are_read_at_call_time(deployed: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUMPFLOW_MIN_DUMP_BYTES", str(10 * 1024 * 1024))
    ref = deployed.put_dump(deployed.day(-1))
    ingest.handler(sqs_event(deployed.body(ref)), LambdaContext())
    state = deployed.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None and "10485760" in state.reason


def test_a_dump_that_must_wait_is_acknowledged_so_waiting_spends_no_retry(
    deployed: World,
) -> None:
    """WAITING lives in the state table, not in the queue: the record succeeds, every time it
    is delivered, so a long wait never pushes the dump's message towards maxReceiveCount."""
    running, later = deployed.put_dump(deployed.day(-2)), deployed.put_dump(deployed.day(-1))
    ingest.handler(sqs_event(deployed.body(running)), LambdaContext())
    for _ in range(6):
        response = ingest.handler(sqs_event(deployed.body(later)), LambdaContext())
        assert response == {"batchItemFailures": []}
    waiting = deployed.state(later)
    assert (waiting.status, waiting.reason) == (DumpStatus.WAITING, "lease")
    assert deployed.state(running).status is DumpStatus.LOADING
    assert len(deployed.runs_for(later)) == 0
    assert deployed.dlq_messages() == []


# ----- attacks on the partial-batch contract (issue 14) -------------------------------------


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
    poisoned, unrecordable, good = (deployed.put_dump(deployed.day(n)) for n in (-3, -2, -1))
    s3_slows_down(monkeypatch, poisoned)
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
    retry = {"Records": event["Records"][2:]}
    assert ingest.handler(received(retry, "2"), LambdaContext()) == {"batchItemFailures": []}
    assert [m["key"] for m in deployed.dlq_messages()] == [unrecordable.key]
    # the good, newer dump waits behind the older poisoned one (date order)
    assert deployed.state(good).status is DumpStatus.WAITING
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["BadMessages"] == 1 and metrics["MessagesForwarded"] == 1
