"""What each sample must have done, read from where an operator would look.

Shared by the in-process tests (tests/events) and the container tests (tests/sam_local): the
same files, the same stack, the same outcomes, whoever runs the function.
"""

from __future__ import annotations

import re

from dumpflow.control.state import DumpStatus
from dumpflow.local.sample_chain import StepOutcome
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import (
    ECS_TASK_STOPPED_EXIT0,
    ECS_TASK_STOPPED_EXIT1,
    GLUE_JOB_FAILED,
    GLUE_JOB_SUCCEEDED,
    SQS_DUMP_OBJECT_CREATED,
    SWEEPER_SCHEDULE,
)


def _history(world: SampleWorld) -> list[str]:
    state = world.state()
    assert state is not None, f"no state item for {world.dump.key}"
    return [str(entry["to"]) for entry in state.history]


def assert_success_chain(world: SampleWorld, outcomes: list[StepOutcome]) -> None:
    """SQS -> Glue SUCCEEDED -> sweeper -> ECS exit 0 ran as the samples describe."""
    assert [o.sample for o in outcomes] == [
        SQS_DUMP_OBJECT_CREATED,
        GLUE_JOB_SUCCEEDED,
        SWEEPER_SCHEDULE,
        ECS_TASK_STOPPED_EXIT0,
    ]
    for outcome in outcomes:
        assert outcome.ok, f"{outcome.sample}: expected {outcome.expected}, saw {outcome.observed}"
    ingest, glue, sweep, ecs = outcomes
    assert ingest.payload == {"batchItemFailures": []}

    (run,) = [r for r in ingest.details["runs"] if r["Id"] == world.samples.glue_run_id]
    assert run["JobName"] == world.samples.glue_job
    assert run["Arguments"]["--dump_key"] == world.dump.key
    assert run["Arguments"]["--dump_date"] == world.dump.dump_date.isoformat()

    task = glue.details["task"]
    assert task["taskArn"] == world.samples.task_arn
    # each start carries a token of its own (Glue --attempt_token, ECS startedBy)
    assert re.fullmatch(r"[0-9a-f]{24}", run["Arguments"]["--attempt_token"])
    assert re.fullmatch(r"dumpflow-[0-9a-f]{24}", task["startedBy"])
    assert task["startedBy"] != f"dumpflow-{run['Arguments']['--attempt_token']}"
    (override,) = task["overrides"]["containerOverrides"]
    environment = {item["name"]: item["value"] for item in override["environment"]}
    assert environment["DUMP_KEY"] == world.dump.key
    assert environment["DUMP_DATE"] == world.dump.dump_date.isoformat()

    assert sweep.payload["manifest_timeouts"] == []
    assert sweep.payload["reclaimed"] is None and sweep.payload["extended"] is None
    assert sweep.payload["oldest_waiting_seconds"] > 0

    assert ecs.payload == {"outcome": "handled"}
    done = world.state()
    assert done is not None and done.status is DumpStatus.SUCCEEDED
    assert done.size == world.dump.size and done.etag == world.dump.etag
    history = _history(world)
    for status in ("RECEIVED", "WAITING", "LOADING", "TRANSFORMING", "SUCCEEDED"):
        assert status in history, history
    assert world.archived()
    assert world.store.watermark() == world.dump.dump_date
    assert world.dead_letters() == []
    next_day = world.state(ecs.details["next_day"])
    assert next_day is not None and next_day.status is DumpStatus.LOADING
    lease = world.store.lease()
    assert lease is not None and lease.holder_key == next_day.key


def assert_load_failure(world: SampleWorld, outcome: StepOutcome) -> None:
    """The Glue FAILED sample failed the dump at load and left one DLQ letter saying why."""
    assert outcome.sample == GLUE_JOB_FAILED
    assert outcome.ok, outcome.observed
    state = world.state()
    assert state is not None and (state.status, state.stage) == (DumpStatus.FAILED, "load")
    (letter,) = outcome.details["letters"]
    message = world.samples.load(GLUE_JOB_FAILED)["detail"]["message"]
    assert letter["key"] == world.dump.key
    assert letter["failure"]["stage"] == "load"
    assert letter["failure"]["glue_run_id"] == world.samples.glue_run_id
    assert message in letter["failure"]["message"]
    assert world.store.lease() is None


def assert_transform_failure(world: SampleWorld, outcome: StepOutcome) -> None:
    """The ECS exit-1 sample failed the dump at transform and left one DLQ letter."""
    assert outcome.sample == ECS_TASK_STOPPED_EXIT1
    assert outcome.ok, outcome.observed
    state = world.state()
    assert state is not None and (state.status, state.stage) == (DumpStatus.FAILED, "transform")
    (letter,) = outcome.details["letters"]
    (container,) = world.samples.load(ECS_TASK_STOPPED_EXIT1)["detail"]["containers"]
    assert letter["key"] == world.dump.key
    assert letter["failure"]["stage"] == "transform"
    assert letter["failure"]["ecs_task_arn"] == world.samples.task_arn
    assert "exit code 1" in letter["failure"]["message"]
    assert container["reason"] in letter["failure"]["message"]
    assert not world.archived()
    assert world.store.watermark() is None
