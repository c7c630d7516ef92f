"""Replay messages through the real ingest handler (moto Glue): one dump never runs twice,
whatever crash hits the replay between its send and its delete."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import boto3
import pytest

from dumpflow import config
from dumpflow.control.state import DumpStatus
from dumpflow.handlers.ingest import handler as ingest_handler
from dumpflow.local.functions import LambdaContext
from dumpflow.local.poller import lambda_sqs_record
from dumpflow.ops.backfill import Action, Backfiller
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.replay import Outcome, Replayer
from ops.aws_world import REGION, World

DAY = dt.date(2026, 11, 20)
HOLD_SECONDS = 1


class SimulatedCrash(Exception):
    """Stands for the operator's process dying between the send and the delete."""


def crash_on_delete(**_: object) -> None:
    raise SimulatedCrash("killed before DeleteMessage")


@pytest.fixture()
def ingest_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The ingest function's environment: small test dumps pass, no manifests needed."""
    monkeypatch.setenv(config.ENV_MIN_DUMP_BYTES, "1")
    monkeypatch.setenv(config.ENV_REQUIRE_MANIFEST, "0")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "dumpflow-test")
    return world


def replayer(world: World) -> Replayer:
    s = world.settings
    dlq = DeadLetterQueue(world.sqs, s.dlq_url, s.key_pattern, hold_seconds=HOLD_SECONDS)
    return Replayer(world.store, dlq, world.sqs, s.queue_url)


def deliver_queue(world: World) -> list[dict[str, Any]]:
    """What Lambda's event source mapping does: one batch of the queue into the handler."""
    url = world.settings.queue_url
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    got = world.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    if not got:
        return []
    records = [lambda_sqs_record(dict(m), arn, REGION) for m in got]
    context = LambdaContext(
        function_name="dumpflow-ingest",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:dumpflow-ingest",
        memory_limit_in_mb=256,
        timeout_seconds=60,
    )
    response = ingest_handler({"Records": records}, context)
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for m in got:
        if m["MessageId"] not in failed:
            world.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return records


def glue_runs(world: World) -> list[dict[str, Any]]:
    glue = boto3.client("glue", region_name=REGION)
    return list(glue.get_job_runs(JobName=world.settings.glue_job)["JobRuns"])


def failed_dump_in_dlq(world: World) -> str:
    ref = world.put_dump(DAY)
    world.record(ref, DumpStatus.FAILED)
    world.dead_letter(ref)
    return ref.key


def crash_during_replay(world: World) -> None:
    world.sqs.meta.events.register("before-call.sqs.DeleteMessage", crash_on_delete)
    try:
        with pytest.raises(SimulatedCrash):
            replayer(world).run(None)
    finally:
        world.sqs.meta.events.unregister("before-call.sqs.DeleteMessage", crash_on_delete)
    time.sleep(HOLD_SECONDS + 0.2)


def test_replaying_again_after_a_crash_still_runs_the_dump_once(ingest_world: World) -> None:
    world = ingest_world
    key = failed_dump_in_dlq(world)
    crash_during_replay(world)
    assert world.depth(world.settings.dlq_url) == 1

    second = replayer(world).run(None)
    assert [i.outcome for i in second.items] == [Outcome.SENT]
    assert world.depth(world.settings.dlq_url) == 0
    assert world.depth(world.settings.queue_url) == 2

    delivered = deliver_queue(world)
    assert len(delivered) == 2
    runs = glue_runs(world)
    assert len(runs) == 1
    assert runs[0]["Arguments"]["--dump_key"] == key
    state = world.store.get(key)
    assert state is not None and state.status == DumpStatus.LOADING and state.mode == "replay"


def test_after_a_crash_and_a_started_run_a_second_replay_is_refused(ingest_world: World) -> None:
    world = ingest_world
    key = failed_dump_in_dlq(world)
    crash_during_replay(world)
    deliver_queue(world)
    assert len(glue_runs(world)) == 1

    again = replayer(world).run(None)
    (item,) = again.items
    assert item.outcome == Outcome.REFUSED and "LOADING" in item.reason
    assert world.depth(world.settings.dlq_url) == 1
    assert deliver_queue(world) == []
    assert len(glue_runs(world)) == 1
    state = world.store.get(key)
    assert state is not None and state.status == DumpStatus.LOADING


def test_a_stale_replay_loads_into_the_backfill_schema(ingest_world: World) -> None:
    world = ingest_world
    key = failed_dump_in_dlq(world)
    world.record(world.put_dump(DAY + dt.timedelta(days=1)), DumpStatus.SUCCEEDED)
    world.store.advance_watermark(DAY + dt.timedelta(days=1))

    (item,) = replayer(world).run(None).items
    assert item.outcome == Outcome.SENT and item.mode == "backfill"
    deliver_queue(world)
    (run,) = glue_runs(world)
    assert run["Arguments"]["--target_schema"] == world.settings.backfill_schema
    assert run["Arguments"]["--dump_key"] == key
    state = world.store.get(key)
    assert state is not None and state.backfill and state.status == DumpStatus.LOADING
    assert world.store.watermark() == DAY + dt.timedelta(days=1)


def test_a_backfill_of_an_expired_dump_loads_its_archived_copy(
    ingest_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ingest_world
    monkeypatch.setenv(config.ENV_REQUIRE_MANIFEST, "1")
    original = world.put_dump(DAY)
    world.record(original, DumpStatus.SUCCEEDED)
    world.store.advance_watermark(DAY)
    world.s3.delete_object(Bucket=world.settings.bucket, Key=original.key)
    world.put_dump(DAY, archived=True)

    backfiller = Backfiller(world.store, world.s3, world.sqs, world.settings, force=True)
    result = backfiller.run(backfiller.plan(DAY, DAY))
    assert [item.action for item in result.items] == [Action.ENQUEUED]
    deliver_queue(world)

    (run,) = glue_runs(world)
    assert run["Arguments"]["--dump_key"] == f"processed/{original.name}"
    assert run["Arguments"]["--target_schema"] == world.settings.backfill_schema
    state = world.store.get(original.key)
    assert state is not None and state.status == DumpStatus.LOADING
    assert state.source_key == f"processed/{original.name}"
