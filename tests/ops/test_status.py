"""Status assembly: header facts, gaps since the first dump, reports, one dump in full."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from dumpflow.control.state import DumpStatus
from dumpflow.loader.report import LoadReport, TableStats
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.status import build_status, date_gaps
from ops.aws_world import NOW, World

D1 = dt.date(2026, 11, 20)


def day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def put_report(world: World, kind: str, when: dt.date, body: dict[str, object]) -> None:
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key=f"reports/{kind}/{when.isoformat()}.json",
        Body=json.dumps(body).encode(),
    )


def load_report(rows: dict[str, int]) -> dict[str, object]:
    """What the Glue job writes: the loader's own report plus the run's status."""
    report = LoadReport(
        source="s3://gghouse-dumps/dumps/x.sql",
        dump="x.sql",
        schema="staging",
        previous_schema="staging__previous",
        sha256="0" * 64,
        gzip=False,
        stored_bytes=1,
        sql_bytes=1,
        statements=len(rows),
        seconds=1.0,
        workers=2,
        tables={name: TableStats(rows=n) for name, n in rows.items()},
    )
    return {"status": "SUCCEEDED", **report.to_dict()}


def test_gaps_are_days_without_a_succeeded_dump(world: World) -> None:
    states = [
        world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED),
        world.record(world.put_dump(day(2)), DumpStatus.FAILED),
        world.record(world.put_dump(day(5)), DumpStatus.SUCCEEDED),
    ]
    assert date_gaps(states) == [day(2), day(3), day(4)]
    assert date_gaps([]) == []


def test_a_day_that_succeeded_before_new_content_went_stale_is_no_gap(world: World) -> None:
    first = world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    stale = world.store.transition(
        first.key, {DumpStatus.SUCCEEDED}, DumpStatus.SKIPPED_STALE, now=NOW, reason="re-export"
    )
    assert stale is not None
    never_ran = world.put_dump(day(2))
    world.store.create(
        dataclasses.replace(stale, key=never_ran.key, dump_date=day(2), timestamps={}, history=[])
    )
    world.record(world.put_dump(day(3)), DumpStatus.SUCCEEDED)
    assert date_gaps(world.store.list_dumps()) == [day(2)]


def test_report_lists_newest_first_with_header_facts(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    failed = world.put_dump(day(2))
    world.record(failed, DumpStatus.FAILED)
    world.dead_letter(failed)
    world.store.advance_watermark(day(1))
    world.store.acquire_lease("dumps/gghouse_20261122.sql", now=NOW, seconds=600)
    put_report(world, "load", day(1), load_report({"tenants": 120, "rooms": 30}))
    dlq = DeadLetterQueue(world.sqs, world.settings.dlq_url)
    report = build_status(world.store, world.s3, world.settings.bucket, dlq, limit=10)

    assert [line.state.dump_date for line in report.dumps] == [day(2), day(1)]
    assert [line.rows_loaded for line in report.dumps] == [None, 150]
    assert report.watermark == day(1)
    assert report.lease is not None and report.lease.holder_key.endswith("20261122.sql")
    assert report.dlq is not None and report.dlq.total == 1
    assert report.gaps == [day(2)]
    assert report.needs_attention
    document = report.to_dict()
    assert document["dumps"][0]["status"] == "FAILED"
    assert document["dumps"][0]["last_error"]["stage"] == "load"
    assert document["watermark"] == "2026-11-20" and document["dlq_depth"] == 1


def test_all_succeeded_and_an_empty_dlq_need_no_attention(world: World) -> None:
    for n in (1, 2):
        world.record(world.put_dump(day(n)), DumpStatus.SUCCEEDED)
    dlq = DeadLetterQueue(world.sqs, world.settings.dlq_url)
    report = build_status(world.store, world.s3, world.settings.bucket, dlq)
    assert not report.needs_attention and report.gaps == [] and report.waiting == 0


def test_one_dump_in_full_carries_both_reports(world: World) -> None:
    ref = world.put_dump(day(3))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.record(world.put_dump(day(4)), DumpStatus.SUCCEEDED)
    written = load_report({"movings": 4000, "tenants": 200})
    put_report(world, "load", day(3), written)
    put_report(world, "dbt", day(3), {"success": True, "models": 14})
    report = build_status(world.store, world.s3, world.settings.bucket, None, key=ref.key)
    assert [line.state.key for line in report.dumps] == [ref.key]
    assert report.detail is not None
    assert report.detail.load_report == written
    assert report.dumps[0].rows_loaded == 4200
    assert report.detail.dbt_report == {"success": True, "models": 14}
    assert [h["to"] for h in report.detail.state.history] == [
        "LOADING",
        "TRANSFORMING",
        "SUCCEEDED",
    ]


def test_unknown_key_or_date_is_a_note(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    by_key = build_status(world.store, None, "", None, key="dumps/gghouse_20991231.sql")
    by_date = build_status(world.store, None, "", None, on_date=day(9))
    assert by_key.dumps == [] and by_key.notes == [
        "no dump dumps/gghouse_20991231.sql in the state table"
    ]
    assert by_date.notes == ["no dump dated 2026-11-28 in the state table"]
    only = build_status(world.store, None, "", None, on_date=day(1))
    assert [line.state.dump_date for line in only.dumps] == [day(1)]


def test_a_date_report_about_another_upload_is_not_shown(world: World) -> None:
    sql = world.put_dump(day(1))
    world.record(sql, DumpStatus.REJECTED, error="too small")
    gz = world.put_dump(day(1), gzip=True)
    world.record(gz, DumpStatus.SUCCEEDED)
    put_report(world, "load", day(1), {"dump_key": gz.key, **load_report({"tenants": 7})})
    report = build_status(world.store, world.s3, world.settings.bucket, None)
    rows = {line.state.key: line.rows_loaded for line in report.dumps}
    assert rows == {sql.key: None, gz.key: 7}
