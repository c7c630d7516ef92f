"""Concurrent deliveries against dynalite (atomic conditional writes, unlike moto's DynamoDB).

Sixteen Lambda invocations handle copies of the same dump at once; whatever the
interleaving, exactly one Glue run starts. Repeated over several trials, every time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from control.aws_world import REGION, World, create_deployment
from dumpflow.control.intake import Intake
from dumpflow.control.state import DumpStatus, StateStore, table_definition

pytestmark = pytest.mark.dynalite

DELIVERIES = 16
TRIALS = 8


@pytest.fixture()
def dynalite_world(dynalite_endpoint: str) -> Iterator[World]:
    """moto for S3/SQS/Glue/ECS, dynalite for the state table (a fresh table per test)."""
    client = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=dynalite_endpoint,
        config=Config(max_pool_connections=DELIVERIES * 2, retries={"max_attempts": 10}),
    )
    table = f"dumpflow-state-{uuid.uuid4().hex[:8]}"
    client.create_table(**table_definition(table))
    while client.describe_table(TableName=table)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
    with mock_aws():
        settings = create_deployment(table=table)
        yield World(settings, dynamodb=client)
    client.delete_table(TableName=table)


def run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run the jobs on their own threads, released at the same instant; return their errors."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # collected and reported by the test
            errors.append(exc)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(run, jobs))
    return errors


def test_the_store_is_dynalite(dynalite_world: World, dynalite_endpoint: str) -> None:
    assert dynalite_world.store.client.meta.endpoint_url == dynalite_endpoint
    assert isinstance(dynalite_world.store, StateStore)


def test_sixteen_concurrent_deliveries_start_exactly_one_glue_run(dynalite_world: World) -> None:
    world = dynalite_world
    for trial in range(TRIALS):
        ref = world.put_dump(world.day(-1 - trial))
        body = world.body(ref)
        errors = run_together([lambda b=body: Intake(world.ctx).handle(b)] * DELIVERIES)
        assert errors == []
        runs = world.runs_for(ref)
        assert len(runs) == 1, f"trial {trial}: {len(runs)} Glue runs started"
        state = world.state(ref)
        assert state.status is DumpStatus.LOADING
        assert state.glue_run_id == runs[0]["Id"]
        assert state.duplicate_events == DELIVERIES - 1
        assert state.attempts == 1
        # end the run so the next trial's dump gets the slot (an older date: a backfill-free
        # run needs the watermark not to pass it, so the watermark is left alone here)
        world.finish_load(ref, "FAILED")
        assert world.store.lease() is None


def test_concurrent_different_dumps_share_one_slot(dynalite_world: World) -> None:
    world = dynalite_world
    for trial in range(2):
        refs = [world.put_dump(world.day(-100 * (trial + 1) - n)) for n in range(DELIVERIES)]
        errors = run_together([(lambda r=r: world.deliver(r)) for r in refs])
        assert errors == []
        loading = [r for r in refs if world.state(r).status is DumpStatus.LOADING]
        waiting = [r for r in refs if world.state(r).status is DumpStatus.WAITING]
        assert len(loading) == 1, f"trial {trial}: {len(loading)} dumps loading at once"
        assert len(waiting) == DELIVERIES - 1
        assert sum(len(world.runs_for(r)) for r in refs) == 1
        lease = world.store.lease()
        assert lease is not None and lease.holder_key == loading[0].key
        drained = []
        while (held := world.store.lease()) is not None:
            holder = next(r for r in refs if r.key == held.holder_key)
            drained.append(holder.dump_date)
            world.finish_load(holder, "FAILED")
        # The first slot goes to the oldest dump WAITING at that instant (others may still be
        # arriving); every later one, chosen once all have arrived, in date order.
        assert drained[0] == loading[0].dump_date
        assert drained[1:] == sorted(r.dump_date for r in refs if r != loading[0])
        assert world.store.lease() is None
