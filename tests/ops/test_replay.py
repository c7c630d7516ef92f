"""Replay from the DLQ: arm, send, then delete; stale dumps as backfills; force; refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from botocore.exceptions import ClientError

from dumpflow.control.messages import failure_body, key_tag
from dumpflow.control.state import DumpStatus
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.errors import DumpStepFailed
from dumpflow.ops.replay import Outcome, Replayer
from ops.aws_world import NOW, World

D1 = dt.date(2026, 11, 20)


def day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def replayer(world: World, *, force: bool = False, hold: int = 120) -> Replayer:
    s = world.settings
    dlq = DeadLetterQueue(world.sqs, s.dlq_url, s.key_pattern, hold_seconds=hold)
    return Replayer(world.store, dlq, world.sqs, s.queue_url, force=force)


def failed_in_dlq(world: World, n: int, message: str = "load failed: table missing") -> str:
    ref = world.put_dump(day(n))
    world.record(ref, DumpStatus.FAILED, error=message)
    world.dead_letter(ref, message=message)
    return ref.key


def test_a_failed_dump_goes_back_to_the_queue_armed_for_its_next_attempt(world: World) -> None:
    key = failed_in_dlq(world, 1, "required table tenants is empty")
    result = replayer(world).run([key])

    (item,) = result.items
    assert item.outcome == Outcome.SENT and item.mode == "replay"
    assert item.last_error == "load: required table tenants is empty"
    (message,) = world.drain(world.settings.queue_url)
    assert message["_dedup"] == f"replay-20261120-2-{key_tag(key)}"
    assert (message["key"], message["mode"], message["attempt"], message["force"]) == (
        key,
        "replay",
        2,
        False,
    )
    assert "failure" not in message
    assert world.depth(world.settings.dlq_url) == 0
    state = world.store.get(key)
    assert state is not None and state.replay_armed_attempt == 2
    assert state.status == DumpStatus.FAILED and state.last_error is not None
    assert state.history[-1]["note"].startswith("replay armed (attempt 2)")
    assert not result.needs_attention


def test_a_dump_not_after_the_watermark_is_replayed_as_a_backfill(world: World) -> None:
    key = failed_in_dlq(world, 1)
    world.record(world.put_dump(day(2)), DumpStatus.SUCCEEDED)
    world.store.advance_watermark(day(2))
    replayer(world).run(None)
    (message,) = world.drain(world.settings.queue_url)
    assert (message["key"], message["mode"]) == (key, "backfill")
    assert message["_dedup"] == f"backfill-20261120-2-{key_tag(key)}"
    assert world.store.watermark() == day(2)


def test_a_letter_of_a_dump_that_succeeded_since_is_resolved_and_deleted(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.dead_letter(ref)

    looked = replayer(world).run(None, dry_run=True)
    assert [i.outcome for i in looked.items] == [Outcome.RESOLVED]
    assert world.depth(world.settings.dlq_url) == 1

    result = replayer(world).run(None)
    (item,) = result.items
    assert item.outcome == Outcome.RESOLVED and "SUCCEEDED at" in item.reason
    assert not result.needs_attention and result.unread == 0
    assert world.drain(world.settings.queue_url) == []
    assert world.depth(world.settings.dlq_url) == 0
    state = world.store.get(ref.key)
    assert state is not None and state.replay_armed_attempt is None


def test_force_reprocesses_a_succeeded_dump_from_its_letter(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.dead_letter(ref)
    forced = replayer(world, force=True).run(None)
    assert [i.outcome for i in forced.items] == [Outcome.SENT]
    (message,) = world.drain(world.settings.queue_url)
    assert message["force"] is True and world.depth(world.settings.dlq_url) == 0


def test_the_failure_of_a_corrected_upload_is_resolved_by_its_success(world: World) -> None:
    corrupt = world.put_dump(day(1), body=b"-- corrupt body\n")
    failed_at = NOW - dt.timedelta(hours=1)
    world.send_dlq(
        failure_body(corrupt, stage="load", status="FAILED", message="sha256", at=failed_at),
        "failure-20261120-1-load",
    )
    good = world.put_dump(day(1))
    assert good.etag != corrupt.etag
    world.record(good, DumpStatus.SUCCEEDED)
    result = replayer(world).run([good.key])
    assert [i.outcome for i in result.items] == [Outcome.RESOLVED]
    assert world.depth(world.settings.dlq_url) == 0


def test_a_redriven_letter_of_other_content_is_not_called_resolved(world: World) -> None:
    other = world.put_dump(day(1), body=b"-- another export\n")
    good = world.put_dump(day(1))
    world.record(good, DumpStatus.SUCCEEDED)
    world.send_dlq(
        json.dumps(
            {"bucket": other.bucket, "key": other.key, "etag": other.etag, "size": str(other.size)}
        ),
        "redriven-other-content",
    )
    result = replayer(world).run(None)
    assert [i.outcome for i in result.items] == [Outcome.NEEDS_FORCE]
    assert result.needs_attention and world.depth(world.settings.dlq_url) == 1


def test_a_dump_still_running_is_refused_and_stays_in_the_dlq(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.LOADING)
    world.dead_letter(ref)
    result = replayer(world).run(None)
    (item,) = result.items
    assert item.outcome == Outcome.REFUSED and "LOADING" in item.reason
    assert world.drain(world.settings.queue_url) == []
    assert world.depth(world.settings.dlq_url) == 1


def test_dry_run_changes_nothing_and_leaves_the_dlq_readable(world: World) -> None:
    key = failed_in_dlq(world, 1)
    result = replayer(world).run(None, dry_run=True)
    assert [(i.key, i.outcome) for i in result.items] == [(key, Outcome.WOULD_SEND)]
    assert world.drain(world.settings.queue_url) == []
    state = world.store.get(key)
    assert state is not None and state.replay_armed_attempt is None
    again = replayer(world).run(None, dry_run=True)
    assert [i.key for i in again.items] == [key]


def test_only_the_selected_dumps_move(world: World) -> None:
    first = failed_in_dlq(world, 1)
    second = failed_in_dlq(world, 2)
    result = replayer(world).run(["gghouse_20261121.sql", "dumps/gghouse_20991231.sql"])
    outcomes = {i.key: i.outcome for i in result.items}
    assert outcomes == {first: Outcome.NOT_SELECTED, second: Outcome.SENT}
    assert result.missing_keys == ["dumps/gghouse_20991231.sql"]
    assert [m["key"] for m in world.drain(world.settings.queue_url)] == [second]
    assert [i.key for i in replayer(world).run(None, dry_run=True).items] == [first]


def test_several_copies_of_one_dump_become_one_message(world: World) -> None:
    key = failed_in_dlq(world, 1)
    ref = world.store.get(key)
    assert ref is not None
    world.send_dlq(
        json.dumps({"bucket": ref.bucket, "key": key, "etag": ref.etag, "size": str(ref.size)}),
        "redriven-copy",
    )
    result = replayer(world).run(None)
    assert [len(i.letters) for i in result.items] == [2]
    assert len(world.drain(world.settings.queue_url)) == 1
    assert world.depth(world.settings.dlq_url) == 0


def test_more_than_one_fifo_batch_is_replayed_round_by_round(world: World) -> None:
    keys = [failed_in_dlq(world, n) for n in range(1, 14)]
    result = replayer(world).run(None)
    assert result.count(Outcome.SENT) == 13 and result.unread == 0
    sent = world.drain(world.settings.queue_url)
    assert sorted(m["key"] for m in sent) == keys
    assert world.depth(world.settings.dlq_url) == 0


def test_unreadable_messages_stay_for_a_human(world: World) -> None:
    world.send_dlq("{truncated", "garbage")
    result = replayer(world).run(None)
    (item,) = result.items
    assert item.outcome == Outcome.UNREADABLE and result.needs_attention
    assert world.depth(world.settings.dlq_url) == 1

    key = failed_in_dlq(world, 1)
    keyed = replayer(world).run([key])
    outcomes = sorted((i.key or "?", i.outcome) for i in keyed.items)
    assert outcomes == [("?", Outcome.NOT_SELECTED), (key, Outcome.SENT)]
    assert not keyed.needs_attention
    assert world.depth(world.settings.dlq_url) == 1


class SimulatedCrash(Exception):
    """Stands for the process dying between the send and the delete."""


def crash_on_delete(**_: object) -> None:
    raise SimulatedCrash("killed before DeleteMessage")


def test_a_crash_between_send_and_delete_loses_nothing(world: World) -> None:
    key = failed_in_dlq(world, 1)
    world.sqs.meta.events.register("before-call.sqs.DeleteMessage", crash_on_delete)
    with pytest.raises(SimulatedCrash):
        replayer(world, hold=1).run(None)
    world.sqs.meta.events.unregister("before-call.sqs.DeleteMessage", crash_on_delete)

    assert world.depth(world.settings.queue_url) == 1
    assert world.depth(world.settings.dlq_url) == 1
    state = world.store.get(key)
    assert state is not None and state.replay_armed_attempt == 2


def test_the_message_carries_the_upload_the_state_table_knows(world: World) -> None:
    key = failed_in_dlq(world, 1)
    world.s3.put_object(
        Bucket=world.settings.bucket, Key=key, Body=b"-- corrected upload, other etag\n"
    )
    head = world.s3.head_object(Bucket=world.settings.bucket, Key=key)
    world.store.amend(
        key, {DumpStatus.FAILED}, etag=head["ETag"].strip('"'), size=head["ContentLength"]
    )
    replayer(world).run(None)
    (message,) = world.drain(world.settings.queue_url)
    assert message["etag"] == head["ETag"].strip('"')
    assert message["size"] == str(head["ContentLength"])


def test_an_aws_error_while_sending_names_the_dump_and_keeps_the_dlq_copy(world: World) -> None:
    key = failed_in_dlq(world, 1)

    def denied(**_: object) -> None:
        error = {"Error": {"Code": "AccessDenied", "Message": "no sqs:SendMessage"}}
        raise ClientError(error, "SendMessage")  # type: ignore[arg-type]

    world.sqs.meta.events.register("before-call.sqs.SendMessage", denied)
    try:
        with pytest.raises(DumpStepFailed) as caught:
            replayer(world, hold=1).run(None)
    finally:
        world.sqs.meta.events.unregister("before-call.sqs.SendMessage", denied)
    assert str(caught.value) == (
        f"{key}: sending to the queue failed: AWS refused SendMessage: AccessDenied: "
        "no sqs:SendMessage (the DLQ copy stays; replay again)"
    )
    assert world.depth(world.settings.dlq_url) == 1
    assert world.depth(world.settings.queue_url) == 0


def test_two_failed_dumps_of_one_date_are_both_replayed_none_lost(world: World) -> None:
    """Two keys of the same date (.sql and .sql.gz) armed for the same attempt number must
    both reach the queue: a deduplicated send would let replay delete the letter of a dump
    that never went back."""
    keys = []
    for gzip in (False, True):
        ref = world.put_dump(day(1), gzip=gzip)
        world.record(ref, DumpStatus.FAILED)
        world.dead_letter(ref)
        keys.append(ref.key)
    assert world.depth(world.settings.dlq_url) == 2

    result = replayer(world).run(None)

    assert sorted(i.key or "" for i in result.items) == sorted(keys)
    assert all(i.outcome == Outcome.SENT for i in result.items)
    sent = world.drain(world.settings.queue_url)
    assert sorted(m["key"] for m in sent) == sorted(keys)
    assert len({m["_dedup"] for m in sent}) == 2
    assert world.depth(world.settings.dlq_url) == 0


def test_a_manifest_event_redriven_to_the_dlq_is_sent_again_not_unreadable(world: World) -> None:
    """Issue 11 #7: a manifest's own event on the DLQ (after maxReceiveCount) is readable:
    replay puts it back on the queue, where it wakes the dump of that date waiting for it."""
    manifest = {"bucket": world.settings.bucket, "key": "dumps-manifest/gghouse_20261120.json"}
    body = json.dumps({**manifest, "etag": "0f0f", "size": "321"})
    world.send_dlq(body, "manifest-letter")
    result = replayer(world).run(None)
    (item,) = result.items
    assert item.outcome == Outcome.SENT and item.dump_date == D1
    assert not result.needs_attention
    (sent,) = world.drain(world.settings.queue_url)
    assert {k: sent[k] for k in ("bucket", "key", "etag", "size")} == json.loads(body)
    assert world.depth(world.settings.dlq_url) == 0


def test_a_failed_backfill_that_read_processed_is_replayed_reading_processed(
    world: World,
) -> None:
    """Issue 11 #8: the failure letter names the archived copy the run read; the replay
    message carries it (the dumps/ object has expired)."""
    ref = world.put_dump(day(1), archived=True)
    world.record(ref, DumpStatus.FAILED)
    source = "processed/" + ref.name
    world.store.amend(ref.key, {DumpStatus.FAILED}, source_key=source)
    world.dead_letter(ref)
    (letter,) = [
        json.loads(m["Body"])
        for m in world.sqs.receive_message(QueueUrl=world.settings.dlq_url, VisibilityTimeout=0)[
            "Messages"
        ]
    ]
    assert letter["failure"]["source_key"] == source
    replayer(world).run(None)
    (message,) = world.drain(world.settings.queue_url)
    assert message["source_key"] == source and message["key"] == ref.key
