"""The Glue-state, ECS-state and sweeper Lambdas, fed the EventBridge events AWS sends."""

from __future__ import annotations

import pytest

from control.aws_world import LambdaContext, World, emitted_metrics, sample_event
from dumpflow.control.state import DumpStatus
from dumpflow.handlers import ecs_state, glue_state, sweeper


def loading(world: World) -> str:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    return ref.key


def test_glue_success_starts_dbt(deployed: World) -> None:
    key = loading(deployed)
    state = deployed.store.get(key)
    assert state is not None and state.glue_run_id is not None
    event = deployed.glue_event(state.glue_run_id, "SUCCEEDED")
    assert glue_state.handler(event, LambdaContext()) == {"outcome": "handled"}
    after = deployed.store.get(key)
    assert after is not None and after.status is DumpStatus.TRANSFORMING
    assert after.ecs_task_arn == deployed.tasks()[0]["taskArn"]


def test_glue_failure_fails_the_dump(deployed: World, capsys: pytest.CaptureFixture[str]) -> None:
    key = loading(deployed)
    state = deployed.store.get(key)
    assert state is not None and state.glue_run_id is not None
    glue_state.handler(deployed.glue_event(state.glue_run_id, "FAILED"), LambdaContext())
    after = deployed.store.get(key)
    assert after is not None and (after.status, after.stage) == (DumpStatus.FAILED, "load")
    assert deployed.dlq_messages()[0]["failure"]["stage"] == "load"
    assert emitted_metrics(capsys.readouterr().out)["DumpsFailed"] == 1


def test_malformed_and_foreign_glue_events_are_dropped(deployed: World) -> None:
    key = loading(deployed)
    broken = sample_event("glue_job_failed.json")
    del broken["detail"]["jobRunId"]
    assert glue_state.handler(broken, LambdaContext()) == {"outcome": "bad-event"}
    assert glue_state.handler({"detail-type": "Glue Job State Change"}, LambdaContext()) == {
        "outcome": "bad-event"
    }
    foreign = sample_event("glue_job_failed.json")
    foreign["detail"]["jobName"] = "billing-export"
    assert glue_state.handler(foreign, LambdaContext()) == {"outcome": "other-job"}
    state = deployed.store.get(key)
    assert state is not None and state.status is DumpStatus.LOADING


@pytest.mark.parametrize(
    ("exit_code", "status"), [(0, DumpStatus.SUCCEEDED), (1, DumpStatus.FAILED)]
)
def test_dbt_stop_ends_the_dump(deployed: World, exit_code: int, status: DumpStatus) -> None:
    ref = deployed.put_dump(deployed.day(-1))
    deployed.deliver(ref)
    deployed.finish_load(ref)
    task_arn = deployed.state(ref).ecs_task_arn
    assert task_arn is not None
    event = deployed.task_event(task_arn, exit_code, f"dumpflow-{ref.dump_date:%Y%m%d}")
    assert ecs_state.handler(event, LambdaContext()) == {"outcome": "handled"}
    assert deployed.state(ref).status is status
    assert deployed.archived(ref) is (exit_code == 0)


def test_malformed_ecs_event_is_dropped(deployed: World) -> None:
    broken = sample_event("ecs_task_stopped_exit1.json")
    del broken["detail"]["taskArn"]
    assert ecs_state.handler(broken, LambdaContext()) == {"outcome": "bad-event"}


def test_sweeper_rejects_an_overdue_manifest_wait(
    deployed: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = deployed.put_dump(deployed.day(-1), manifest=False)
    deployed.deliver(ref)
    monkeypatch.setenv("DUMPFLOW_MANIFEST_WAIT_SECONDS", "0")
    report = sweeper.handler(sample_event("sweeper_schedule.json"), LambdaContext())
    assert report["manifest_timeouts"] == [ref.key]
    assert deployed.state(ref).status is DumpStatus.REJECTED
