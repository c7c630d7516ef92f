"""The state store's public API against a moto table: what the CLI and the flow rely on."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from control.aws_world import World
from dumpflow.control.state import (
    HISTORY_LIMIT,
    DumpState,
    DumpStatus,
    ReplayRefused,
    iso,
    with_transition,
)


def _item(world: World, day: dt.date, status: DumpStatus = DumpStatus.RECEIVED) -> DumpState:
    key = f"dumps/gghouse_{day:%Y%m%d}.sql"
    state = DumpState(
        key=key,
        bucket=world.settings.bucket,
        etag="abc",
        size=4096,
        dump_date=day,
        status=DumpStatus.RECEIVED,
        timestamps={"received_at": iso(world.clock())},
    )
    assert world.store.create(state)
    if status is not DumpStatus.RECEIVED:
        moved = world.store.transition(key, {DumpStatus.RECEIVED}, status, now=world.clock())
        assert moved is not None
        return moved
    return state


def test_create_is_once_per_key(world: World) -> None:
    state = _item(world, world.day(-1))
    assert world.store.create(state) is False
    stored = world.store.get(state.key)
    assert stored is not None
    assert (stored.status, stored.etag, stored.size) == (DumpStatus.RECEIVED, "abc", 4096)
    assert world.store.get("dumps/gghouse_19990101.sql") is None


def test_list_dumps_newest_first_and_waiting_oldest_first(world: World) -> None:
    for offset in (-3, -1, -2):
        _item(world, world.day(offset), DumpStatus.WAITING)
    _item(world, world.day(-4), DumpStatus.REJECTED)
    listed = [s.dump_date for s in world.store.list_dumps()]
    assert listed == [world.day(-1), world.day(-2), world.day(-3), world.day(-4)]
    assert [s.dump_date for s in world.store.list_dumps(limit=2)] == listed[:2]
    assert [s.dump_date for s in world.store.waiting()] == [
        world.day(-3),
        world.day(-2),
        world.day(-1),
    ]


def test_transition_only_from_expected_status_and_records_history(world: World) -> None:
    state = _item(world, world.day(-1))
    now = world.clock()
    loading = world.store.transition(state.key, {DumpStatus.WAITING}, DumpStatus.LOADING, now=now)
    assert loading is None
    moved = world.store.transition(
        state.key, {DumpStatus.RECEIVED}, DumpStatus.LOADING, now=now, note="go", attempts=1
    )
    assert moved is not None
    stored = world.store.get(state.key)
    assert stored is not None and stored.status is DumpStatus.LOADING
    assert stored.attempts == 1
    assert stored.timestamps["loading_at"] == iso(now)
    assert stored.history[-1] == {"from": "RECEIVED", "to": "LOADING", "at": iso(now), "note": "go"}


def test_history_keeps_the_last_transitions(world: World) -> None:
    state = _item(world, world.day(-1))
    for _ in range(HISTORY_LIMIT + 5):
        world.clock.advance(seconds=1)
        world.store.transition(
            state.key, {DumpStatus.RECEIVED}, DumpStatus.RECEIVED, now=world.clock()
        )
    stored = world.store.get(state.key)
    assert stored is not None
    assert len(stored.history) == HISTORY_LIMIT
    assert stored.history[-1]["at"] == iso(world.clock())


def test_stage_durations_come_from_timestamps() -> None:
    start = dt.datetime(2026, 11, 24, 21, 0, tzinfo=dt.UTC)
    state = DumpState(
        key="dumps/gghouse_20261124.sql",
        bucket="b",
        etag="e",
        size=1,
        dump_date=dt.date(2026, 11, 24),
        status=DumpStatus.LOADING,
    )
    state = with_transition(state, DumpStatus.LOADING, now=start)
    state = with_transition(state, DumpStatus.TRANSFORMING, now=start + dt.timedelta(minutes=12))
    state = with_transition(state, DumpStatus.SUCCEEDED, now=start + dt.timedelta(minutes=20))
    assert state.load_seconds == 720.0
    assert state.transform_seconds == 480.0


def test_lease_is_exclusive_and_released_only_by_its_run(world: World) -> None:
    now = world.clock()
    first = world.store.acquire_lease("dumps/a", now=now, seconds=60)
    assert first is not None
    assert world.store.acquire_lease("dumps/b", now=now, seconds=60) is None
    held = world.store.lease()
    assert held == first
    assert held is not None and not held.expired(now)
    assert held.expired(now + dt.timedelta(seconds=60))
    assert world.store.release_lease("someone-else") is False
    later = now + dt.timedelta(hours=1)
    assert world.store.extend_lease(first.run_id, later)
    extended = world.store.lease()
    assert extended is not None and extended.expires_at == later
    assert world.store.release_lease(first.run_id) is True
    assert world.store.lease() is None
    assert world.store.acquire_lease("dumps/b", now=now, seconds=60) is not None


def test_watermark_never_moves_back(world: World) -> None:
    assert world.store.watermark() is None
    assert world.store.advance_watermark(world.day(-2))
    assert world.store.advance_watermark(world.day(-1))
    assert world.store.advance_watermark(world.day(-3)) is False
    assert world.store.advance_watermark(world.day(-1)) is False
    assert world.store.watermark() == world.day(-1)


@pytest.mark.parametrize(
    "status", [DumpStatus.RECEIVED, DumpStatus.WAITING, DumpStatus.LOADING, DumpStatus.TRANSFORMING]
)
def test_replay_refused_while_in_flight(world: World, status: DumpStatus) -> None:
    state = _item(world, world.day(-1), status)
    with pytest.raises(ReplayRefused, match="still being processed"):
        world.store.arm_replay(state.key, mode="replay", force=True, note="")


def test_replay_of_succeeded_needs_force(world: World) -> None:
    state = _item(world, world.day(-1), DumpStatus.SUCCEEDED)
    with pytest.raises(ReplayRefused, match="force"):
        world.store.arm_replay(state.key, mode="replay", force=False, note="")
    assert world.store.arm_replay(state.key, mode="backfill", force=True, note="rebuild") == 1


def test_arm_replay_numbers_attempts(world: World) -> None:
    state = _item(world, world.day(-1), DumpStatus.FAILED)
    world.store.amend(state.key, {DumpStatus.FAILED}, attempts=2)
    assert world.store.arm_replay(state.key, mode="replay", force=False, note="fixed") == 3
    assert world.store.arm_replay(state.key, mode="replay", force=False, note="again") == 4
    stored = world.store.get(state.key)
    assert stored is not None
    assert stored.replay_armed_attempt == 4
    assert stored.status is DumpStatus.FAILED
    assert "replay armed (attempt 4): again" in stored.history[-1]["note"]


def test_arm_replay_of_unknown_key_is_attempt_one(world: World) -> None:
    assert (
        world.store.arm_replay("dumps/gghouse_20261101.sql", mode="replay", force=False, note="")
        == 1
    )
    assert world.store.get("dumps/gghouse_20261101.sql") is None


def test_mutate_applies_on_the_fresh_item(world: World) -> None:
    state = _item(world, world.day(-1))
    world.store.count_duplicate(state.key)
    world.store.count_duplicate(state.key)
    moved = world.store.mutate(state.key, lambda current: dataclasses.replace(current, reason="x"))
    assert moved is not None and moved.duplicate_events == 2 and moved.reason == "x"
