"""Time-zone normalisation and limit arithmetic of the gate, over generated instants."""

from __future__ import annotations

import datetime as dt
import math
import os
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dumpflow.dumps import JST
from dumpflow.loader.quality.business_time import (
    end_of_business_day,
    freshness_limit,
    parse_manifest_timestamp,
    to_second,
)
from dumpflow.loader.quality.config import parse_config
from dumpflow.loader.quality.facts import Column, SchemaFacts, TableFacts
from dumpflow.loader.quality.freshness import freshness_checks, manifest_checks
from dumpflow.loader.quality.inputs import GateInputs
from dumpflow.loader.quality.progress import min_allowed_rows, progress_checks

EXAMPLES = 600 if os.environ.get("DUMPFLOW_DEEP_TESTS") else 60
DATETIME = Column("updated_at", "datetime", "datetime")

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
naive_jst = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 12, 31))


def schema(newest: dt.datetime | None, rows: int = 10) -> SchemaFacts:
    facts = TableFacts(columns={"updated_at": DATETIME}, rows=rows, newest={"updated_at": newest})
    return SchemaFacts("s", {"rooms": facts})


def inputs(
    day: dt.date,
    shadow: SchemaFacts,
    previous: SchemaFacts | None = None,
    manifest: object = None,
    **config: object,
) -> GateInputs:
    rules = {"rooms": config.pop("rooms", {})}
    settings = parse_config({"version": 1, "defaults": config, "tables": rules}, "test")
    return GateInputs(day, shadow, previous, manifest, settings, {})


def test_the_business_day_ends_at_midnight_jst() -> None:
    end = end_of_business_day(dt.date(2026, 12, 31))
    assert end == dt.datetime(2027, 1, 1, tzinfo=JST)
    assert end.astimezone(dt.UTC) == dt.datetime(2026, 12, 31, 15, 0, tzinfo=dt.UTC)
    assert freshness_limit(dt.date(2026, 11, 25), 36) == dt.datetime(2026, 11, 24, 12, tzinfo=JST)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    day=dates, hours=st.floats(min_value=0.001, max_value=2000), shift=st.integers(-(10**7), 10**7)
)
@example(day=dt.date(2026, 11, 25), hours=36, shift=0)
@example(day=dt.date(2026, 11, 25), hours=36, shift=-1)
def test_content_is_stale_exactly_when_older_than_the_limit(
    day: dt.date, hours: float, shift: int
) -> None:
    """Around the limit (microseconds either side), and across the JST/UTC day boundary."""
    limit = freshness_limit(day, hours)
    newest = (limit + dt.timedelta(microseconds=shift)).replace(tzinfo=None)  # JST wall clock
    (check,) = freshness_checks(inputs(day, schema(newest), rooms={"freshness_hours": hours}))
    stale = newest.replace(tzinfo=JST) < limit
    assert (check.verdict == "fail") == stale
    assert (check.reason == "stale content") == stale


@settings(max_examples=EXAMPLES, deadline=None)
@given(day=dates, minutes=st.integers(0, 72 * 60), tolerance=st.integers(0, 48))
def test_content_after_the_business_day_warns_only_past_the_tolerance(
    day: dt.date, minutes: int, tolerance: int
) -> None:
    newest = (end_of_business_day(day) + dt.timedelta(minutes=minutes)).replace(tzinfo=None)
    (check,) = freshness_checks(inputs(day, schema(newest), future_tolerance_hours=tolerance))
    assert check.verdict == ("warn" if minutes > tolerance * 60 else "pass")


@settings(max_examples=EXAMPLES, deadline=None)
@given(data=naive_jst, zone=offsets, delta_us=st.integers(-3_000_000, 3_000_000))
@example(data=dt.datetime(2026, 11, 24, 23, 59, 59), zone=dt.UTC, delta_us=999_999)
@example(data=dt.datetime(2026, 11, 25, 0, 0, 0), zone=dt.UTC, delta_us=-1)
def test_the_manifest_agrees_exactly_when_the_same_second(
    data: dt.datetime, zone: dt.timezone, delta_us: int
) -> None:
    """Written in any UTC offset, the manifest's instant agrees iff its whole second is the
    data's (the data: naive JST with microseconds, as DATETIME(6) holds it)."""
    claimed = (data.replace(tzinfo=JST) + dt.timedelta(microseconds=delta_us)).astimezone(zone)
    manifest = {"rooms": claimed.isoformat()}
    day = data.date()
    checks = manifest_checks(inputs(day, schema(data), manifest=manifest))
    (check,) = checks
    same_second = data.replace(microsecond=0) == claimed.astimezone(JST).replace(
        microsecond=0, tzinfo=None
    )
    assert (check.verdict == "pass") == same_second
    assert parse_manifest_timestamp(claimed.isoformat()) == claimed
    assert to_second(claimed) == to_second(claimed.astimezone(dt.UTC))


@pytest.mark.parametrize(
    "raw", ["2026-11-24T20:15:00", "2026-11-24", "", "tomorrow", None, 1764000000, ["x"]]
)
def test_a_manifest_timestamp_without_an_offset_is_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_manifest_timestamp(raw)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    previous=st.integers(0, 10**9),
    current=st.integers(0, 10**9),
    percent=st.decimals(min_value=0, max_value=1, places=4),
)
@example(previous=10, current=8, percent=0.2)
@example(previous=10, current=7, percent=0.2)
@example(previous=3, current=2, percent=0.33)
def test_rows_shrink_too_much_exactly_when_more_than_the_share_went(
    previous: int, current: int, percent: object
) -> None:
    share = float(str(percent))
    result = progress_checks(
        inputs(
            dt.date(2026, 11, 25),
            schema(None, current),
            schema(None, previous),
            max_shrink_share=share,
        )
    )
    (row_check,) = [c for c in result if c.check == "row_count"]
    exact = Fraction(str(share))
    too_many_gone = previous > 0 and (current == 0 or (previous - current) > exact * previous)
    assert (row_check.verdict == "fail") == too_many_gone
    lowest = min_allowed_rows(previous, exact)
    assert lowest == math.ceil(previous * (1 - exact)) and 0 <= lowest <= previous
    if previous and current and row_check.verdict == "fail":
        assert row_check.limit == lowest and current < lowest


def test_a_float_share_is_taken_as_written_not_as_its_binary_value() -> None:
    """0.3 of 10 is 3 rows exactly: 7 remaining passes (binary 0.3 would make the limit 8)."""
    result = progress_checks(
        inputs(dt.date(2026, 11, 25), schema(None, 7), schema(None, 10), max_shrink_share=0.3)
    )
    (row_check,) = [c for c in result if c.check == "row_count"]
    assert (row_check.verdict, row_check.limit) == ("pass", 7)
