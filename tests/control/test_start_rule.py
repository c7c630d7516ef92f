"""The explorer's start rule (start_rule.py) on hand-made tables: it must be able to say no.

Each case is a line of docs/ARCHITECTURE.md, "Daily dumps first", or the manifest hold of
issue 11; the same table then goes through the real ``Pipeline.pump`` on moto, which must
ask for the slot for the dump the rule names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from control.aws_world import World
from control.start_rule import Snapshot, must_start
from dumpflow.control.pipeline import Pipeline
from dumpflow.control.state import DumpState, DumpStatus, iso

T0 = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
MARK = dt.date(2026, 11, 25)


def dump(
    day: int, *, mode: str = "normal", reason: str | None = "lease", **fields: object
) -> DumpState:
    """A dump of 2026-11-<day>, WAITING for ``reason`` since T0."""
    state = DumpState(
        key=f"dumps/gghouse_202611{day:02d}.sql",
        bucket="gghouse-dumps-test",
        etag=f"etag{day}",
        size=4096,
        dump_date=dt.date(2026, 11, day),
        status=DumpStatus.WAITING,
        reason=reason,
        mode=mode,
        timestamps={"received_at": iso(T0), "waiting_at": iso(T0)},
    )
    return dataclasses.replace(state, **fields)  # type: ignore[arg-type]


def claimed(day: int, minutes: int, *, backfill: bool = False) -> DumpState:
    """A SUCCEEDED dump whose last claim was ``minutes`` after T0."""
    at = iso(T0 + dt.timedelta(minutes=minutes))
    return dump(
        day,
        mode="backfill" if backfill else "normal",
        status=DumpStatus.SUCCEEDED,
        reason=None,
        backfill=backfill,
        timestamps={"waiting_at": iso(T0), "start_claimed_at": at},
    )


def picked(*dumps: DumpState, per_backfill: int = 4) -> str | None:
    chosen, _ = must_start(Snapshot(list(dumps), MARK, per_backfill))
    return chosen.key if chosen else None


def test_the_oldest_daily_dump_starts_first_whatever_the_order_of_arrival() -> None:
    assert picked(dump(28), dump(26), dump(27)) == dump(26).key


def test_a_replay_after_the_watermark_is_a_daily_dump_and_goes_before_a_backfill() -> None:
    assert picked(dump(20, mode="backfill"), dump(27, mode="replay")) == dump(27).key


def test_a_backfill_date_starts_when_no_daily_dump_waits_oldest_first() -> None:
    assert picked(dump(22, mode="backfill"), dump(20, mode="replay")) == dump(20).key


def test_backfills_get_their_share_after_enough_daily_starts_since_they_waited() -> None:
    before = claimed(24, -10)  # claimed before the backfill began waiting: not counted
    after = [claimed(26 + n, 5 + n) for n in range(2)]
    table = [dump(20, mode="backfill"), dump(29), before, *after]
    assert picked(*table, per_backfill=3) == dump(29).key
    assert picked(*table, per_backfill=2) == dump(20).key


def test_the_share_counts_from_the_last_backfill_claim() -> None:
    table = [dump(20, mode="backfill"), dump(29), claimed(26, 5), claimed(21, 7, backfill=True)]
    assert picked(*table, per_backfill=1) == dump(29).key


def test_a_normal_dump_waiting_for_its_manifest_holds_back_newer_daily_dumps() -> None:
    held = dump(26, reason="manifest")
    assert picked(held, dump(27), dump(28)) is None
    assert picked(held, dump(27, mode="replay")) is None  # a replay after the mark is daily
    assert picked(held, dump(27), dump(22, mode="backfill")) == dump(22).key
    assert picked(dump(24, reason="manifest"), dump(27)) == dump(27).key  # stale: no hold


def test_a_received_dump_holds_back_newer_daily_dumps_for_an_hour() -> None:
    received = dump(26, reason=None, status=DumpStatus.RECEIVED)
    young = Snapshot([received, dump(27)], MARK, 4, now=T0 + dt.timedelta(minutes=59))
    old = Snapshot([received, dump(27)], MARK, 4, now=T0 + dt.timedelta(minutes=60))
    assert must_start(young)[0] is None
    chosen = must_start(old)[0]
    assert chosen is not None and chosen.key == dump(27).key


def test_a_stale_normal_dump_is_never_the_one_to_start() -> None:
    assert picked(dump(24), dump(27)) == dump(27).key


def test_the_pump_asks_for_the_slot_for_the_dump_the_rule_names(world: World) -> None:
    """The same table through the real pump: 26 waits for its manifest, so 27 and 28 are held
    back and the backfill date 20 is the one to start."""
    table = [dump(20, mode="backfill"), dump(27), dump(26, reason="manifest"), dump(28)]
    table = [dataclasses.replace(s, bucket=world.settings.bucket) for s in table]
    for state in table:
        assert world.store.create(state)
    assert world.store.advance_watermark(MARK)
    asked: list[str] = []
    acquire = world.store.acquire_lease

    def watched(holder_key: str, **_: object) -> None:
        asked.append(holder_key)
        return None  # nothing starts: only the choice is looked at

    setattr(world.store, "acquire_lease", watched)  # noqa: B010
    Pipeline(world.ctx).pump()
    setattr(world.store, "acquire_lease", acquire)  # noqa: B010
    settings = world.settings
    snapshot = Snapshot(world.store.list_dumps(), MARK, settings.daily_starts_per_backfill)
    expected, _ = must_start(snapshot)
    assert expected is not None and expected.key == dump(20).key
    assert asked[:1] == [expected.key]
