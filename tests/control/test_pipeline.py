"""One dump at a time, in date order: completions, failures, ordering, recovery of lost starts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from control.aws_world import World, crash_once, force_glue_state
from dumpflow.control.completion import Completion, Completions
from dumpflow.control.intake import Arrival
from dumpflow.control.pipeline import START_GRACE
from dumpflow.control.state import DumpStatus
from dumpflow.dumps import DumpRef


def env_of(task: dict[str, Any]) -> dict[str, str]:
    overrides = task["overrides"]["containerOverrides"][0]["environment"]
    return {entry["name"]: entry["value"] for entry in overrides}


def test_full_run_archives_advances_the_watermark_and_frees_the_slot(world: World) -> None:
    day = world.day(-1)
    ref = world.put_dump(day)
    world.deliver(ref)
    assert world.finish_load(ref) is Completion.HANDLED
    state = world.state(ref)
    assert state.status is DumpStatus.TRANSFORMING
    [task] = world.tasks()
    assert task["taskArn"] == state.ecs_task_arn
    assert task["startedBy"] == f"dumpflow-{state.run_token}"
    assert env_of(task) == {
        "DUMP_KEY": ref.key,
        "DUMP_DATE": day.isoformat(),
        "DBT_SOURCE_SCHEMA": "staging",
        "DBT_BACKFILL": "0",
    }
    network = world.ecs.describe_tasks(cluster="dumpflow", tasks=[task["taskArn"]])["tasks"][0]
    assert network["launchType"] == "FARGATE"

    world.clock.advance(minutes=9)
    assert world.finish_transform(ref) is Completion.HANDLED
    state = world.state(ref)
    assert state.status is DumpStatus.SUCCEEDED
    assert world.archived(ref)
    assert world.store.watermark() == day
    assert world.store.lease() is None
    assert state.transform_seconds == 540.0
    assert world.telemetry.durations["TransformSeconds"] == [540.0]
    assert world.telemetry.counts["DumpsSucceeded"] == 1
    assert world.dlq_messages() == []


def test_second_dump_waits_for_the_slot_and_starts_when_it_frees(world: World) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    waiting = world.state(second)
    assert (waiting.status, waiting.reason, waiting.attempts) == (DumpStatus.WAITING, "lease", 0)
    assert len(world.glue_runs()) == 1
    world.finish_load(first)
    assert world.state(second).status is DumpStatus.WAITING
    world.finish_transform(first)
    assert world.state(second).status is DumpStatus.LOADING
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == second.key


def test_out_of_order_arrivals_run_in_date_order_and_never_regress(world: World) -> None:
    refs = {n: world.put_dump(world.day(n - 5)) for n in range(4)}
    world.deliver(refs[0])
    for n in (3, 1, 2):
        world.deliver(refs[n])
    assert [s.dump_date for s in world.store.waiting()] == [
        refs[1].dump_date,
        refs[2].dump_date,
        refs[3].dump_date,
    ]
    order, watermarks = [], []
    for _ in range(4):
        lease = world.store.lease()
        assert lease is not None
        running = next(r for r in refs.values() if r.key == lease.holder_key)
        order.append(running.dump_date)
        world.finish_load(running)
        world.finish_transform(running)
        watermarks.append(world.store.watermark())
    assert order == sorted(order)
    assert watermarks == order
    assert all(world.state(r).status is DumpStatus.SUCCEEDED for r in refs.values())


def test_older_dumps_arriving_after_a_newer_success_are_stale(world: World) -> None:
    refs = {n: world.put_dump(world.day(n - 5)) for n in range(4)}
    world.run_through(refs[0])
    world.run_through(refs[3])
    for n in (1, 2):
        world.deliver(refs[n])
        assert world.state(refs[n]).status is DumpStatus.SKIPPED_STALE
    assert world.store.watermark() == refs[3].dump_date


def test_waiting_dump_overtaken_by_a_newer_success_is_skipped_stale(world: World) -> None:
    newer, older = world.put_dump(world.day(-1)), world.put_dump(world.day(-2))
    world.deliver(newer)
    world.deliver(older)
    assert world.state(older).status is DumpStatus.WAITING
    world.finish_load(newer)
    world.finish_transform(newer)
    state = world.state(older)
    assert state.status is DumpStatus.SKIPPED_STALE
    assert world.store.lease() is None
    assert len(world.glue_runs()) == 1


def test_glue_failure_fails_the_dump_sends_it_to_the_dlq_and_starts_the_next(
    world: World,
) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    run_id = world.state(first).glue_run_id
    world.finish_load(first, "FAILED", "DumpValidationError: required table tenants is empty")
    state = world.state(first)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "load")
    assert state.last_error is not None
    assert "tenants is empty" in state.last_error["message"]
    [message] = world.dlq_messages()
    assert message["key"] == first.key and message["etag"] == first.etag
    assert message["size"] == str(first.size)
    failure = message["failure"]
    assert (failure["stage"], failure["status"], failure["glue_run_id"]) == (
        "load",
        "FAILED",
        run_id,
    )
    assert first.key in failure["message"] and "tenants is empty" in failure["message"]
    assert world.state(second).status is DumpStatus.LOADING
    assert world.store.watermark() is None


@pytest.mark.parametrize("glue_state", ["TIMEOUT", "STOPPED", "ERROR"])
def test_every_unsuccessful_glue_ending_fails_the_load(world: World, glue_state: str) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref, glue_state)
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "load")
    assert world.dlq_messages()[0]["failure"]["status"] == glue_state


def test_dbt_failure_fails_the_transform_with_the_stopped_reason(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref)
    task_arn = world.state(ref).ecs_task_arn
    world.finish_transform(ref, exit_code=1)
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "transform")
    assert not world.archived(ref)
    assert world.store.watermark() is None
    assert world.store.lease() is None
    [message] = world.dlq_messages()
    assert message["failure"]["ecs_task_arn"] == task_arn
    assert message["failure"]["status"] == "EXIT_1"
    assert "2 of 31 models errored" in message["failure"]["message"]


def test_late_and_duplicate_completion_events_are_no_ops(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    run_id = world.state(ref).glue_run_id
    assert run_id is not None
    success = world.glue_event(run_id, "SUCCEEDED")
    completions = Completions(world.ctx)
    assert completions.on_glue_event(success) is Completion.HANDLED
    assert completions.on_glue_event(success) is Completion.HANDLED
    assert len(world.tasks()) == 1
    late_failure = world.glue_event(run_id, "FAILED")
    completions.on_glue_event(late_failure)
    assert world.state(ref).status is DumpStatus.TRANSFORMING

    task_arn = world.state(ref).ecs_task_arn
    assert task_arn is not None
    stopped = world.task_event(task_arn, 0, f"dumpflow-{ref.dump_date:%Y%m%d}")
    completions.on_task_event(stopped)
    completions.on_task_event(stopped)
    completions.on_task_event(world.task_event(task_arn, 1, f"dumpflow-{ref.dump_date:%Y%m%d}"))
    completions.on_glue_event(late_failure)
    state = world.state(ref)
    assert state.status is DumpStatus.SUCCEEDED
    assert [h["to"] for h in state.history][-3:] == ["LOADING", "TRANSFORMING", "SUCCEEDED"]
    assert world.dlq_messages() == []
    assert world.telemetry.counts["DumpsSucceeded"] == 1


def test_events_of_other_jobs_and_task_families_are_ignored(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    completions = Completions(world.ctx)
    other_job = world.glue_event("jr_other", "FAILED")
    other_job["detail"]["jobName"] = "someone-elses-job"
    assert completions.on_glue_event(other_job) is Completion.OTHER_JOB
    other_task = world.task_event("arn:aws:ecs:ap-northeast-1:123456789012:task/x/1", 1, "cron")
    other_task["detail"]["taskDefinitionArn"] = (
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/nightly-report:7"
    )
    assert completions.on_task_event(other_task) is Completion.OTHER_JOB
    unknown_run = world.glue_event("jr_never_started_by_us", "FAILED")
    assert completions.on_glue_event(unknown_run) is Completion.UNKNOWN_RUN
    assert world.state(ref).status is DumpStatus.LOADING


def test_crash_between_the_state_write_and_the_glue_start_is_recovered_once(
    world: World,
) -> None:
    ref = world.put_dump(world.day(-1))
    crash_once(world.glue, "before-call.glue.StartJobRun")
    with pytest.raises(SystemExit):
        world.deliver(ref)
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING and state.glue_run_id is None
    assert world.glue_runs() == []

    world.deliver(ref)  # SQS redelivers within the grace: the start may still be in flight
    assert world.glue_runs() == []
    world.clock.advance(seconds=START_GRACE.total_seconds())
    world.deliver(ref)  # the redelivery after the visibility timeout resumes the start
    [run] = world.glue_runs()
    assert world.state(ref).glue_run_id == run["Id"]
    world.deliver(ref)
    assert len(world.glue_runs()) == 1


def test_crash_after_glue_started_but_before_the_run_id_was_saved_never_double_starts(
    world: World,
) -> None:
    ref = world.put_dump(world.day(-1))
    crash_once(world.glue, "after-call.glue.StartJobRun")
    with pytest.raises(SystemExit):
        world.deliver(ref)
    [run] = world.glue_runs()
    assert world.state(ref).glue_run_id is None
    world.clock.advance(seconds=START_GRACE.total_seconds())
    world.deliver(ref)
    assert len(world.glue_runs()) == 1
    assert world.state(ref).glue_run_id == run["Id"]


def test_completion_of_an_unrecorded_glue_run_is_adopted(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    crash_once(world.glue, "after-call.glue.StartJobRun")
    with pytest.raises(SystemExit):
        world.deliver(ref)
    [run] = world.glue_runs()
    outcome = Completions(world.ctx).on_glue_event(world.glue_event(run["Id"], "SUCCEEDED"))
    assert outcome is Completion.HANDLED
    state = world.state(ref)
    assert state.status is DumpStatus.TRANSFORMING and state.glue_run_id == run["Id"]


def test_crash_before_the_dbt_task_was_recorded_is_recovered_without_a_second_task(
    world: World,
) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    crash_once(world.ecs, "after-call.ecs.RunTask")
    with pytest.raises(SystemExit):
        world.finish_load(ref)
    [task] = world.tasks()
    assert world.state(ref).ecs_task_arn is None
    world.clock.advance(seconds=START_GRACE.total_seconds())
    world.sweep()
    assert len(world.tasks()) == 1
    assert world.state(ref).ecs_task_arn == task["taskArn"]


def test_glue_concurrent_run_limit_is_retried_not_fatal(
    world: World, glue_runs_stay_running: None
) -> None:
    """Issue 11 #7: a busy Glue slot is a state (WAITING, glue-busy), never a queue retry."""
    foreign = world.glue.start_job_run(JobName=world.settings.glue_job, Arguments={})["JobRunId"]
    ref = world.put_dump(world.day(-1))
    assert world.deliver(ref) is Arrival.EVALUATED  # no error: no SQS receive is spent
    state = world.state(ref)
    assert (state.status, state.reason, state.attempts) == (DumpStatus.WAITING, "glue-busy", 0)
    assert state.next_look_at is not None and state.glue_run_id is None
    assert state.last_error is not None and "ConcurrentRunsExceeded" in state.last_error["message"]
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == ref.key  # it stays first in line
    assert world.dlq_messages() == []
    assert world.telemetry.counts["StartsThrottled"] == 1

    force_glue_state(world, foreign, "SUCCEEDED")
    world.sweep()  # the next look is not due yet
    assert world.runs_for(ref) == []
    world.clock.advance(seconds=61)
    world.sweep()
    runs = world.runs_for(ref)
    assert len(runs) == 1
    state = world.state(ref)
    assert (state.status, state.glue_run_id, state.attempts) == (
        DumpStatus.LOADING,
        runs[0]["Id"],
        1,
    )
    world.sweep()
    assert len(world.runs_for(ref)) == 1


def test_armed_replay_runs_once_as_a_backfill_when_not_after_the_watermark(
    world: World,
) -> None:
    old, new = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.run_through(old)
    world.run_through(new)
    attempt = world.store.arm_replay(old.key, mode="replay", force=True, note="fix silver")
    assert attempt == 2
    world.deliver(old, mode="replay", attempt=attempt, force=True)
    state = world.state(old)
    assert state.status is DumpStatus.LOADING
    assert (state.mode, state.backfill, state.target_schema) == ("replay", True, "staging_backfill")
    assert world.runs_for(old)[-1]["Arguments"]["--target_schema"] == "staging_backfill"
    assert world.deliver(old, mode="replay", attempt=attempt, force=True).value == (
        "replay-not-armed"
    )
    world.finish_load(old)
    task = next(t for t in world.tasks() if t["taskArn"] == world.state(old).ecs_task_arn)
    assert env_of(task)["DBT_BACKFILL"] == "1"
    assert env_of(task)["DBT_SOURCE_SCHEMA"] == "staging_backfill"
    world.finish_transform(old)
    assert world.state(old).status is DumpStatus.SUCCEEDED
    assert world.store.watermark() == new.dump_date
    assert len(world.runs_for(old)) == 2

    world.deliver(old, mode="replay", attempt=attempt, force=True)
    assert len(world.runs_for(old)) == 2


def test_replay_of_a_failed_dump_after_the_watermark_runs_normally(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref, "FAILED")
    assert world.deliver(ref, mode="replay", attempt=2).value == "replay-not-armed"
    attempt = world.store.arm_replay(ref.key, mode="replay", force=False, note="")
    world.deliver(ref, mode="replay", attempt=attempt)
    state = world.state(ref)
    assert (state.status, state.attempts, state.backfill) == (DumpStatus.LOADING, 2, False)
    assert state.target_schema == "staging"
    world.finish_load(ref)
    world.finish_transform(ref)
    assert world.store.watermark() == ref.dump_date


def test_replay_of_a_key_without_an_item_is_accepted_once(world: World) -> None:
    ref: DumpRef = world.put_dump(world.day(-1))
    world.deliver(ref, mode="backfill", attempt=1)
    assert world.state(ref).status is DumpStatus.LOADING
    world.deliver(ref, mode="backfill", attempt=1)
    assert len(world.glue_runs()) == 1


def test_lease_expiry_follows_the_glue_and_dbt_limits(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    lease = world.store.lease()
    assert lease is not None
    limit = (world.settings.glue_timeout_minutes + world.settings.dbt_timeout_minutes) * 60
    assert lease.expires_at - lease.acquired_at == dt.timedelta(seconds=limit)


def test_ecs_throttling_is_retried_and_the_retried_event_starts_dbt_once(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    throttled: list[bool] = []

    def throttle_once(**_: Any) -> None:
        if not throttled:
            throttled.append(True)
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "RunTask"
            )

    world.ecs.meta.events.register("before-call.ecs.RunTask", throttle_once)
    run_id = world.state(ref).glue_run_id
    assert run_id is not None
    event = world.glue_event(run_id, "SUCCEEDED")
    Completions(world.ctx).on_glue_event(event)  # no error: waiting is state
    state = world.state(ref)
    assert state.status is DumpStatus.TRANSFORMING and state.ecs_task_arn is None
    assert world.tasks() == []
    world.sweep()  # its next look is not due yet
    assert world.tasks() == []
    world.clock.advance(seconds=61)
    world.sweep()  # the next pump after it starts the task
    [task] = world.tasks()
    assert world.state(ref).ecs_task_arn == task["taskArn"]
    Completions(world.ctx).on_glue_event(event)
    assert len(world.tasks()) == 1


def test_two_dumps_of_one_date_that_both_fail_each_leave_a_dlq_letter(world: World) -> None:
    """FIFO deduplication must not merge the letters of two keys dated the same day (with
    RequireManifest off both run, one after the other, and fail within minutes)."""
    world.ctx.settings = dataclasses.replace(world.settings, require_manifest=False)
    day = world.day(-1)
    plain, gzipped = world.put_dump(day), world.put_dump(day, gzip=True)
    world.deliver(plain)
    world.deliver(gzipped)
    world.finish_load(plain, "FAILED", "plain dump truncated")
    world.finish_load(gzipped, "FAILED", "gzip stream corrupt")
    assert world.state(plain).status is DumpStatus.FAILED
    assert world.state(gzipped).status is DumpStatus.FAILED
    letters = world.dlq_messages()
    assert sorted(m["key"] for m in letters) == sorted([plain.key, gzipped.key])


def _waiting_backfills(world: World, days: range) -> list[DumpRef]:
    """Backfill dates delivered as the CLI's backfill does: armed, then their message."""
    refs = []
    for offset in days:
        ref = world.put_dump(world.day(offset))
        attempt = world.store.arm_replay(ref.key, mode="backfill", force=False, note="backfill")
        world.deliver(ref, mode="backfill", attempt=attempt)
        world.clock.advance(seconds=1)
        refs.append(ref)
    return refs


def test_a_daily_dump_starts_before_150_waiting_backfill_dates(world: World) -> None:
    world.run_through(world.put_dump(world.day(-1)))
    backfills = _waiting_backfills(world, range(-151, -1))
    running = world.state(backfills[0])
    assert running.status is DumpStatus.LOADING  # the slot was free: the first one started
    assert sum(world.state(r).status is DumpStatus.WAITING for r in backfills) == 149
    daily = world.put_dump(world.day(0))
    world.deliver(daily)
    assert world.state(daily).status is DumpStatus.WAITING
    world.clock.advance(seconds=1)
    world.finish_load(backfills[0])
    world.finish_transform(backfills[0])
    assert world.state(daily).status is DumpStatus.LOADING
    assert world.state(backfills[1]).status is DumpStatus.WAITING


def test_backfills_get_one_start_after_every_n_daily_starts(world: World) -> None:
    assert world.settings.daily_starts_per_backfill == 4
    world.run_through(world.put_dump(world.day(-20)))
    dailies = [world.put_dump(world.day(offset)) for offset in range(-9, 0)]
    world.deliver(dailies[0])
    world.clock.advance(seconds=1)
    backfills = _waiting_backfills(world, range(-24, -21))
    for ref in dailies[1:]:
        world.deliver(ref)
    order: list[DumpRef] = []
    everything = [*dailies, *backfills]
    while True:
        [loading] = [r for r in everything if world.state(r).status is DumpStatus.LOADING] or [None]
        if loading is None:
            break
        order.append(loading)
        world.clock.advance(seconds=1)
        world.finish_load(loading)
        world.finish_transform(loading)
    d, b = dailies, backfills
    assert order == [d[0], d[1], d[2], d[3], b[0], d[4], d[5], d[6], d[7], b[1], d[8], b[2]]
    assert all(world.state(r).status is DumpStatus.SUCCEEDED for r in everything)
    assert world.store.watermark() == d[8].dump_date


def test_a_jump_of_the_watermark_counts_the_missing_days_once(world: World) -> None:
    world.run_through(world.put_dump(world.day(-6)))
    world.run_through(world.put_dump(world.day(-5)))
    assert "DaysMissing" not in world.telemetry.counts  # no gap: nothing missing
    world.run_through(world.put_dump(world.day(-2)))
    assert world.telemetry.counts["DaysMissing"] == 2  # -4 and -3
    late = world.put_dump(world.day(-3))
    world.deliver(late)
    assert world.state(late).status is DumpStatus.SKIPPED_STALE
    gap = world.put_dump(world.day(-4))
    attempt = world.store.arm_replay(gap.key, mode="backfill", force=False, note="fill the gap")
    world.deliver(gap, mode="backfill", attempt=attempt)
    world.finish_load(gap)
    world.finish_transform(gap)
    assert world.state(gap).status is DumpStatus.SUCCEEDED
    world.run_through(world.put_dump(world.day(-1)))
    assert world.telemetry.counts["DaysMissing"] == 2  # counted once, when the jump happened
