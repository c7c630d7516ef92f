"""Checks a dump must pass before any work starts (size, date); each returns the cause or None."""

from __future__ import annotations

import datetime as dt

from dumpflow.dumps import DumpRef, today_jst

# A dump dated tomorrow in Tokyo (a dump job that names the day it prepares, a clock a little
# ahead) waits for its day; one dated further ahead is a wrong name and is rejected.
FUTURE_DAYS_WAITED = 1


def too_small(ref: DumpRef, min_bytes: int) -> str | None:
    if ref.size < min_bytes:
        return f"{ref.key} is {ref.size} bytes, below the minimum of {min_bytes} bytes"
    return None


def from_the_future(ref: DumpRef, now: dt.datetime) -> str | None:
    today = today_jst(now)
    if ref.dump_date > today:
        return f"{ref.key} is dated {ref.dump_date}, after today in Tokyo ({today})"
    return None


def too_far_ahead(ref: DumpRef, now: dt.datetime) -> str | None:
    """The cause when the date is more than FUTURE_DAYS_WAITED days after today in Tokyo."""
    today = today_jst(now)
    if ref.dump_date > today + dt.timedelta(days=FUTURE_DAYS_WAITED):
        return (
            f"{ref.key} is dated {ref.dump_date}, more than {FUTURE_DAYS_WAITED} day after "
            f"today in Tokyo ({today})"
        )
    return None


def rejection(ref: DumpRef, *, min_bytes: int, now: dt.datetime) -> str | None:
    """The first reason ``ref`` can never be used, or None (a dump dated tomorrow is not
    rejected: ``from_the_future`` says it must wait)."""
    return too_small(ref, min_bytes) or too_far_ahead(ref, now)
