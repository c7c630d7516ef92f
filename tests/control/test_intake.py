"""Arrival of a dump: validation, the manifest wait, duplicates, archived and stale dumps."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from typing import Any

import pytest

from control.aws_world import MIN_BYTES, World, crash_once, dump_bytes, force_glue_state
from dumpflow.control.intake import Arrival
from dumpflow.control.state import DumpStatus
from dumpflow.dumps import DumpRef


def test_a_valid_dump_starts_its_load_with_the_documented_arguments(world: World) -> None:
    day = world.day(-1)
    ref = world.put_dump(day)
    assert world.deliver(ref) is Arrival.EVALUATED
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING
    assert state.attempts == 1
    runs = world.glue_runs()
    assert len(runs) == 1
    assert runs[0]["Id"] == state.glue_run_id
    assert runs[0]["Arguments"] == {
        "--dump_bucket": world.settings.bucket,
        "--dump_key": ref.key,
        "--dump_date": day.isoformat(),
        "--expected_sha256": hashlib.sha256(dump_bytes(day)).hexdigest(),
        "--target_schema": "staging",
        "--dump_version_id": world.versions[(ref.key, ref.etag)],
        "--attempt_token": state.run_token,
    }
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == ref.key
    assert [h["to"] for h in state.history] == ["RECEIVED", "WAITING", "LOADING"]
    assert world.telemetry.counts["DumpsReceived"] == 1
    assert world.telemetry.counts["LoadsStarted"] == 1


def test_too_small_dump_is_rejected_with_the_cause(world: World) -> None:
    ref = world.put_dump(world.day(-1), body=b"-- truncated\n")
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None
    assert ref.key in state.reason and f"minimum of {MIN_BYTES} bytes" in state.reason
    assert state.last_error is not None and state.last_error["stage"] == "ingest"
    assert world.glue_runs() == []
    assert world.telemetry.counts["RejectedDumps"] == 1


def test_a_dump_dated_well_after_today_is_rejected(world: World) -> None:
    ref = world.put_dump(world.day(+2))
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None and "more than 1 day after today in Tokyo" in state.reason
    assert world.glue_runs() == []


def test_other_keys_are_ignored_without_an_item(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    for key in ("dumps/README.txt", "dumps/gghouse_20261399.sql"):
        body = world.body(ref).replace(ref.key, key)
        assert world.deliver_body(body) is Arrival.IGNORED
    assert world.store.list_dumps() == []
    assert world.telemetry.counts["IgnoredKeys"] == 2


def test_dump_already_archived_counts_as_done_without_an_item(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.s3.copy_object(
        Bucket=ref.bucket, Key=ref.processed_key, CopySource={"Bucket": ref.bucket, "Key": ref.key}
    )
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.SKIPPED_DUPLICATE
    assert state.reason is not None and ref.processed_key in state.reason
    assert world.glue_runs() == []


def test_dump_not_after_the_watermark_is_stale(world: World) -> None:
    world.store.advance_watermark(world.day(-2))
    for offset in (-3, -2):
        ref = world.put_dump(world.day(offset))
        world.deliver(ref)
        state = world.state(ref)
        assert state.status is DumpStatus.SKIPPED_STALE
        assert state.reason is not None and "not after the watermark" in state.reason
    assert world.glue_runs() == []
    assert world.telemetry.counts["StaleDumps"] == 2


def test_dump_waits_for_its_manifest_and_the_manifest_event_wakes_it(world: World) -> None:
    day = world.day(-1)
    ref = world.put_dump(day, manifest=False)
    world.deliver(ref)
    state = world.state(ref)
    assert (state.status, state.reason) == (DumpStatus.WAITING, "manifest")
    assert world.glue_runs() == []
    assert world.store.lease() is None

    manifest_key = world.put_manifest(ref, sha256="ab" * 32)
    manifest_body = world.body(ref).replace(ref.key, manifest_key)
    assert world.deliver_body(manifest_body) is Arrival.EVALUATED
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING
    assert state.expected_sha256 == "ab" * 32
    assert world.runs_for(ref)[0]["Arguments"]["--expected_sha256"] == "ab" * 32


def test_manifest_before_its_dump_changes_nothing(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    body = world.body(ref).replace(ref.key, ref.manifest_key)
    assert world.deliver_body(body) is Arrival.MANIFEST_EARLY
    assert world.store.list_dumps() == []
    world.deliver(ref)
    assert world.state(ref).status is DumpStatus.LOADING


@pytest.mark.parametrize(
    ("fields", "cause"),
    [
        ({"valid_for_etl": False}, "valid_for_etl = false"),
        ({"dump_key": "dumps/gghouse_19990101.sql"}, "describes dumps/gghouse_19990101.sql"),
    ],
)
def test_manifest_that_does_not_vouch_for_the_dump_rejects_it(
    world: World, fields: dict[str, object], cause: str
) -> None:
    ref = world.put_dump(world.day(-1), manifest=False)
    world.put_manifest(ref, **fields)
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None and cause in state.reason and ref.manifest_key in state.reason


def test_manifest_of_another_upload_waits_then_rejects_naming_the_mismatch(world: World) -> None:
    """A manifest whose size (or sha256) is another upload's is not this dump's: it waits
    for its own; when none comes within the wait, REJECTED names the mismatch."""
    ref = world.put_dump(world.day(-1), manifest=False)
    world.put_manifest(ref, dump_size_bytes=1)
    world.deliver(ref)
    state = world.state(ref)
    assert (state.status, state.reason) == (DumpStatus.WAITING, "manifest")
    world.clock.advance(seconds=world.settings.manifest_wait_seconds)
    world.sweep()
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None and "gives 1 bytes" in state.reason
    assert ref.manifest_key in state.reason


def test_unreadable_manifest_rejects_the_dump(world: World) -> None:
    ref = world.put_dump(world.day(-1), manifest=False)
    world.s3.put_object(Bucket=ref.bucket, Key=ref.manifest_key, Body=b"{truncated")
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None and "is not JSON" in state.reason


def test_without_required_manifest_the_object_metadata_gives_the_checksum(
    world: World,
) -> None:
    world.ctx.settings = dataclasses.replace(world.settings, require_manifest=False)
    day = world.day(-1)
    ref = world.put_dump(day, manifest=False)
    world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING
    assert state.expected_sha256 == hashlib.sha256(dump_bytes(day)).hexdigest()


def test_duplicate_deliveries_start_one_run_and_are_counted(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    assert world.deliver(ref) is Arrival.EVALUATED
    assert world.deliver(ref) is Arrival.DUPLICATE
    assert world.deliver(ref) is Arrival.DUPLICATE
    assert len(world.glue_runs()) == 1
    assert world.state(ref).duplicate_events == 2
    assert world.telemetry.counts["DuplicateEvents"] == 2


def test_duplicate_after_success_is_a_no_op(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.run_through(ref)
    assert world.deliver(ref) is Arrival.DUPLICATE
    state = world.state(ref)
    assert state.status is DumpStatus.SUCCEEDED
    assert len(world.glue_runs()) == 1


def test_new_upload_over_a_rejected_dump_is_evaluated_again(world: World) -> None:
    day = world.day(-1)
    broken = world.put_dump(day, body=b"-- truncated\n")
    world.deliver(broken)
    assert world.state(broken).status is DumpStatus.REJECTED
    fixed = world.put_dump(day)
    assert fixed.etag != broken.etag
    world.deliver(fixed)
    state = world.state(fixed)
    assert state.status is DumpStatus.LOADING
    assert state.etag == fixed.etag
    assert "new upload" in " ".join(h["note"] for h in state.history)


def test_a_delivery_that_died_half_way_is_finished_by_the_next_copy(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    crash_once(world.s3, "before-call.s3.GetObject")
    with pytest.raises(SystemExit):
        world.deliver(ref)
    assert world.state(ref).status is DumpStatus.RECEIVED
    assert world.deliver(ref) is Arrival.EVALUATED
    assert world.state(ref).status is DumpStatus.LOADING
    assert len(world.glue_runs()) == 1


# ----- identity is (bucket, key, ETag): new content under a known key ------------------------


def _new_content(world: World, day: dt.date, **kwargs: Any) -> DumpRef:
    """The producer exports the day again: same key, other bytes, so a new ETag."""
    return world.put_dump(day, body=dump_bytes(day, rows=41), **kwargs)


def test_a_duplicate_delivery_of_a_succeeded_dump_is_recorded_as_skipped(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.run_through(ref)
    assert world.deliver(ref) is Arrival.DUPLICATE
    state = world.state(ref)
    assert state.status is DumpStatus.SUCCEEDED and state.duplicate_events == 1
    last = state.history[-1]
    assert (last["from"], last["to"]) == ("SUCCEEDED", "SKIPPED_DUPLICATE")
    assert ref.etag in last["note"] and "nothing runs" in last["note"]
    assert len(world.glue_runs()) == 1


def test_new_content_for_a_succeeded_day_is_skipped_stale_and_kept_for_replay(
    world: World,
) -> None:
    day = world.day(-1)
    first = world.put_dump(day)
    world.run_through(first)
    again = _new_content(world, day)
    assert again.key == first.key and again.etag != first.etag

    assert world.deliver(again) is Arrival.EVALUATED
    state = world.state(again)
    assert state.status is DumpStatus.SKIPPED_STALE
    assert (state.etag, state.size) == (again.etag, again.size)
    assert state.reason is not None
    assert again.etag in state.reason and f"not after the watermark {day}" in state.reason
    went = [h["to"] for h in state.history]
    assert went.index("SUCCEEDED") < went.index("SKIPPED_STALE")
    assert state.timestamps.get("succeeded_at")
    assert "loading_at" not in state.timestamps, "the skipped upload never loaded"
    assert (state.load_seconds, state.transform_seconds) == (None, None)
    assert len(world.glue_runs()) == 1 and world.store.watermark() == day
    assert world.telemetry.counts["StaleDumps"] == 1

    assert world.deliver(again) is Arrival.DUPLICATE
    assert world.state(again).duplicate_events == 1

    attempt = world.store.arm_replay(again.key, mode="backfill", force=False, note="test")
    world.deliver(again, mode="backfill", attempt=attempt, force=False)
    rerun = world.state(again)
    assert rerun.status is DumpStatus.LOADING and rerun.etag == again.etag
    assert rerun.target_schema == world.settings.backfill_schema
    assert world.runs_for(again)[-1]["Arguments"]["--expected_sha256"] == (
        hashlib.sha256(dump_bytes(day, rows=41)).hexdigest()
    )


def test_new_content_while_the_dump_waits_replaces_what_it_waits_with(world: World) -> None:
    day = world.day(-1)
    first = world.put_dump(day, manifest=False)
    world.deliver(first)
    assert world.state(first).status is DumpStatus.WAITING
    again = _new_content(world, day)
    assert world.deliver(again) is Arrival.EVALUATED
    state = world.state(again)
    assert state.status is DumpStatus.LOADING
    assert (state.etag, state.size) == (again.etag, again.size)
    (run,) = world.glue_runs()
    assert run["Arguments"]["--expected_sha256"] == (
        hashlib.sha256(dump_bytes(day, rows=41)).hexdigest()
    )
    assert any(first.etag in h["note"] and again.etag in h["note"] for h in state.history)


def test_new_content_while_loading_is_held_then_stale_once_the_run_succeeds(
    world: World,
) -> None:
    day = world.day(-1)
    first = world.put_dump(day)
    world.deliver(first)
    again = _new_content(world, day)
    assert world.deliver(again) is Arrival.HELD
    assert world.deliver(again) is Arrival.DUPLICATE
    running = world.state(first)
    assert running.status is DumpStatus.LOADING and running.etag == first.etag
    assert running.pending_upload is not None and running.pending_upload["etag"] == again.etag
    assert len(world.glue_runs()) == 1

    world.finish_load(first)
    world.finish_transform(first)
    state = world.state(first)
    assert state.status is DumpStatus.SKIPPED_STALE
    assert (state.etag, state.size, state.pending_upload) == (again.etag, again.size, None)
    assert state.reason is not None and "arrived while etag" in state.reason
    assert [h["to"] for h in state.history][-2:] == ["SUCCEEDED", "SKIPPED_STALE"]
    assert world.store.watermark() == day and world.archived(first)
    assert len(world.glue_runs()) == 1


def test_new_content_while_loading_is_marked_for_replay_when_the_run_fails(
    world: World,
) -> None:
    day = world.day(-1)
    first = world.put_dump(day)
    world.deliver(first)
    again = _new_content(world, day)
    assert world.deliver(again) is Arrival.HELD
    run_id = world.state(first).glue_run_id
    assert run_id is not None
    force_glue_state(world, run_id, "FAILED")
    world.finish_load(first, "FAILED", "sha256 mismatch")

    state = world.state(first)
    assert state.status is DumpStatus.FAILED and state.stage == "load"
    assert (state.etag, state.pending_upload) == (again.etag, None)
    assert "replay runs it" in state.history[-1]["note"]
    (letter,) = world.dlq_messages()
    assert letter["etag"] == first.etag and letter["failure"]["stage"] == "load"

    attempt = world.store.arm_replay(first.key, mode="replay", force=False, note="test")
    world.deliver(again, mode="replay", attempt=attempt, force=False)
    rerun = world.state(again)
    assert rerun.status is DumpStatus.LOADING and rerun.etag == again.etag
    assert len(world.glue_runs()) == 2


def test_a_late_event_of_overwritten_content_does_not_take_the_key_back(world: World) -> None:
    day = world.day(-1)
    first = world.put_dump(day)
    world.run_through(first)
    again = _new_content(world, day)
    world.deliver(again)
    assert world.deliver(first) is Arrival.DUPLICATE
    state = world.state(again)
    assert (state.status, state.etag) == (DumpStatus.SKIPPED_STALE, again.etag)


def test_a_backfill_of_an_expired_dump_reads_the_archive_without_its_manifest(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    day = world.day(-2)
    ref = world.put_dump(day)
    world.run_through(ref)
    world.run_through(world.put_dump(world.day(-1)))
    for expired in (ref.key, ref.manifest_key):
        world.s3.delete_object(Bucket=ref.bucket, Key=expired)

    attempt = world.store.arm_replay(ref.key, mode="backfill", force=True, note="test")
    with caplog.at_level(logging.INFO, logger="dumpflow.control.intake"):
        world.deliver(
            ref, mode="backfill", attempt=attempt, force=True, source_key=ref.processed_key
        )
    assert f"has no manifest {ref.manifest_key}" in caplog.text
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING and state.key == ref.key
    assert state.source_key == ref.processed_key
    run = next(r for r in world.glue_runs() if r["Id"] == state.glue_run_id)
    assert run["Arguments"]["--dump_key"] == ref.processed_key
    assert run["Arguments"]["--target_schema"] == world.settings.backfill_schema
    assert run["Arguments"]["--expected_sha256"] == hashlib.sha256(dump_bytes(day)).hexdigest()

    world.finish_load(ref)
    world.finish_transform(ref)
    assert world.state(ref).status is DumpStatus.SUCCEEDED
    assert world.archived(ref) and world.store.watermark() == world.day(-1)


def test_a_newer_dump_does_not_overtake_an_older_one_whose_manifest_is_late(
    world: World,
) -> None:
    """Issue 11 (9): the late manifest must not turn the older day into a stale gap."""
    older = world.put_dump(world.day(-2), manifest=False)
    world.deliver(older)
    newer = world.put_dump(world.day(-1))
    world.deliver(newer)

    assert (world.state(older).status, world.state(older).reason) == (
        DumpStatus.WAITING,
        "manifest",
    )
    assert world.state(newer).status is DumpStatus.WAITING
    assert world.glue_runs() == [] and world.store.lease() is None

    manifest_key = world.put_manifest(older, sha256="cd" * 32)
    world.deliver_body(world.body(older).replace(older.key, manifest_key))

    assert world.state(older).status is DumpStatus.LOADING
    assert world.state(newer).status is DumpStatus.WAITING
    assert [run["Arguments"]["--dump_key"] for run in world.glue_runs()] == [older.key]
