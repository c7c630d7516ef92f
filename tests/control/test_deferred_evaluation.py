"""Deferred evaluations (issue 14, no head-of-line blocking): the 30-minute limit, dumps
dated tomorrow, and the date order the pump keeps meanwhile; each case is an attack that
once broke a promise, or one that must keep holding."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from control.aws_world import World, force_glue_state
from control.faults import Fault, HandlerKilled
from control.faulty_world import ddb, one_pipeline, throttle_manifest, world_glue
from dumpflow.control.intake import Arrival
from dumpflow.control.pipeline import INGEST_RETRY_LIMIT
from dumpflow.control.state import RUNNING_STATUSES, TERMINAL_STATUSES, DumpStatus
from dumpflow.dumps import JST, DumpRef, manifest_key_for


def drive_to_the_end(world: World, refs: list[DumpRef]) -> None:
    """Complete whatever runs until every dump is final (sweeping in between)."""
    for _ in range(20):
        states = [world.state(r) for r in refs]
        if all(s.status in TERMINAL_STATUSES for s in states):
            return
        running = next((s for s in states if s.status in RUNNING_STATUSES), None)
        if running is not None and running.status is DumpStatus.LOADING:
            world.finish_load(running.ref)
        elif running is not None:
            world.finish_transform(running.ref)
        else:
            world.clock.advance(minutes=15)
            world.sweep()


def letters_for(world: World, ref: DumpRef) -> list[dict[str, object]]:
    return [m for m in world.dlq_messages() if m.get("key") == ref.key]


def midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=JST).astimezone(dt.UTC)


# ----- defects --------------------------------------------------------------------------------


def test_a_due_future_dump_whose_evaluation_keeps_failing_does_not_wait_forever(
    faulty: World,
) -> None:
    """Nothing stays stuck: a WAITING(future) dump whose evaluation fails once its day has
    begun is FAILED at ingest with a letter after the retry limit (it used to wait for ever,
    the 30-minute limit covering RECEIVED dumps only, and WaitingAgeSeconds never counted it)."""
    ref = faulty.put_dump(faulty.day(+1))
    assert faulty.deliver(ref) is Arrival.EVALUATED
    assert faulty.state(ref).reason == "future"
    faulty.clock.now = midnight_utc(ref.dump_date) + dt.timedelta(minutes=1)
    throttle_manifest(faulty, ref, times=1000)
    gauges = []
    for _ in range(12):  # three hours of sweeps
        gauges.append(faulty.sweep().oldest_waiting_seconds)
        faulty.clock.advance(minutes=15)
    state = faulty.state(ref)
    assert state.status in TERMINAL_STATUSES, (
        f"still {state.status}({state.reason}) 3 h after its day began, evaluation failing "
        f"({(state.last_error or {}).get('message')}); WaitingAgeSeconds stayed {max(gauges)}"
    )
    assert (state.status, state.stage) == (DumpStatus.FAILED, "ingest")
    assert len(letters_for(faulty, ref)) == 1


def test_a_newer_dump_never_overtakes_an_unevaluated_older_one_without_its_letter(
    faulty: World,
) -> None:
    """Date order: an older RECEIVED dump whose evaluation keeps failing holds newer daily
    dumps back until it is FAILED (with a letter) or evaluated. The hold used to end at
    exactly 30 min while only the next sweep failed it: a newer dump arriving in between
    started, and the older day ended SKIPPED_STALE with no letter."""
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, older, times=3)
    assert faulty.deliver(older) is Arrival.DEFERRED  # t = 0
    faulty.clock.advance(minutes=15)
    assert faulty.sweep().deferred == [older.key]  # t = 15
    faulty.clock.advance(minutes=14)
    assert faulty.sweep().deferred == [older.key]  # t = 29: under the limit
    faulty.clock.advance(minutes=2)
    faulty.deliver(newer)  # t = 31, before the next sweep
    overtaken = faulty.state(newer).status in RUNNING_STATUSES
    when_overtaken = faulty.state(older).status
    if overtaken:
        faulty.finish_load(newer)
        faulty.finish_transform(newer)
    faulty.clock.advance(minutes=13)
    faulty.sweep()  # t = 44: the manifest can be read now
    drive_to_the_end(faulty, [older, newer])
    final = faulty.state(older)
    letters = letters_for(faulty, older)
    assert not overtaken or when_overtaken is DumpStatus.FAILED, (
        f"{newer.key} started while {older.key} was {when_overtaken} (never evaluated, no "
        f"letter); {older.key} ended {final.status}: {final.reason}; DLQ letters: {letters}"
    )


def test_a_slot_holder_that_never_started_does_not_overtake_an_older_dump_still_retried(
    faulty: World,
) -> None:
    """Date order: the newer dump took the slot and its handler died before the claim; the
    older one arrives and its evaluation is deferred. Resuming the slot holder after the start
    grace must not start the newer dump ahead of the older one (it used to: ``_tend`` claimed
    without the overtaking check); the holder gives the slot up instead."""
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    ddb(faulty).arm(
        "put_item",
        Fault.KILL_AFTER,
        when=lambda kwargs: kwargs.get("Item", {}).get("pk", {}).get("S") == "lease",
    )
    with pytest.raises(HandlerKilled):
        faulty.deliver(newer)
    assert faulty.store.lease() is not None
    faulty.clock.advance(minutes=1)
    throttle_manifest(faulty, older, times=1000)
    assert faulty.deliver(older) is Arrival.DEFERRED
    faulty.clock.advance(minutes=15)  # past START_GRACE, 15 min after the older arrived
    faulty.sweep()
    held = faulty.state(older)
    assert held.status is DumpStatus.RECEIVED
    assert faulty.clock() - (held.at("received_at") or faulty.clock()) < INGEST_RETRY_LIMIT
    assert faulty.state(newer).status not in RUNNING_STATUSES, (
        f"{newer.key} started while the older {older.key} is RECEIVED and still retried"
    )


def test_a_manifest_that_arrived_but_could_not_be_read_does_not_reject_the_dump_as_never_arrived(
    faulty: World,
) -> None:
    """A manifest that arrived but cannot be read is a failure (FAILED at ingest after the
    retry limit, with a replayable letter), never REJECTED "did not arrive" as bad input with
    no letter, as the manifest wait's end used to report it."""
    ref = faulty.put_dump(faulty.day(-1), manifest=False)
    faulty.deliver(ref)
    assert faulty.state(ref).reason == "manifest"
    key = faulty.put_manifest(ref)
    throttle_manifest(faulty, ref, times=1000)
    body = json.dumps({"bucket": ref.bucket, "key": key, "etag": "abc", "size": "300"})
    assert faulty.deliver_body(body) is Arrival.DEFERRED
    for _ in range(6):
        faulty.clock.advance(minutes=15)
        faulty.sweep()
    state = faulty.state(ref)
    assert state.status is not DumpStatus.REJECTED, f"REJECTED: {state.reason}"
    assert state.status is DumpStatus.FAILED
    assert len(letters_for(faulty, ref)) == 1


# ----- regressions that hold --------------------------------------------------------------


def test_a_deferral_whose_own_write_fails_still_leaves_the_dump_to_the_sweeper(
    faulty: World,
) -> None:
    """The evaluation fails and so does the write of last_error (_defer): the message is
    still acknowledged, the dump stays RECEIVED and the sweeper evaluates it later."""
    ref = faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, ref, times=1)

    def refuse() -> None:
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "GetItem")

    ddb(faulty).arm(
        "get_item",
        Fault.CALL_AFTER,
        when=lambda kwargs: kwargs.get("Key", {}).get("pk", {}).get("S") == ref.key,
        then=refuse,
        times=1,
    )
    assert faulty.deliver(ref) is Arrival.DEFERRED
    assert faulty.state(ref).status is DumpStatus.RECEIVED
    faulty.clock.advance(minutes=6)
    assert faulty.sweep().reevaluated == [ref.key]
    assert faulty.state(ref).status is DumpStatus.LOADING
    assert len(faulty.runs_for(ref)) == 1


def test_a_future_dump_becomes_due_exactly_at_midnight_jst_and_two_days_ahead_is_rejected(
    faulty: World,
) -> None:
    faulty.clock.now = midnight_utc(faulty.today + dt.timedelta(days=1)) - dt.timedelta(
        seconds=1
    )  # 23:59:59 JST
    tomorrow, later = faulty.put_dump(faulty.day(+1)), faulty.put_dump(faulty.day(+2))
    faulty.deliver(tomorrow)
    faulty.deliver(later)
    assert faulty.state(later).status is DumpStatus.REJECTED
    waiting = faulty.state(tomorrow)
    assert (waiting.status, waiting.reason) == (DumpStatus.WAITING, "future")
    assert faulty.sweep().oldest_waiting_seconds == 0.0
    faulty.clock.advance(seconds=1)  # 00:00:00 JST of its date
    faulty.sweep()
    assert faulty.state(tomorrow).status is DumpStatus.LOADING
    assert len(faulty.runs_for(tomorrow)) == 1


def test_duplicates_of_a_deferred_dump_evaluate_it_and_start_one_run(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, ref, times=2)
    assert faulty.deliver(ref) is Arrival.DEFERRED
    assert faulty.deliver(ref) is Arrival.DEFERRED
    faulty.deliver(ref)
    faulty.deliver(ref)
    assert faulty.state(ref).status is DumpStatus.LOADING
    assert len(faulty.runs_for(ref)) == 1
    assert faulty.state(ref).duplicate_events == 3


def test_a_new_upload_over_a_deferred_dump_restarts_its_retry_window(faulty: World) -> None:
    """received_at restarts with new content: its 30 minutes count from the new upload."""
    ref = faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, ref, times=1000)
    faulty.deliver(ref)
    faulty.clock.advance(minutes=25)
    again = faulty.put_dump(faulty.day(-1), body=b"x" * 4096)
    assert faulty.deliver(again) is Arrival.DEFERRED
    faulty.clock.advance(minutes=10)  # 35 min after the first upload, 10 after the second
    faulty.sweep()
    state = faulty.state(again)
    assert (state.status, state.etag) == (DumpStatus.RECEIVED, again.etag)
    faulty.clock.advance(minutes=25)
    faulty.sweep()
    assert (faulty.state(again).status, faulty.state(again).stage) == (DumpStatus.FAILED, "ingest")


def test_two_deferred_dumps_run_in_date_order_once_readable(faulty: World) -> None:
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, newer, times=1)
    throttle_manifest(faulty, older, times=2)
    assert faulty.deliver(newer) is Arrival.DEFERRED
    assert faulty.deliver(older) is Arrival.DEFERRED
    faulty.clock.advance(minutes=6)
    faulty.sweep()  # newer evaluates (WAITING lease), older fails again: newer held back
    assert faulty.glue_runs() == []
    faulty.clock.advance(minutes=15)
    faulty.sweep()
    assert faulty.state(older).status is DumpStatus.LOADING
    faulty.finish_load(older)
    faulty.finish_transform(older)
    one_pipeline(faulty)
    assert faulty.state(newer).status is DumpStatus.LOADING
    faulty.finish_load(newer)
    faulty.finish_transform(newer)
    assert faulty.store.watermark() == newer.dump_date


def test_a_deferred_dump_whose_object_was_deleted_ends_without_a_run(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, ref, times=1)
    faulty.deliver(ref)
    for version in faulty.s3.list_object_versions(Bucket=ref.bucket, Prefix=ref.key)["Versions"]:
        faulty.s3.delete_object(Bucket=ref.bucket, Key=ref.key, VersionId=version["VersionId"])
    for _ in range(4):
        faulty.clock.advance(minutes=15)
        faulty.sweep()
        running = faulty.state(ref)
        if running.status is DumpStatus.LOADING:
            faulty.finish_load(ref, "FAILED", "no such key")
    state = faulty.state(ref)
    assert state.status in TERMINAL_STATUSES
    assert faulty.store.lease() is None


def test_a_replay_of_a_dump_failed_at_ingest_runs_it(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, ref, times=3)
    faulty.deliver(ref)
    for _ in range(3):
        faulty.clock.advance(minutes=15)
        faulty.sweep()
    assert faulty.state(ref).status is DumpStatus.FAILED
    [letter] = letters_for(faulty, ref)
    assert letter["failure"]["status"] == "EVALUATION_FAILED"  # type: ignore[index]
    attempt = faulty.store.arm_replay(
        ref.key, mode="replay", force=False, note="", now=faulty.clock()
    )
    faulty.deliver(ref, mode="replay", attempt=attempt)
    assert faulty.state(ref).status is DumpStatus.LOADING
    assert faulty.deliver(ref, mode="replay", attempt=attempt) is Arrival.REPLAY_NOT_ARMED
    assert len(faulty.runs_for(ref)) == 1


def test_a_manifest_key_for_a_date_with_no_dump_changes_nothing(faulty: World) -> None:
    body = json.dumps(
        {
            "bucket": faulty.settings.bucket,
            "key": manifest_key_for(faulty.day(-1)),
            "etag": "e",
            "size": "1",
        }
    )
    assert faulty.deliver_body(body) is Arrival.MANIFEST_EARLY


def _glue_timeout() -> Exception:
    return ClientError(
        {"Error": {"Code": "OperationTimeoutException", "Message": "timed out"}}, "StartJobRun"
    )


def _glue_5xx() -> Exception:
    return ClientError(
        {"Error": {"Code": "InternalServiceException", "Message": "oops"}}, "StartJobRun"
    )


def _connection_dropped() -> Exception:
    return ReadTimeoutError(endpoint_url="https://glue.ap-northeast-1.amazonaws.com")


@pytest.mark.parametrize("answer", [_glue_timeout, _glue_5xx, _connection_dropped])
def test_a_glue_start_that_committed_but_answered_an_error_is_not_started_twice(
    faulty: World, answer: Callable[[], Exception]
) -> None:
    """Exactly one Glue run per attempt: Glue created the run, then the call ended in an
    answer that does not say nothing started (a timeout, a 5xx, a dropped connection). The
    retry adopts the run carrying the attempt's token (it used to count as "busy", drop the
    token and start a second run)."""
    ref = faulty.put_dump(faulty.day(-1))
    glue = world_glue(faulty)

    def fail_after_commit() -> None:
        raise answer()

    glue.arm("start_job_run", Fault.CALL_AFTER, then=fail_after_commit)
    faulty.deliver(ref)
    for _ in range(4):
        faulty.clock.advance(minutes=15)
        faulty.sweep()
    assert len(faulty.runs_for(ref)) == 1, (
        f"{len(faulty.runs_for(ref))} Glue runs for one attempt of {ref.key} "
        f"(now {faulty.state(ref).status}, attempt {faulty.state(ref).attempts})"
    )


def test_a_glue_busy_slot_holder_gives_the_slot_up_to_an_older_dump_that_arrived(
    faulty: World, glue_runs_stay_running: None
) -> None:
    """The newer dump holds the slot, waiting on Glue's busy run slot; an older dump arrives
    meanwhile. When Glue's slot frees, the older one starts first, not the holder."""
    manual = faulty.glue.start_job_run(JobName=faulty.settings.glue_job, Arguments={})
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    faulty.deliver(newer)
    assert (faulty.state(newer).status, faulty.state(newer).reason) == (
        DumpStatus.WAITING,
        "glue-busy",
    )
    throttle_manifest(faulty, older, times=1)
    assert faulty.deliver(older) is Arrival.DEFERRED
    force_glue_state(faulty, manual["JobRunId"], "SUCCEEDED")
    faulty.clock.advance(minutes=6)
    faulty.sweep()
    assert faulty.state(older).status is DumpStatus.LOADING
    assert faulty.state(newer).status is DumpStatus.WAITING
    assert faulty.runs_for(newer) == []
    one_pipeline(faulty)


def test_a_replay_of_an_older_day_failed_at_ingest_never_moves_the_watermark_back(
    faulty: World,
) -> None:
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, older, times=3)
    faulty.deliver(older)
    faulty.deliver(newer)
    for _ in range(3):
        faulty.clock.advance(minutes=15)
        faulty.sweep()
    assert (faulty.state(older).status, faulty.state(older).stage) == (DumpStatus.FAILED, "ingest")
    faulty.finish_load(newer)
    faulty.finish_transform(newer)
    assert faulty.store.watermark() == newer.dump_date
    attempt = faulty.store.arm_replay(
        older.key, mode="replay", force=False, note="", now=faulty.clock()
    )
    faulty.deliver(older, mode="replay", attempt=attempt)
    replayed = faulty.state(older)
    assert replayed.status is DumpStatus.LOADING and replayed.backfill
    faulty.finish_load(older)
    faulty.finish_transform(older)
    assert faulty.state(older).status is DumpStatus.SUCCEEDED
    assert faulty.store.watermark() == newer.dump_date
    assert len(faulty.runs_for(older)) == 1


def test_a_replay_after_the_watermark_does_not_overtake_an_older_dump_waiting_for_its_manifest(
    faulty: World,
) -> None:
    """Found by the fault explorer's author: the replay is a daily dump (dated after the
    watermark) and used to start at once; the older day then ended SKIPPED_STALE, a gap."""
    failed = faulty.put_dump(faulty.day(-1))
    faulty.deliver(failed)
    faulty.finish_load(failed, "FAILED", "boom")
    assert faulty.state(failed).status is DumpStatus.FAILED
    late = faulty.put_dump(faulty.day(-2), manifest=False)
    faulty.deliver(late)
    assert (faulty.state(late).status, faulty.state(late).reason) == (
        DumpStatus.WAITING,
        "manifest",
    )
    attempt = faulty.store.arm_replay(
        failed.key, mode="replay", force=False, note="", now=faulty.clock()
    )
    faulty.deliver(failed, mode="replay", attempt=attempt)
    assert faulty.state(failed).status is DumpStatus.WAITING  # held behind the older day
    faulty.put_manifest(late)
    faulty.deliver_body(json.dumps({**json.loads(faulty.body(late)), "key": late.manifest_key}))
    assert faulty.state(late).status is DumpStatus.LOADING
    drive_to_the_end(faulty, [late, failed])
    assert [faulty.state(r).status for r in (late, failed)] == [DumpStatus.SUCCEEDED] * 2
    assert faulty.store.watermark() == failed.dump_date
