"""Every sample under events/, unmodified, through its handler against the demo stack.

The handlers run in this process as the demo runs them (the template's environment, moto
behind AWS_ENDPOINT_URL); tests/sam_local runs the same files in containers.
"""

from __future__ import annotations

import json

from dumpflow.control.state import DumpStatus
from dumpflow.local.sample_chain import run_load_failure, run_success_chain, run_transform_failure
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import (
    ECS_TASK_STOPPED_EXIT0,
    ECS_TASK_STOPPED_EXIT1,
    GLUE_JOB_FAILED,
    GLUE_JOB_SUCCEEDED,
    SAMPLE_FUNCTIONS,
    SQS_DUMP_OBJECT_CREATED,
    SampleEvents,
)
from events.expectations import (
    assert_load_failure,
    assert_success_chain,
    assert_transform_failure,
)


def test_queue_glue_sweeper_and_ecs_samples_take_the_dump_to_succeeded(
    sample_world: SampleWorld,
) -> None:
    assert_success_chain(sample_world, run_success_chain(sample_world, sample_world.invoke_here))


def test_glue_failed_sample_fails_the_load_onto_the_dlq(sample_world: SampleWorld) -> None:
    assert_load_failure(sample_world, run_load_failure(sample_world, sample_world.invoke_here))


def test_ecs_exit1_sample_fails_the_transform_onto_the_dlq(sample_world: SampleWorld) -> None:
    outcome = run_transform_failure(sample_world, sample_world.invoke_here)
    assert_transform_failure(sample_world, outcome)


def test_completion_samples_for_another_run_change_nothing(sample_world: SampleWorld) -> None:
    """Without the samples' ids the dump runs under ids of its own: the Glue and ECS samples
    are then late events of some other run and leave it alone."""
    sample_world.upload_dump()
    sample_world.invoke_here("IngestFunction", SQS_DUMP_OBJECT_CREATED)
    before = sample_world.state()
    assert before is not None and before.status is DumpStatus.LOADING
    assert before.glue_run_id != sample_world.samples.glue_run_id
    for sample in (GLUE_JOB_SUCCEEDED, GLUE_JOB_FAILED):
        function = SAMPLE_FUNCTIONS[sample]
        assert sample_world.invoke_here(function, sample) == {"outcome": "unknown-run"}
    for sample in (ECS_TASK_STOPPED_EXIT0, ECS_TASK_STOPPED_EXIT1):
        function = SAMPLE_FUNCTIONS[sample]
        assert sample_world.invoke_here(function, sample) == {"outcome": "unknown-run"}
    after = sample_world.state()
    assert after is not None and after.status is DumpStatus.LOADING
    assert after.glue_run_id == before.glue_run_id
    assert sample_world.dead_letters() == []


def test_every_sample_file_is_played_and_is_an_event() -> None:
    samples = SampleEvents()
    assert samples.names() == sorted(SAMPLE_FUNCTIONS)
    for name in samples.names():
        assert isinstance(json.loads(samples.path(name).read_text(encoding="utf-8")), dict)
