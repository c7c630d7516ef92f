"""Backfill over a range: gaps reported, SUCCEEDED skipped unless forced, date order kept."""

from __future__ import annotations

import datetime as dt

import pytest

from dumpflow.control.messages import key_tag
from dumpflow.control.state import DumpStatus, utc_now
from dumpflow.ops.backfill import Action, Backfiller, date_range, find_dumps
from dumpflow.ops.errors import OpsError
from ops.aws_world import World

D1 = dt.date(2026, 11, 1)


def day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def backfiller(world: World, force: bool = False) -> Backfiller:
    return Backfiller(world.store, world.s3, world.sqs, world.settings, force=force)


def test_range_with_gaps_enqueues_in_date_order_and_reports_missing(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    world.put_dump(day(2), archived=True)
    world.record(world.put_dump(day(4), gzip=True), DumpStatus.FAILED)
    world.put_dump(day(6))
    world.put_dump(day(9))
    result = backfiller(world).run(backfiller(world).plan(day(1), day(7)))

    actions = {item.day: item.action for item in result.items}
    assert actions == {
        day(1): Action.SKIPPED,
        day(2): Action.ENQUEUED,
        day(3): Action.MISSING,
        day(4): Action.ENQUEUED,
        day(5): Action.MISSING,
        day(6): Action.ENQUEUED,
        day(7): Action.MISSING,
    }
    assert result.missing == [day(3), day(5), day(7)]
    assert result.needs_attention
    sent = world.drain(world.settings.queue_url)
    assert [m["key"] for m in sent] == [
        "dumps/gghouse_20261102.sql",
        "dumps/gghouse_20261104.sql.gz",
        "dumps/gghouse_20261106.sql",
    ]
    assert [m.get("source_key") for m in sent] == ["processed/gghouse_20261102.sql", None, None]
    assert [m["_dedup"] for m in sent] == [
        f"backfill-20261102-1-{key_tag('dumps/gghouse_20261102.sql')}",
        f"backfill-20261104-2-{key_tag('dumps/gghouse_20261104.sql.gz')}",
        f"backfill-20261106-1-{key_tag('dumps/gghouse_20261106.sql')}",
    ]
    assert all(m["mode"] == "backfill" and m["force"] is False for m in sent)
    assert isinstance(sent[0]["size"], str)
    failed = world.store.get("dumps/gghouse_20261104.sql.gz")
    assert failed is not None and failed.replay_armed_attempt == 2


def test_force_reprocesses_a_succeeded_date(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    result = backfiller(world, force=True).run(backfiller(world, force=True).plan(day(1), day(1)))
    assert [item.action for item in result.items] == [Action.ENQUEUED]
    (message,) = world.drain(world.settings.queue_url)
    assert message["force"] is True and message["attempt"] == 2
    assert not result.needs_attention


def test_a_dump_still_running_is_refused_and_left_alone(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.LOADING)
    (planned,) = backfiller(world).plan(day(1), day(1))
    assert planned.action == Action.REFUSED and "LOADING" in planned.reason
    result = backfiller(world).run([planned])
    assert result.needs_attention
    assert world.drain(world.settings.queue_url) == []


def test_a_run_starting_between_plan_and_enqueue_is_refused_by_the_state_guard(
    world: World,
) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.FAILED)
    (planned,) = backfiller(world).plan(day(1), day(1))
    assert planned.action == Action.WOULD_ENQUEUE
    # a delivery takes it just now (a dump RECEIVED for minutes is stuck: replay may take it)
    world.store.transition(ref.key, {DumpStatus.FAILED}, DumpStatus.RECEIVED, now=utc_now())
    (item,) = backfiller(world).run([planned]).items
    assert item.action == Action.REFUSED and "RECEIVED" in item.reason
    assert world.drain(world.settings.queue_url) == []


def test_a_plan_alone_sends_nothing(world: World) -> None:
    world.put_dump(day(1))
    items = backfiller(world).plan(day(1), day(2))
    assert [item.action for item in items] == [Action.WOULD_ENQUEUE, Action.MISSING]
    assert world.drain(world.settings.queue_url) == []
    assert world.store.get("dumps/gghouse_20261101.sql") is None


def test_a_fresh_upload_wins_over_the_archived_copy(world: World) -> None:
    world.put_dump(day(1), archived=True)
    fresh = world.put_dump(day(1), body=b"-- corrected upload\n")
    found = find_dumps(world.s3, world.settings, day(1), day(1))
    assert found[day(1)].ref == fresh and not found[day(1)].archived


def test_an_archived_only_dump_keeps_its_recorded_identity(world: World) -> None:
    original = world.put_dump(day(1))
    world.record(original, DumpStatus.SUCCEEDED)
    world.s3.delete_object(Bucket=world.settings.bucket, Key=original.key)
    world.put_dump(day(1), archived=True, body=b"-- archived copy, other etag\n")
    forced = backfiller(world, force=True)
    (item,) = forced.plan(day(1), day(1))
    assert item.found is not None and item.found.archived
    assert (item.found.ref.key, item.found.ref.etag) == (original.key, original.etag)
    forced.run([item])
    (message,) = world.drain(world.settings.queue_url)
    assert (message["key"], message["etag"]) == (original.key, original.etag)
    assert message["source_key"] == "processed/gghouse_20261101.sql"


def test_reversed_ranges_are_a_usage_error() -> None:
    with pytest.raises(OpsError, match="--to 2026-11-01 is before --from 2026-11-02"):
        date_range(day(2), day(1))
