"""A moto deployment whose AWS clients can be made to misbehave, and the helpers the
fault-injection tests share (tests/control/faults.py does the misbehaving)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from control.aws_world import REGION, World, create_deployment
from control.faults import Fault, FaultyClient
from dumpflow.control.state import RUNNING_STATUSES
from dumpflow.dumps import DumpRef


@contextmanager
def faulty_world() -> Iterator[World]:
    """The state table, S3, Glue and ECS clients of the control plane wrapped for faults."""
    with mock_aws():
        settings = create_deployment()
        world = World(settings, dynamodb=FaultyClient(boto3.client("dynamodb", region_name=REGION)))
        world.ctx.objects.s3 = FaultyClient(world.s3)
        world.ctx.manifests.s3 = world.ctx.objects.s3
        world.ctx.glue.client = FaultyClient(world.glue)
        world.ctx.dbt.client = FaultyClient(world.ecs)
        yield world


def _faulty(client: object) -> FaultyClient:
    assert isinstance(client, FaultyClient), "not a faulty_world()"
    return client


def ddb(world: World) -> FaultyClient:
    return _faulty(world.store.client)


def s3(world: World) -> FaultyClient:
    return _faulty(world.ctx.objects.s3)


def world_glue(world: World) -> FaultyClient:
    return _faulty(world.ctx.glue.client)


def faulty_ecs(world: World) -> FaultyClient:
    return _faulty(world.ctx.dbt.client)


def throttle_manifest(world: World, ref: DumpRef, *, times: int = 1) -> None:
    """S3 answers SlowDown to the next ``times`` reads of ``ref``'s manifest."""

    def slow_down() -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce rate"}}, "GetObject")

    s3(world).arm(
        "get_object",
        Fault.CALL_AFTER,
        when=lambda kwargs: kwargs.get("Key") == ref.manifest_key,
        then=slow_down,
        times=times,
    )


def one_pipeline(world: World) -> None:
    """Never two dumps in flight."""
    running = [s for s in world.store.list_dumps() if s.status in RUNNING_STATUSES]
    assert len(running) <= 1, f"two pipelines in flight: {[s.key for s in running]}"
