"""Checks a dump must pass before any work starts (size, date); each returns the cause or None."""

from __future__ import annotations

import datetime as dt

from dumpflow.dumps import DumpRef, today_jst


def too_small(ref: DumpRef, min_bytes: int) -> str | None:
    if ref.size < min_bytes:
        return f"{ref.key} is {ref.size} bytes, below the minimum of {min_bytes} bytes"
    return None


def from_the_future(ref: DumpRef, now: dt.datetime) -> str | None:
    today = today_jst(now)
    if ref.dump_date > today:
        return f"{ref.key} is dated {ref.dump_date}, after today in Tokyo ({today})"
    return None


def rejection(ref: DumpRef, *, min_bytes: int, now: dt.datetime) -> str | None:
    """The first reason ``ref`` cannot be used, or None."""
    return too_small(ref, min_bytes) or from_the_future(ref, now)
