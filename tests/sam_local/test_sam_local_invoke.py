"""Every sample, unmodified, run by ``sam local invoke`` in a container against the local stack.

The functions are the ones ``sam build`` made (offline, tests/sam_local/conftest.py), run in the
stand-in Lambda python3.11 image; the stack is the demo's, deployed from template.yaml as
``dumpflow-dev``; the outcomes are read from the stack, as in tests/events.
"""

from __future__ import annotations

from dumpflow.local.sample_chain import run_load_failure, run_success_chain, run_transform_failure
from events.expectations import (
    assert_load_failure,
    assert_success_chain,
    assert_transform_failure,
)
from sam_local.support import ContainerWorld

# What each function's own metrics (Powertools EMF, namespace dumpflow) must show.
METRICS = {
    "IngestFunction": {"DumpsReceived", "LoadsStarted"},
    "GlueStateFunction": {"GlueEvents", "TransformsStarted"},
    "SweeperFunction": {"Sweeps", "WaitingAgeSeconds"},
    "EcsStateFunction": {"TaskEvents", "DumpsSucceeded", "LoadsStarted"},
}


def _ran_in_a_container(world: ContainerWorld) -> None:
    for invocation in world.invocations:
        output = invocation.output
        assert "inside runtime container" in output, invocation.function
        assert f"/{invocation.function} as /var/task" in output, invocation.function
        assert "REPORT RequestId:" in output, invocation.function


def test_queue_glue_sweeper_and_ecs_samples_in_containers(container_world: ContainerWorld) -> None:
    outcomes = run_success_chain(container_world, container_world.invoke_in_container)
    assert_success_chain(container_world, outcomes)
    _ran_in_a_container(container_world)
    assert [i.function for i in container_world.invocations] == list(METRICS)
    for invocation in container_world.invocations:
        lines = invocation.log_lines
        emitted = {
            metric["Name"]
            for line in lines
            if "_aws" in line
            for directive in line["_aws"]["CloudWatchMetrics"]
            if directive["Namespace"] == "dumpflow"
            for metric in directive["Metrics"]
        }
        assert METRICS[invocation.function] <= emitted, invocation.function
        logged = [line for line in lines if line.get("service") == "dumpflow" and "level" in line]
        assert logged and all(line["function_name"] == invocation.function for line in logged)


def test_glue_failed_sample_in_a_container(container_world: ContainerWorld) -> None:
    outcome = run_load_failure(container_world, container_world.invoke_in_container)
    assert_load_failure(container_world, outcome)
    _ran_in_a_container(container_world)


def test_ecs_exit1_sample_in_a_container(container_world: ContainerWorld) -> None:
    outcome = run_transform_failure(container_world, container_world.invoke_in_container)
    assert_transform_failure(container_world, outcome)
    _ran_in_a_container(container_world)
