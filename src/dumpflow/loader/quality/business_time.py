"""Time arithmetic of the gate: the dump's business day in JST and one-second comparisons.

The source writes its ``updated_at`` columns in JST without a zone (DATETIME); the manifest
writes ISO timestamps with an offset. Both become aware datetimes here, compared as instants
truncated to the whole second.
"""

from __future__ import annotations

import datetime as dt

from dumpflow.dumps import JST, start_of_day_jst

#: The gate's session time zone: TIMESTAMP columns then read as JST wall-clock time, like
#: the DATETIME columns the source writes.
SESSION_TIME_ZONE = "+09:00"


def end_of_business_day(dump_date: dt.date) -> dt.datetime:
    """The instant the dump's business date ends: midnight JST after ``dump_date``."""
    return start_of_day_jst(dump_date + dt.timedelta(days=1))


def freshness_limit(dump_date: dt.date, hours: float) -> dt.datetime:
    """The oldest acceptable newest change: ``hours`` before the end of the business date."""
    return end_of_business_day(dump_date) - dt.timedelta(hours=hours)


def as_jst(value: dt.datetime) -> dt.datetime:
    """A database value as an instant: naive means JST wall-clock time (the source's zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=JST)
    return value.astimezone(JST)


def to_second(value: dt.datetime) -> dt.datetime:
    """The instant truncated to its whole second, in JST (what "agree" compares)."""
    return as_jst(value).replace(microsecond=0)


def parse_manifest_timestamp(raw: object) -> dt.datetime:
    """A manifest's ``max_updated_at_by_table`` value as an aware instant.

    Raises ValueError unless it is an ISO 8601 string with a UTC offset (a timestamp without
    one could be any zone: it is refused, never guessed).
    """
    if not isinstance(raw, str):
        raise ValueError(f"expected an ISO timestamp string, got {type(raw).__name__} {raw!r}")
    try:
        parsed = dt.datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValueError(f"{raw!r} is not an ISO 8601 timestamp") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{raw!r} has no UTC offset (expected e.g. +09:00)")
    return parsed


def iso(value: dt.datetime | None) -> str | None:
    """An instant as an ISO string in JST to the second, as reports show it."""
    return None if value is None else to_second(value).isoformat()
