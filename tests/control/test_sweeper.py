"""The scheduled sweep: bounded manifest waits and reclaiming a slot whose events were lost."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends

from control.aws_world import REGION, World, crash_once, force_glue_state
from dumpflow.control.pipeline import START_GRACE
from dumpflow.control.state import DumpStatus


def past_the_lease(world: World) -> None:
    world.clock.advance(seconds=world.settings.lease_seconds + 1)


def test_manifest_wait_is_bounded(world: World) -> None:
    ref = world.put_dump(world.day(-1), manifest=False)
    world.deliver(ref)
    world.clock.advance(seconds=world.settings.manifest_wait_seconds - 1)
    assert world.sweep().manifest_timeouts == []
    assert world.state(ref).status is DumpStatus.WAITING
    world.clock.advance(seconds=1)
    assert world.sweep().manifest_timeouts == [ref.key]
    state = world.state(ref)
    assert state.status is DumpStatus.REJECTED
    assert state.reason is not None
    assert ref.manifest_key in state.reason and "did not arrive within 3600 s" in state.reason


def test_a_running_load_is_left_alone_before_its_expiry(
    world: World, glue_runs_stay_running: None
) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.clock.advance(seconds=world.settings.lease_seconds - 60)
    report = world.sweep()
    assert (report.reclaimed, report.extended) == (None, None)
    assert world.state(ref).status is DumpStatus.LOADING


def test_a_lost_glue_event_is_found_at_the_next_sweep_not_after_the_lease(world: World) -> None:
    """Issue 11 #8: the sweep asks about the holder's run at every sweep (after a few
    minutes), so a lost event never waits for the lease (hours) nor for ECS to forget."""
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.clock.advance(minutes=2)
    assert world.sweep().reclaimed is None  # young: left to its completion event
    world.clock.advance(minutes=4)
    assert world.sweep().reclaimed == ref.key
    assert world.state(ref).status is DumpStatus.TRANSFORMING


def test_lost_glue_failure_is_found_fails_the_dump_and_starts_the_next(world: World) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    run_id = world.state(first).glue_run_id
    assert run_id is not None
    force_glue_state(world, run_id, "FAILED")
    past_the_lease(world)
    assert world.sweep().reclaimed == first.key
    state = world.state(first)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "load")
    [message] = world.dlq_messages()
    assert message["failure"]["glue_run_id"] == run_id
    assert world.state(second).status is DumpStatus.LOADING
    assert world.telemetry.counts["LeasesReclaimed"] == 1


def test_lost_glue_success_moves_on_to_dbt(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    past_the_lease(world)
    world.sweep()
    state = world.state(ref)
    assert state.status is DumpStatus.TRANSFORMING
    assert state.ecs_task_arn == world.tasks()[0]["taskArn"]


def test_a_run_still_going_keeps_its_slot(world: World, glue_runs_stay_running: None) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    past_the_lease(world)
    assert world.sweep().extended == ref.key
    lease = world.store.lease()
    assert lease is not None and not lease.expired(world.clock())
    assert world.state(ref).status is DumpStatus.LOADING


def stopped_task(world: World, task_arn: str, exit_code: int, reason: str) -> None:
    """Stop the task in moto; moto reports exit code 0 unless the test sets another."""
    world.ecs.stop_task(cluster="dumpflow", task=task_arn, reason=reason)
    tasks = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks["dumpflow"]
    tasks[task_arn].containers[0].exitCode = exit_code


def test_lost_dbt_success_is_found_and_the_dump_succeeds(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref)
    task_arn = world.state(ref).ecs_task_arn
    assert task_arn is not None
    stopped_task(world, task_arn, 0, "Essential container in task exited")
    past_the_lease(world)
    assert world.sweep().reclaimed == ref.key
    assert world.state(ref).status is DumpStatus.SUCCEEDED
    assert world.archived(ref)
    assert world.store.watermark() == ref.dump_date
    assert world.store.lease() is None


def test_lost_dbt_failure_is_found_and_fails_the_transform(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref)
    task_arn = world.state(ref).ecs_task_arn
    assert task_arn is not None
    stopped_task(world, task_arn, 2, "Task killed by the operator")
    past_the_lease(world)
    world.sweep()
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "transform")
    assert state.last_error is not None
    assert "exit code 2: Task killed by the operator" in state.last_error["message"]
    assert world.dlq_messages()[0]["failure"]["ecs_task_arn"] == task_arn
    assert world.store.lease() is None


def test_a_dbt_task_still_running_keeps_its_slot(world: World) -> None:
    """Past the lease (a long load) but within the dbt limit: the lease is extended."""
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    half_dbt = world.settings.dbt_timeout_minutes * 30
    world.clock.advance(seconds=world.settings.lease_seconds - half_dbt)
    world.finish_load(ref)
    world.clock.advance(seconds=half_dbt + 1)
    assert world.sweep().extended == ref.key
    assert world.state(ref).status is DumpStatus.TRANSFORMING


def past_the_dbt_limit(world: World) -> None:
    world.clock.advance(minutes=world.settings.dbt_timeout_minutes, seconds=1)


def test_a_dbt_task_that_never_stops_is_stopped_at_its_limit_and_the_next_dump_starts(
    world: World,
) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    world.finish_load(first)
    task_arn = world.state(first).ecs_task_arn
    assert task_arn is not None
    # A minute before the limit the task runs on.
    world.clock.advance(minutes=world.settings.dbt_timeout_minutes - 1)
    assert world.sweep().reclaimed is None
    assert world.state(first).status is DumpStatus.TRANSFORMING
    assert world.tasks()[0]["desiredStatus"] == "RUNNING"
    world.clock.advance(minutes=1, seconds=1)
    assert world.sweep().reclaimed == first.key
    [task] = [t for t in world.tasks() if t["taskArn"] == task_arn]
    assert task["desiredStatus"] == "STOPPED"
    assert "timeout" in task["stoppedReason"]
    state = world.state(first)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "transform")
    assert state.last_error is not None and "timeout" in state.last_error["message"]
    [letter] = world.dlq_messages()
    assert letter["failure"]["ecs_task_arn"] == task_arn
    assert letter["failure"]["status"] == "TIMEOUT"
    assert world.telemetry.counts["DbtTimeouts"] == 1
    assert world.state(second).status is DumpStatus.LOADING
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == second.key
    # The stopped task's own event comes later: already handled, nothing changes.
    world.stop_task(task_arn, exit_code=3)
    assert world.state(first).status is DumpStatus.FAILED
    assert world.dlq_messages() == []


def test_a_failed_stop_keeps_the_slot_and_is_retried(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    world.finish_load(ref)
    task_arn = world.state(ref).ecs_task_arn
    past_the_dbt_limit(world)
    crash_once(world.ecs, "before-call.ecs.StopTask")
    with pytest.raises(SystemExit):
        world.sweep()
    assert world.state(ref).status is DumpStatus.TRANSFORMING  # never two transforms at once
    assert world.store.lease() is not None
    world.sweep()
    assert world.state(ref).status is DumpStatus.FAILED
    [task] = [t for t in world.tasks() if t["taskArn"] == task_arn]
    assert task["desiredStatus"] == "STOPPED"


def test_slot_left_by_a_finished_dump_is_freed_and_the_next_starts(world: World) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    world.finish_load(first)
    crash_once(world.dynamodb, "after-call.dynamodb.TransactWriteItems")
    with pytest.raises(SystemExit):
        world.finish_transform(first)  # dies before pumping the next dump
    assert world.state(first).status is DumpStatus.SUCCEEDED
    assert world.store.lease() is None  # one transaction with SUCCEEDED
    assert world.state(second).status is DumpStatus.WAITING
    world.sweep()
    assert world.state(second).status is DumpStatus.LOADING


def test_slot_taken_by_a_dump_that_never_claimed_it_is_resumed_after_the_grace(
    world: World,
) -> None:
    ref = world.put_dump(world.day(-1))
    fired: list[bool] = []

    def die_on_claim(params: dict[str, Any], **_: Any) -> None:
        if not fired and b'"LOADING"' in params.get("body", b""):
            fired.append(True)
            raise SystemExit("Lambda runtime died before the claim")

    world.dynamodb.meta.events.register("before-call.dynamodb.PutItem", die_on_claim)
    with pytest.raises(SystemExit):
        world.deliver(ref)
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == ref.key
    assert world.state(ref).status is DumpStatus.WAITING
    world.sweep()
    assert world.glue_runs() == []
    world.clock.advance(seconds=START_GRACE.total_seconds())
    world.sweep()
    assert world.state(ref).status is DumpStatus.LOADING
    assert len(world.glue_runs()) == 1


def test_the_sweep_reports_how_long_the_oldest_dump_has_waited(world: World) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    assert world.sweep().oldest_waiting_seconds == 0.0
    world.deliver(second)
    world.clock.advance(minutes=30)
    assert world.sweep().oldest_waiting_seconds == 1800.0
    assert world.telemetry.durations["WaitingAgeSeconds"] == [0.0, 1800.0]
