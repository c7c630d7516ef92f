"""Reading the DLQ: both message shapes, unreadable bodies, FIFO rounds, release and delete."""

from __future__ import annotations

import datetime as dt
import json

from dumpflow.control.state import DumpStatus
from dumpflow.ops.dlq import DeadLetterQueue
from ops.aws_world import World

DAY = dt.date(2026, 11, 20)


def failed_dump(world: World, day: dt.date) -> None:
    ref = world.put_dump(day)
    world.record(ref, DumpStatus.FAILED)
    world.dead_letter(ref)


def test_control_plane_and_redriven_messages_both_name_their_dump(world: World) -> None:
    failed = world.put_dump(DAY)
    world.record(failed, DumpStatus.FAILED)
    redriven = world.put_dump(DAY + dt.timedelta(days=1), gzip=True)
    world.dead_letter(failed, message="required table tenants is empty")
    raw = {
        "bucket": redriven.bucket,
        "key": redriven.key,
        "etag": redriven.etag,
        "size": str(redriven.size),
    }
    world.send_dlq(json.dumps(raw), "redriven")
    letters = DeadLetterQueue(world.sqs, world.settings.dlq_url).receive()
    by_key = {letter.key: letter for letter in letters}
    assert by_key[failed.key].failure is not None
    assert by_key[failed.key].failure["message"] == "required table tenants is empty"
    assert by_key[redriven.key].failure is None
    assert by_key[redriven.key].dump == redriven


def test_unreadable_bodies_are_reported_not_dropped(world: World) -> None:
    world.send_dlq("not json at all", "garbage")
    world.send_dlq(json.dumps({"key": "dumps/gghouse_20261120.sql"}), "partial")
    world.send_dlq(
        json.dumps({"bucket": "b", "key": "other/file.txt", "etag": "e", "size": "1"}), "foreign"
    )
    dlq = DeadLetterQueue(world.sqs, world.settings.dlq_url)
    problems = sorted(letter.problem or "" for letter in dlq.receive())
    assert problems[0].startswith("'other/file.txt' does not match")
    assert problems[1] == "body is not JSON (Expecting value)"
    assert problems[2] == "body lacks bucket, size, etag"
    assert dlq.depth().total == 3


def test_held_messages_come_back_when_released(world: World) -> None:
    failed_dump(world, DAY)
    dlq = DeadLetterQueue(world.sqs, world.settings.dlq_url, hold_seconds=600)
    held = dlq.receive()
    assert len(held) == 1 and dlq.depth().in_flight == 1
    assert dlq.receive() == []
    dlq.release(held)
    assert [letter.key for letter in dlq.receive()] == [held[0].key]


def test_fifo_order_shows_one_batch_until_it_is_deleted(world: World) -> None:
    for n in range(12):
        failed_dump(world, DAY + dt.timedelta(days=n))
    dlq = DeadLetterQueue(world.sqs, world.settings.dlq_url)
    first = dlq.receive()
    assert len(first) == 10
    for letter in first:
        dlq.delete(letter)
    rest = dlq.receive()
    assert sorted(letter.dump.dump_date for letter in rest if letter.dump) == [
        DAY + dt.timedelta(days=10),
        DAY + dt.timedelta(days=11),
    ]
