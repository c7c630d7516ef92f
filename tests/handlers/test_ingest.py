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
from dumpflow.control.state import DumpStatus
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


def s3_slows_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every manifest read answers SlowDown (S3 throttling): a transient failure."""

    def slow_down(self: ManifestLookup, ref: object) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce rate"}}, "GetObject")

    monkeypatch.setattr(ManifestLookup, "fetch", slow_down)


def test_a_transient_failure_retries_that_record_and_the_ones_after_it(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_slows_down(monkeypatch)
    first, second = deployed.put_dump(deployed.day(-2)), deployed.put_dump(deployed.day(-1))
    event = sqs_event("{not json", deployed.body(first), deployed.body(second))
    response = ingest.handler(event, LambdaContext())
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [r["messageId"] for r in event["Records"][1:]]
    assert deployed.state(first).status is DumpStatus.RECEIVED  # the sweeper re-evaluates it
    assert deployed.store.get(second.key) is None
    assert deployed.dlq_messages() == []


def test_a_batch_that_failed_entirely_fails_the_invocation(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_slows_down(monkeypatch)
    ref = deployed.put_dump(deployed.day(-1))
    with pytest.raises(BatchProcessingError, match="All records failed"):
        ingest.handler(sqs_event(deployed.body(ref)), LambdaContext())
    assert deployed.state(ref).status is DumpStatus.RECEIVED


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
