"""Which waiting dump must get the pipeline slot: the rule of docs/ARCHITECTURE.md, "Daily
dumps first", restated for the fault explorer on a snapshot of the state table.

Written from the documentation, not from ``Pipeline``: a daily dump (mode normal, or a replay
dated after the watermark) starts before a backfill date (a replay or backfill dated not after
the watermark) unless the daily dumps have had their ``daily_starts_per_backfill`` starts;
among daily dumps the oldest date first, and a normal dump waiting for its manifest, or
RECEIVED and not yet evaluated (for up to an hour: issue 14's deferred evaluations), holds back
newer daily dumps (issue 11); among backfill dates the oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from dumpflow.control.state import DumpState, DumpStatus

CLAIMED_AT = "start_claimed_at"
RECEIVED_HOLD = dt.timedelta(minutes=60)  # docs/ARCHITECTURE.md, "No head-of-line blocking"


@dataclass(frozen=True)
class Snapshot:
    """The state table as the pump saw it when it asked for the slot."""

    dumps: Sequence[DumpState]
    watermark: dt.date | None
    per_backfill: int
    now: dt.datetime | None = None  # None: every RECEIVED dump is young enough to hold


def is_backfill(state: DumpState, watermark: dt.date | None) -> bool:
    """A replay or backfill of a date the watermark has passed (or reached)."""
    return state.mode != "normal" and watermark is not None and state.dump_date <= watermark


def is_stale(state: DumpState, watermark: dt.date | None) -> bool:
    """A normal dump the watermark has reached: it is closed, never started."""
    return state.mode == "normal" and watermark is not None and state.dump_date <= watermark


def holds_back(state: DumpState, snapshot: Snapshot) -> bool:
    """A normal dump after the watermark that is on its way but not ready: waiting for its
    manifest, or RECEIVED (being evaluated, or retried) for less than RECEIVED_HOLD."""
    if state.mode != "normal" or is_stale(state, snapshot.watermark):
        return False
    if state.status is DumpStatus.WAITING:
        return state.reason == "manifest"
    if state.status is not DumpStatus.RECEIVED:
        return False
    received = state.at("received_at")
    return snapshot.now is None or received is None or snapshot.now - received < RECEIVED_HOLD


def ready(snapshot: Snapshot) -> list[DumpState]:
    """WAITING for the slot and not held back by an older dump on its way, oldest first."""
    waiting = sorted(
        (s for s in snapshot.dumps if s.status is DumpStatus.WAITING and s.reason == "lease"),
        key=lambda s: (s.dump_date, s.key),
    )
    held = [s.dump_date for s in snapshot.dumps if holds_back(s, snapshot)]
    if not held:
        return waiting
    return [s for s in waiting if s.dump_date < min(held)]


def daily_starts_since_backfills(snapshot: Snapshot, backfills: list[DumpState]) -> int:
    """Daily dumps claimed since the backfills began waiting or the last backfill claim,
    whichever is later (each dump counted by its latest claim, as the table records it)."""
    since = min((w for s in backfills if (w := s.at("waiting_at")) is not None), default=None)
    claims = [(s, c) for s in snapshot.dumps if (c := s.at(CLAIMED_AT)) is not None]
    for state, claimed in claims:
        if state.backfill and (since is None or claimed > since):
            since = claimed
    return sum(1 for s, c in claims if not s.backfill and (since is None or c >= since))


def candidates(snapshot: Snapshot) -> tuple[list[DumpState], list[DumpState]]:
    """The daily dumps and the backfill dates that may start, each oldest first."""
    startable = [s for s in ready(snapshot) if not is_stale(s, snapshot.watermark)]
    daily = [s for s in startable if not is_backfill(s, snapshot.watermark)]
    return daily, [s for s in startable if is_backfill(s, snapshot.watermark)]


def must_start(snapshot: Snapshot) -> tuple[DumpState | None, str]:
    """The dump the rule starts next (None: nothing may start) and why, for the message."""
    daily, backfills = candidates(snapshot)
    if not backfills:
        return (daily[0], "the oldest daily dump") if daily else (None, "nothing is ready")
    if not daily:
        return backfills[0], "the oldest backfill date (no daily dump waits)"
    started = daily_starts_since_backfills(snapshot, backfills)
    if started >= snapshot.per_backfill:
        return backfills[0], f"the oldest backfill date ({started} daily starts since)"
    return daily[0], f"the oldest daily dump (only {started} daily starts since backfills)"
