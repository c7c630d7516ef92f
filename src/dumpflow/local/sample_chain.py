"""The sample events played in the order their dump lives through them, each checked.

``run_success_chain`` is what ``make sam-local`` shows: the SQS sample starts the load, the
Glue SUCCEEDED sample starts dbt, the sweeper sample finds a healthy run (and the next day's
dump waiting behind it), the ECS exit-0 sample finishes the dump and starts the next one.
The two failure samples each need the dump where their run is still going, so they get a
stack of their own (``run_load_failure``, ``run_transform_failure``). ``invoke`` runs one
function with one sample file, in this process or in a container.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dumpflow.control.state import DumpStatus
from dumpflow.local.sample_world import Invoke, SampleWorld
from dumpflow.local.samples import (
    ECS_TASK_STOPPED_EXIT0,
    ECS_TASK_STOPPED_EXIT1,
    GLUE_JOB_FAILED,
    GLUE_JOB_SUCCEEDED,
    SAMPLE_FUNCTIONS,
    SQS_DUMP_OBJECT_CREATED,
    SWEEPER_SCHEDULE,
)

TASK_EXITED = "Essential container in task exited"


@dataclass
class StepOutcome:
    """One invocation: what it returned, how long it took, what the stack then showed."""

    function: str
    sample: str
    payload: Any
    seconds: float
    expected: str
    observed: str
    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


def _timed(invoke: Invoke, sample: str) -> tuple[str, Any, float]:
    function = SAMPLE_FUNCTIONS[sample]
    started = time.monotonic()
    payload = invoke(function, sample)
    return function, payload, time.monotonic() - started


def _step(
    world: SampleWorld,
    invoke: Invoke,
    sample: str,
    expected: str,
    observe: Callable[[Any], tuple[bool, str, dict[str, Any]]],
) -> StepOutcome:
    function, payload, seconds = _timed(invoke, sample)
    ok, observed, details = observe(payload)
    return StepOutcome(function, sample, payload, seconds, expected, observed, ok, details)


def _status(world: SampleWorld) -> str:
    state = world.state()
    return str(state.status) if state else "no state item"


def run_success_chain(world: SampleWorld, invoke: Invoke) -> list[StepOutcome]:
    """SQS -> Glue SUCCEEDED -> sweeper -> ECS exit 0, against a fresh stack."""
    outcomes: list[StepOutcome] = []
    world.upload_dump()
    with world.assigning_sample_ids():
        outcomes.append(_step(world, invoke, SQS_DUMP_OBJECT_CREATED,
                              "dump LOADING, the sample's Glue run started",
                              lambda payload: _loading(world, payload)))  # fmt: skip
        world.end_glue_run("SUCCEEDED")
        outcomes.append(_step(world, invoke, GLUE_JOB_SUCCEEDED,
                              "dump TRANSFORMING, the sample's dbt task running",
                              lambda payload: _transforming(world, payload)))  # fmt: skip
    next_day = world.queue_next_day()
    outcomes.append(_step(world, invoke, SWEEPER_SCHEDULE,
                          "nothing reclaimed or rejected; the next day's wait measured",
                          lambda payload: _swept(world, payload)))  # fmt: skip
    world.stop_task(0, TASK_EXITED)

    def finished(payload: Any) -> tuple[bool, str, dict[str, Any]]:
        after = world.state(next_day.key)
        nxt = str(after.status) if after else "no state item"
        archived, watermark = world.archived(), world.store.watermark()
        ok = (
            payload == {"outcome": "handled"}
            and _status(world) == DumpStatus.SUCCEEDED
            and archived
            and watermark == world.dump.dump_date
            and nxt == DumpStatus.LOADING
        )
        observed = (
            f"{_status(world)}, archived {archived}, watermark {watermark}; {next_day.key} {nxt}"
        )
        return ok, observed, {"next_day": next_day.key}

    outcomes.append(_step(world, invoke, ECS_TASK_STOPPED_EXIT0,
                          "dump SUCCEEDED, processed/ copy, watermark its date, next day LOADING",
                          finished))  # fmt: skip
    return outcomes


def run_load_failure(world: SampleWorld, invoke: Invoke) -> StepOutcome:
    """The Glue FAILED sample against the dump still LOADING under that run."""
    world.seed_loading()
    world.end_glue_run("FAILED")
    return _step(world, invoke, GLUE_JOB_FAILED, "dump FAILED at load, a DLQ letter",
                 lambda payload: _failed(world, payload, "load"))  # fmt: skip


def run_transform_failure(world: SampleWorld, invoke: Invoke) -> StepOutcome:
    """The ECS exit-1 sample against the dump still TRANSFORMING in that task."""
    world.seed_transforming()
    world.stop_task(1, TASK_EXITED)
    return _step(world, invoke, ECS_TASK_STOPPED_EXIT1, "dump FAILED at transform, a DLQ letter",
                 lambda payload: _failed(world, payload, "transform"))  # fmt: skip


def _loading(world: SampleWorld, payload: Any) -> tuple[bool, str, dict[str, Any]]:
    runs = world.glue_runs()
    ours = [r for r in runs if r["Id"] == world.samples.glue_run_id]
    dump_keys = [r.get("Arguments", {}).get("--dump_key") for r in ours]
    ok = (
        payload == {"batchItemFailures": []}
        and _status(world) == DumpStatus.LOADING
        and dump_keys == [world.dump.key]
    )
    observed = f"{_status(world)}; Glue runs {[(r['Id'][:12], r['JobRunState']) for r in runs]}"
    return ok, observed, {"runs": runs}


def _transforming(world: SampleWorld, payload: Any) -> tuple[bool, str, dict[str, Any]]:
    task = world.task()
    last = task.get("lastStatus") if task else "no such task"
    ok = (
        payload == {"outcome": "handled"}
        and _status(world) == DumpStatus.TRANSFORMING
        and last == "RUNNING"
    )
    return ok, f"{_status(world)}; dbt task {world.samples.task_id} {last}", {"task": task}


def _swept(world: SampleWorld, payload: Any) -> tuple[bool, str, dict[str, Any]]:
    quiet = isinstance(payload, dict) and {
        k: payload.get(k) for k in ("manifest_timeouts", "reclaimed", "extended")
    } == {"manifest_timeouts": [], "reclaimed": None, "extended": None}
    waited = isinstance(payload, dict) and float(payload.get("oldest_waiting_seconds", 0)) > 0
    ok = quiet and waited and _status(world) == DumpStatus.TRANSFORMING
    return ok, f"summary {payload}; dump still {_status(world)}", {}


def _failed(world: SampleWorld, payload: Any, stage: str) -> tuple[bool, str, dict[str, Any]]:
    state = world.state()
    letters = world.dead_letters()
    ok = (
        payload == {"outcome": "handled"}
        and state is not None
        and (state.status, state.stage) == (DumpStatus.FAILED, stage)
        and [letter.get("key") for letter in letters] == [world.dump.key]
    )
    observed = (
        f"{state.status if state else 'no state item'} at {state.stage if state else '-'}; "
        f"DLQ letters {len(letters)}"
    )
    return ok, observed, {"letters": letters}
