"""Every hand-written sample under events/ goes through its handler and does what it says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from control.aws_world import EVENTS_DIR, LambdaContext, World, sample_event
from dumpflow.control.messages import parse_message
from dumpflow.control.state import DumpStatus
from dumpflow.dumps import DumpRef, dump_ref
from dumpflow.handlers import ecs_state, glue_state, ingest, sweeper

SAMPLE_BUCKET = "gghouse-dumps-prod"


@pytest.fixture()
def world(deployed: World) -> World:
    """The deployment, plus the bucket and dump object the samples name."""
    deployed.s3.create_bucket(
        Bucket=SAMPLE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    return deployed


def sample_dump(world: World) -> DumpRef:
    """Upload the object and manifest the sample queue message announces."""
    message = parse_message(sample_event("sqs_dump_object_created.json")["Records"][0]["body"])
    world.s3.put_object(Bucket=message.bucket, Key=message.key, Body=b"-- gzip of a dump\n")
    ref = dump_ref(message.bucket, message.key, message.etag, message.size)
    manifest = {
        "dump_key": ref.key,
        "dump_date": f"{ref.dump_date:%Y%m%d}",
        "dump_sha256": hashlib.sha256(b"-- gzip of a dump\n").hexdigest(),
        "dump_size_bytes": ref.size,
        "valid_for_etl": True,
        "max_updated_at_by_table": {"tenants": "2026-11-24T05:29:41+09:00"},
    }
    world.s3.put_object(Bucket=ref.bucket, Key=ref.manifest_key, Body=json.dumps(manifest).encode())
    return ref


def ingest_sample(world: World) -> DumpRef:
    ref = sample_dump(world)
    event = sample_event("sqs_dump_object_created.json")
    assert ingest.handler(event, LambdaContext()) == {"batchItemFailures": []}
    return ref


def glue_sample(world: World, name: str) -> DumpRef:
    ref = ingest_sample(world)
    event = sample_event(name)
    event["detail"]["jobRunId"] = world.state(ref).glue_run_id
    assert glue_state.handler(event, LambdaContext()) == {"outcome": "handled"}
    return ref


def ecs_sample(world: World, name: str) -> DumpRef:
    ref = glue_sample(world, "glue_job_succeeded.json")
    event = sample_event(name)
    task_arn = world.state(ref).ecs_task_arn
    event["detail"]["taskArn"] = task_arn
    for container in event["detail"]["containers"]:
        container["taskArn"] = task_arn
    assert ecs_state.handler(event, LambdaContext()) == {"outcome": "handled"}
    return ref


def test_sqs_dump_object_created(world: World) -> None:
    ref = ingest_sample(world)
    state = world.state(ref)
    assert state.status is DumpStatus.LOADING
    assert state.size == 943718400
    assert world.runs_for(ref)[0]["Arguments"]["--dump_date"] == "2026-11-24"


def test_glue_job_succeeded(world: World) -> None:
    ref = glue_sample(world, "glue_job_succeeded.json")
    assert world.state(ref).status is DumpStatus.TRANSFORMING


def test_glue_job_failed(world: World) -> None:
    ref = glue_sample(world, "glue_job_failed.json")
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "load")
    [message] = world.dlq_messages()
    assert "required table tenants is empty" in message["failure"]["message"]


def test_ecs_task_stopped_exit0(world: World) -> None:
    ref = ecs_sample(world, "ecs_task_stopped_exit0.json")
    assert world.state(ref).status is DumpStatus.SUCCEEDED
    assert world.store.watermark() == ref.dump_date
    assert world.archived(ref)


def test_ecs_task_stopped_exit1(world: World) -> None:
    ref = ecs_sample(world, "ecs_task_stopped_exit1.json")
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "transform")
    assert state.last_error is not None and "exit code 1" in state.last_error["message"]


def test_sweeper_schedule(world: World) -> None:
    report = sweeper.handler(sample_event("sweeper_schedule.json"), LambdaContext())
    assert report == {
        "manifest_timeouts": [],
        "reclaimed": None,
        "extended": None,
        "oldest_waiting_seconds": 0.0,
    }


def test_unchanged_completion_samples_are_harmless_late_events(world: World) -> None:
    ref = ingest_sample(world)
    for name in ("glue_job_succeeded.json", "glue_job_failed.json"):
        assert glue_state.handler(sample_event(name), LambdaContext()) == {"outcome": "unknown-run"}
    for name in ("ecs_task_stopped_exit0.json", "ecs_task_stopped_exit1.json"):
        assert ecs_state.handler(sample_event(name), LambdaContext()) == {"outcome": "unknown-run"}
    assert world.state(ref).status is DumpStatus.LOADING


def test_every_sample_has_a_test() -> None:
    tested = {
        name.removeprefix("test_") + ".json"
        for name, value in globals().items()
        if name.startswith("test_") and callable(value)
    }
    samples = {path.name for path in Path(EVENTS_DIR).glob("*.json")}
    assert samples <= tested, f"samples without a test: {sorted(samples - tested)}"
    for path in Path(EVENTS_DIR).glob("*.json"):
        assert isinstance(json.loads(path.read_text()), dict)
