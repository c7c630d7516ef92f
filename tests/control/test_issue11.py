"""Issue 11 regressions: each reproduced failure as a named case, with fault injection at the
side effect that caused it (a response lost after the write committed, the handler killed
right after a side effect, an interleaving of two handlers).

moto's DynamoDB runs TransactWriteItems; these tests call it from one thread at a time (its
conditional writes are not atomic across threads; dynalite covers single-item races).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from control.aws_world import REGION, World, dump_bytes
from control.faults import Fault, HandlerKilled, writes_status
from control.faulty_world import (
    ddb,
    faulty_ecs,
    one_pipeline,
    s3,
    throttle_manifest,
    world_glue,
)
from dumpflow.control.completion import Completion, Completions
from dumpflow.control.intake import Arrival
from dumpflow.control.pipeline import START_GRACE, Pipeline
from dumpflow.control.state import RUNNING_STATUSES, TERMINAL_STATUSES, DumpStatus, parse_iso
from dumpflow.dumps import JST, DumpRef

SETTLE = dt.timedelta(minutes=6)


def drive(world: World, refs: list[DumpRef], *, steps: int = 40) -> None:
    """Complete whatever runs (by its event) until every dump is final; sweeps in between."""
    for _ in range(steps):
        one_pipeline(world)
        states = [world.state(r) for r in refs]
        if all(s.status in TERMINAL_STATUSES for s in states):
            return
        running = next((s for s in states if s.status in RUNNING_STATUSES), None)
        if running is not None and running.status is DumpStatus.LOADING and running.glue_run_id:
            Completions(world.ctx).on_glue_event(world.glue_event(running.glue_run_id, "SUCCEEDED"))
        elif running is not None and running.ecs_task_arn:
            world.stop_task(running.ecs_task_arn, 0)
        else:
            world.clock.advance(seconds=START_GRACE.total_seconds() + 1)
            world.sweep()
    raise AssertionError(f"not settled: {[(s.key, s.status) for s in map(world.state, refs)]}")


def three_dumps(world: World) -> tuple[DumpRef, DumpRef, DumpRef]:
    """The oldest runs (its load done); the two others wait for the slot."""
    first, second, third = (world.put_dump(world.day(n)) for n in (-3, -2, -1))
    world.deliver(first)
    world.finish_load(first)
    world.deliver(second)
    world.deliver(third)
    assert world.state(second).status is DumpStatus.WAITING
    return first, second, third


# ----- 1. a write that committed but whose response was lost --------------------------------


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        ("put_item", "LOADING"),  # the WAITING -> LOADING claim
        ("put_item", "TRANSFORMING"),
        ("put_item", "RECEIVED"),  # the first write of a delivery
        ("put_item", "WAITING"),
        ("transact_write_items", "SUCCEEDED"),  # the ending: state + watermark + slot
        ("put_item", None),  # the lease
    ],
)
def test_a_lost_response_is_recognised_as_the_writers_own(
    faulty: World, operation: str, status: str | None
) -> None:
    """#1: the SDK retries a write that committed; the retry fails the version check. Before:
    the claim read as a lost race, the slot was freed and the next dump started beside it."""
    first, second, third = three_dumps(faulty)
    if status is None:
        when = lambda kwargs: kwargs.get("Item", {}).get("pk", {}).get("S") == "lease"  # noqa: E731
    else:
        when = writes_status(status)
    rule = ddb(faulty).arm(operation, Fault.LOSE_RESPONSE, when=when, times=3)
    fourth = faulty.put_dump(faulty.day(0))
    faulty.deliver(fourth)
    one_pipeline(faulty)
    faulty.stop_task(faulty.state(first).ecs_task_arn or "", 0)
    drive(faulty, [first, second, third, fourth])
    assert rule.fired >= 1
    assert [faulty.state(r).status for r in (first, second, third, fourth)] == [
        DumpStatus.SUCCEEDED
    ] * 4
    assert faulty.store.watermark() == fourth.dump_date
    assert faulty.store.lease() is None
    for ref in (first, second, third, fourth):
        assert len(faulty.runs_for(ref)) == 1, f"{ref.key} loaded twice"


# ----- 2. the success path: archive, then one transaction, then the next dump ---------------


@pytest.mark.parametrize(
    ("client", "operation", "fault"),
    [
        ("s3", "copy", Fault.KILL_AFTER),
        ("ddb", "transact_write_items", Fault.KILL_BEFORE),
        ("ddb", "transact_write_items", Fault.KILL_AFTER),
    ],
)
def test_a_crash_anywhere_on_the_success_path_is_settled_by_the_sweeper(
    faulty: World, client: str, operation: str, fault: Fault
) -> None:
    """#2: no redelivery (the event's retries are spent); the sweeper alone settles it."""
    first, second, _ = three_dumps(faulty)
    held = faulty.put_dump(first.dump_date, body=dump_bytes(first.dump_date, rows=7))
    faulty.deliver(held)  # a re-upload while the first runs: held on the item
    target = s3(faulty) if client == "s3" else ddb(faulty)
    target.arm(operation, fault)
    task_arn = faulty.state(first).ecs_task_arn
    assert task_arn is not None
    with pytest.raises(HandlerKilled):
        faulty.stop_task(task_arn, 0)
    faulty.clock.advance(seconds=SETTLE.total_seconds())
    faulty.sweep()
    state = faulty.state(first)
    assert state.status is DumpStatus.SKIPPED_STALE  # succeeded, then the held upload settled
    assert "succeeded_at" in state.timestamps and state.pending_upload is None
    assert (state.etag, state.size) == (held.etag, held.size)
    assert faulty.store.watermark() == first.dump_date
    assert faulty.state(second).status is DumpStatus.LOADING
    archived = faulty.s3.get_object(Bucket=first.bucket, Key=first.processed_key)["Body"].read()
    assert archived == dump_bytes(first.dump_date)  # the bytes that ran, not the re-upload


def test_a_sweep_interleaved_with_a_late_success_never_puts_the_watermark_on_a_failed_day(
    faulty: World,
) -> None:
    """#2: the sweeper fails the dump between the late success's archive copy and its
    transaction. Before: the watermark moved to the day, which then ended FAILED."""
    first, _, _ = three_dumps(faulty)
    pipeline = Pipeline(faulty.ctx)

    def sweeper_fails_it() -> None:
        pipeline.fail(
            faulty.state(first),
            {DumpStatus.TRANSFORMING},
            stage="transform",
            status="LOST",
            message="the sweeper found no task",
        )

    s3(faulty).arm("copy", Fault.CALL_AFTER, then=sweeper_fails_it)
    faulty.finish_transform(first)
    assert faulty.state(first).status is DumpStatus.FAILED
    assert faulty.store.watermark() is None
    assert [m["failure"]["status"] for m in faulty.dlq_messages()] == ["LOST"]


# ----- 3. RECEIVED forever --------------------------------------------------------------------


def test_a_dump_left_received_is_evaluated_by_the_sweeper(faulty: World) -> None:
    """#3: the first delivery died after the RECEIVED write and its message went to the DLQ."""
    ref = faulty.put_dump(faulty.day(-1))
    ddb(faulty).arm("put_item", Fault.KILL_AFTER, when=writes_status("RECEIVED"))
    with pytest.raises(HandlerKilled):
        faulty.deliver(ref)
    assert faulty.state(ref).status is DumpStatus.RECEIVED
    faulty.clock.advance(minutes=2)
    faulty.sweep()
    assert faulty.state(ref).status is DumpStatus.RECEIVED  # a live handler may still own it
    faulty.clock.advance(minutes=4)
    report = faulty.sweep()
    assert report.reevaluated == [ref.key]
    assert faulty.state(ref).status is DumpStatus.LOADING


def test_a_throttled_manifest_read_leaves_received_and_the_sweeper_or_replay_takes_it(
    faulty: World,
) -> None:
    """#3: S3 throttles the manifest read; replay accepts the stuck dump (it used to refuse
    it as "still being processed") and its message evaluates it again."""
    ref = faulty.put_dump(faulty.day(-1))
    s3(faulty).arm("get_object", Fault.KILL_BEFORE)
    with pytest.raises(HandlerKilled):
        faulty.deliver(ref)
    assert faulty.state(ref).status is DumpStatus.RECEIVED
    with pytest.raises(Exception, match="still being processed"):
        faulty.store.arm_replay(ref.key, mode="replay", force=False, note="", now=faulty.clock())
    faulty.clock.advance(minutes=6)
    attempt = faulty.store.arm_replay(
        ref.key, mode="replay", force=False, note="", now=faulty.clock()
    )
    faulty.deliver(ref, mode="replay", attempt=attempt)
    state = faulty.state(ref)
    assert state.status is DumpStatus.LOADING and len(faulty.runs_for(ref)) == 1


# ----- 4. the archive holds the version that ran --------------------------------------------


def test_the_archive_copies_the_version_that_ran_not_a_later_upload(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    faulty.deliver(ref)
    version = faulty.versions[(ref.key, ref.etag)]
    [run] = faulty.runs_for(ref)
    assert run["Arguments"]["--dump_version_id"] == version
    faulty.finish_load(ref)
    newer = faulty.put_dump(ref.dump_date, body=dump_bytes(ref.dump_date, rows=3))
    faulty.deliver(newer)
    faulty.finish_transform(ref)
    got = faulty.s3.get_object(Bucket=ref.bucket, Key=ref.processed_key)["Body"].read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(dump_bytes(ref.dump_date)).hexdigest()


# ----- 5. runs matched by the attempt's token -----------------------------------------------


def test_a_replayed_attempt_never_adopts_the_previous_attempts_glue_run(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    faulty.deliver(ref)
    first_run = faulty.state(ref).glue_run_id
    faulty.finish_load(ref, "FAILED", "disk full")
    attempt = faulty.store.arm_replay(ref.key, mode="replay", force=False, note="")
    glue = world_glue(faulty)
    glue.arm("start_job_run", Fault.KILL_BEFORE)
    with pytest.raises(HandlerKilled):
        faulty.deliver(ref, mode="replay", attempt=attempt)
    faulty.clock.advance(seconds=START_GRACE.total_seconds() + 1)
    faulty.sweep()
    state = faulty.state(ref)
    assert state.status is DumpStatus.LOADING
    assert state.glue_run_id is not None and state.glue_run_id != first_run
    assert len(faulty.runs_for(ref)) == 2


def test_a_late_stopped_event_of_attempt_one_is_ignored_for_attempt_two(faulty: World) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    faulty.deliver(ref)
    faulty.finish_load(ref)
    old_task = faulty.state(ref).ecs_task_arn
    assert old_task is not None
    late = faulty.stopped(old_task, 1)
    Completions(faulty.ctx).on_task_event(late)
    assert faulty.state(ref).status is DumpStatus.FAILED
    attempt = faulty.store.arm_replay(ref.key, mode="replay", force=False, note="")
    faulty.deliver(ref, mode="replay", attempt=attempt)
    ecs = faulty_ecs(faulty)
    ecs.arm("run_task", Fault.KILL_AFTER)  # attempt 2's task starts; its arn is not recorded
    with pytest.raises(HandlerKilled):
        faulty.finish_load(ref)
    assert Completions(faulty.ctx).on_task_event(late) is Completion.UNKNOWN_RUN
    state = faulty.state(ref)
    assert state.status is DumpStatus.TRANSFORMING
    new_task = next(
        t["taskArn"] for t in faulty.tasks() if t["taskArn"] != old_task
    )  # attempt 2's task, still running
    assert faulty.stop_task(new_task, 0) is Completion.HANDLED  # adopted by its startedBy
    assert faulty.state(ref).status is DumpStatus.SUCCEEDED


# ----- 6. a re-upload whose manifest comes after it -----------------------------------------


def test_a_reupload_waits_for_its_own_manifest_instead_of_being_judged_by_the_old_one(
    faulty: World,
) -> None:
    day = faulty.day(-1)
    ref = faulty.put_dump(day)
    faulty.deliver(ref)
    faulty.finish_load(ref, "FAILED", "bad row")
    fixed_bytes = dump_bytes(day, rows=60)
    fixed = faulty.put_dump(day, body=fixed_bytes, manifest=False)
    faulty.deliver(fixed)
    state = faulty.state(fixed)
    assert (state.status, state.reason) == (DumpStatus.WAITING, "manifest")
    manifest_key = faulty.put_manifest(fixed)
    assert faulty.deliver_body(faulty.body(fixed).replace(fixed.key, manifest_key)).value == (
        "evaluated"
    )
    state = faulty.state(fixed)
    assert state.status is DumpStatus.LOADING
    assert state.expected_sha256 == hashlib.sha256(fixed_bytes).hexdigest()


# ----- 8. deleted before the archive; lost dbt success; one bad item; sweeps go on ----------


def test_a_dump_deleted_before_its_archive_fails_clearly_and_the_pipeline_moves_on(
    faulty: World,
) -> None:
    first, second, _ = three_dumps(faulty)
    versions = faulty.s3.list_object_versions(Bucket=first.bucket, Prefix=first.key)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        faulty.s3.delete_object(Bucket=first.bucket, Key=first.key, VersionId=entry["VersionId"])
    faulty.finish_transform(first)
    state = faulty.state(first)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "archive")
    assert (
        state.last_error is not None
        and "deleted before it could be archived" in (state.last_error["message"])
    )
    assert faulty.store.watermark() is None
    assert faulty.state(second).status is DumpStatus.LOADING


def forget_task(world: World, task_arn: str) -> None:
    """ECS forgets a stopped task after about an hour (moto keeps it forever)."""
    del ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks[world.settings.ecs_cluster][task_arn]


@pytest.mark.parametrize("report_status", ["succeeded", "failed", None])
def test_a_lost_dbt_event_after_ecs_forgot_the_task_is_resolved_from_the_dbt_report(
    faulty: World, report_status: str | None
) -> None:
    ref = faulty.put_dump(faulty.day(-1))
    faulty.deliver(ref)
    faulty.finish_load(ref)
    task_arn = faulty.state(ref).ecs_task_arn
    assert task_arn is not None
    faulty.clock.advance(minutes=9)
    if report_status:
        report = {
            "dump_date": ref.dump_date.isoformat(),
            "dump_key": ref.key,
            "status": report_status,
            "error": None if report_status == "succeeded" else "model silver_tenants failed",
            "finished_at": faulty.clock().isoformat(),
        }
        faulty.s3.put_object(
            Bucket=ref.bucket,
            Key=f"reports/dbt/{ref.dump_date.isoformat()}.json",
            Body=json.dumps(report).encode(),
        )
    forget_task(faulty, task_arn)
    faulty.sweep()
    state = faulty.state(ref)
    if report_status == "succeeded":
        assert state.status is DumpStatus.SUCCEEDED
        assert faulty.store.watermark() == ref.dump_date
    else:
        assert (state.status, state.stage) == (DumpStatus.FAILED, "transform")
        assert state.last_error is not None
        expected = "model silver_tenants failed" if report_status else "left no report"
        assert expected in state.last_error["message"]
    assert faulty.store.lease() is None


def test_a_failing_evaluation_is_kept_on_the_dump_and_the_sweep_goes_on(faulty: World) -> None:
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    for ref in (older, newer):
        ddb(faulty).arm("put_item", Fault.KILL_AFTER, when=writes_status("RECEIVED"))
        with pytest.raises(HandlerKilled):
            faulty.deliver(ref)
    faulty.clock.advance(minutes=6)
    throttle_manifest(faulty, newer)
    report = faulty.sweep()
    assert report.errors == [] and report.deferred == [newer.key]
    assert faulty.telemetry.counts["EvaluationsDeferred"] == 1
    assert faulty.state(older).status is DumpStatus.LOADING
    stuck = faulty.state(newer)
    assert stuck.status is DumpStatus.RECEIVED
    assert stuck.last_error is not None and "SlowDown" in stuck.last_error["message"]


def test_a_sweep_step_that_raises_is_counted_and_the_rest_runs(faulty: World) -> None:
    """Glue cannot be asked about the slot holder's run: the sweep still evaluates the
    stuck dump and records the error (SweepErrors)."""
    from botocore.exceptions import ClientError

    running, stuck = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    faulty.deliver(running)
    ddb(faulty).arm("put_item", Fault.KILL_AFTER, when=writes_status("RECEIVED"))
    with pytest.raises(HandlerKilled):
        faulty.deliver(stuck)
    faulty.clock.advance(minutes=6)

    def unavailable() -> None:
        raise ClientError({"Error": {"Code": "InternalServiceException"}}, "GetJobRun")

    world_glue(faulty).arm("get_job_run", Fault.CALL_AFTER, then=unavailable, times=10)
    report = faulty.sweep()
    assert len(report.errors) == 1 and "the slot holder" in report.errors[0]
    assert faulty.telemetry.counts["SweepErrors"] == 1
    assert report.reevaluated == [stuck.key]
    assert faulty.state(stuck).status is DumpStatus.WAITING
    assert faulty.state(running).status is DumpStatus.LOADING


# ----- 9. a dump dated tomorrow; an evaluation that keeps failing ----------------------------


def test_a_dump_dated_tomorrow_waits_for_its_day_and_then_runs(faulty: World) -> None:
    """It used to be REJECTED and never looked at again after midnight."""
    ref = faulty.put_dump(faulty.day(+1))
    assert faulty.deliver(ref) is Arrival.EVALUATED
    state = faulty.state(ref)
    assert (state.status, state.reason) == (DumpStatus.WAITING, "future")
    midnight = dt.datetime.combine(ref.dump_date, dt.time(), tzinfo=JST)
    assert state.next_look_at is not None
    assert parse_iso(state.next_look_at) == midnight
    faulty.clock.now = midnight.astimezone(dt.UTC) - dt.timedelta(minutes=1)
    report = faulty.sweep()
    assert faulty.state(ref).status is DumpStatus.WAITING
    assert report.oldest_waiting_seconds == 0.0  # waiting for its day is no alarm
    assert faulty.runs_for(ref) == []
    faulty.clock.now = midnight.astimezone(dt.UTC) + dt.timedelta(minutes=14)
    faulty.sweep()
    assert faulty.state(ref).status is DumpStatus.LOADING
    assert len(faulty.runs_for(ref)) == 1


def test_an_older_dump_whose_evaluation_failed_is_not_overtaken(faulty: World) -> None:
    """Its message was acknowledged (the queue is not blocked), but date order holds: the
    newer dump waits until the sweeper has evaluated the older one, which starts first."""
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, older, times=2)
    assert faulty.deliver(older) is Arrival.DEFERRED
    assert faulty.deliver(newer) is Arrival.EVALUATED
    assert faulty.state(older).status is DumpStatus.RECEIVED
    assert (faulty.state(newer).status, faulty.state(newer).reason) == (
        DumpStatus.WAITING,
        "lease",
    )
    assert faulty.glue_runs() == []
    faulty.clock.advance(minutes=6)
    report = faulty.sweep()  # the second read fails too: still deferred, still held
    assert report.deferred == [older.key] and faulty.glue_runs() == []
    faulty.clock.advance(minutes=15)
    faulty.sweep()
    assert faulty.state(older).status is DumpStatus.LOADING
    assert faulty.state(older).last_error is None  # the deferral is not shown as current
    assert faulty.state(newer).status is DumpStatus.WAITING
    faulty.finish_load(older)
    faulty.finish_transform(older)
    assert faulty.state(newer).status is DumpStatus.LOADING


def test_an_evaluation_that_never_succeeds_ends_failed_with_a_letter_and_frees_the_line(
    faulty: World,
) -> None:
    older, newer = faulty.put_dump(faulty.day(-2)), faulty.put_dump(faulty.day(-1))
    throttle_manifest(faulty, older, times=1000)
    faulty.deliver(older)
    faulty.deliver(newer)
    sweeps = 0
    while faulty.state(older).status is DumpStatus.RECEIVED:
        assert faulty.glue_runs() == [], "the newer dump overtook a dump still retried"
        faulty.clock.advance(minutes=15)
        faulty.sweep()
        sweeps += 1
        assert sweeps <= 5, "the retries never end"
    failed = faulty.state(older)
    assert (failed.status, failed.stage) == (DumpStatus.FAILED, "ingest")
    assert failed.last_error is not None
    assert "could not be evaluated for 1800 s" in failed.last_error["message"]
    assert "SlowDown" in failed.last_error["message"]
    letters = [m for m in faulty.dlq_messages() if m.get("key") == older.key]
    assert len(letters) == 1 and letters[0]["failure"]["status"] == "EVALUATION_FAILED"
    assert faulty.state(newer).status is DumpStatus.LOADING
