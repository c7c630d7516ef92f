"""Any interleaving of arrivals, duplicates and completions keeps the flow's promises:
one dump in flight, at most one run per dump, the watermark only moves forward, successes
in date order, and everything delivered ends in a final state."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import boto3
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.aws_world import REGION, World
from dumpflow.control.manifest import Manifest, ManifestLookup
from dumpflow.control.state import RUNNING_STATUSES, TERMINAL_STATUSES, DumpStatus, table_definition
from dumpflow.dumps import DumpRef

DUMPS = 5


@dataclass(frozen=True)
class Deliver:
    index: int


@dataclass(frozen=True)
class Finish:
    succeed: bool


actions = st.lists(
    st.one_of(
        st.builds(Deliver, st.integers(0, DUMPS - 1)),
        st.builds(Finish, st.booleans()),
    ),
    min_size=1,
    max_size=20,
)


def fresh_world(base: World) -> World:
    """A new table and bucket in the same moto account: examples never share state."""
    suffix = uuid.uuid4().hex[:8]
    bucket, table = f"dumps-{suffix}", f"state-{suffix}"
    base.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(table))
    return World(dataclasses.replace(base.settings, bucket=bucket, table=table))


def finish_running(world: World, refs: list[DumpRef], succeed: bool) -> None:
    lease = world.store.lease()
    if lease is None:
        return
    ref = next(r for r in refs if r.key == lease.holder_key)
    state = world.state(ref)
    if state.status is DumpStatus.LOADING:
        world.finish_load(ref, "SUCCEEDED" if succeed else "FAILED")
    elif state.status is DumpStatus.TRANSFORMING:
        world.finish_transform(ref, 0 if succeed else 1)


def check_invariants(world: World, refs: list[DumpRef], watermarks: list[object]) -> None:
    states = [world.store.get(r.key) for r in refs]
    running = [s for s in states if s is not None and s.status in RUNNING_STATUSES]
    assert len(running) <= 1
    for ref in refs:
        assert len(world.runs_for(ref)) <= 1, f"{ref.key} ran twice"
    watermark = world.store.watermark()
    if watermarks and watermarks[-1] is not None:
        assert watermark is not None and watermark >= watermarks[-1]  # type: ignore[operator]
    watermarks.append(watermark)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
def test_any_interleaving_keeps_the_promises(world: World, steps: list[object]) -> None:
    w = fresh_world(world)
    refs = [w.put_dump(w.day(-DUMPS + i)) for i in range(DUMPS)]
    delivered: set[int] = set()
    watermarks: list[object] = []
    successes: list[DumpRef] = []

    def note_successes() -> None:
        for ref in refs:
            state = w.store.get(ref.key)
            if state and state.status is DumpStatus.SUCCEEDED and ref not in successes:
                successes.append(ref)

    for step in steps:
        if isinstance(step, Deliver):
            w.deliver(refs[step.index])
            delivered.add(step.index)
        else:
            assert isinstance(step, Finish)
            finish_running(w, refs, step.succeed)
        note_successes()
        check_invariants(w, refs, watermarks)
    while w.store.lease() is not None:
        finish_running(w, refs, True)
        note_successes()
        check_invariants(w, refs, watermarks)

    assert [r.dump_date for r in successes] == sorted(r.dump_date for r in successes)
    for index in delivered:
        state = w.state(refs[index])
        assert state.status in TERMINAL_STATUSES
        if state.status is DumpStatus.SKIPPED_STALE:
            assert state.dump_date <= max(r.dump_date for r in successes)
    assert all(w.store.get(refs[i].key) is None for i in set(range(DUMPS)) - delivered)


class FlakyManifests(ManifestLookup):
    """Manifest reads that fail (S3 SlowDown) a set number of times per dump key."""

    def __init__(self, s3: object, failures: dict[str, int]) -> None:
        super().__init__(s3)
        self.failures = failures

    def fetch(self, ref: DumpRef) -> Manifest | None:
        if self.failures.get(ref.key, 0) > 0:
            self.failures[ref.key] -= 1
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce rate"}}, "GetObject"
            )
        return super().fetch(ref)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.permutations(range(DUMPS)),
    failures=st.lists(st.integers(0, 2), min_size=DUMPS, max_size=DUMPS),
)
def test_a_failed_evaluation_never_lets_a_newer_dump_turn_an_older_day_stale(
    world: World, order: list[int], failures: list[int]
) -> None:
    """Issue 14: the messages are acknowledged whatever their evaluation does, yet a dump
    recorded before any newer dump started still runs, in date order, once the sweeper's
    retries get through (each evaluation fails up to twice, within INGEST_RETRY_LIMIT)."""
    w = fresh_world(world)
    refs = [w.put_dump(w.day(-DUMPS + i)) for i in range(DUMPS)]
    w.ctx.manifests = FlakyManifests(w.s3, {r.key: n for r, n in zip(refs, failures, strict=True)})
    in_time: list[DumpRef] = []
    for index in order:
        ref = refs[index]
        started_newer = any(w.runs_for(r) for r in refs if r.dump_date > ref.dump_date)
        if not started_newer:
            in_time.append(ref)
        w.clock.advance(seconds=20)
        w.deliver(ref)
    for _ in range(40):
        finish_running(w, refs, True)
        if all(w.state(r).status in TERMINAL_STATUSES for r in refs):
            break
        w.clock.advance(minutes=15)
        w.sweep()
    succeeded = sorted(
        (w.state(r) for r in refs if w.state(r).status is DumpStatus.SUCCEEDED),
        key=lambda s: s.timestamps["succeeded_at"],
    )
    assert [s.dump_date for s in succeeded] == sorted(s.dump_date for s in succeeded)
    for ref in in_time:
        state = w.state(ref)
        assert state.status is DumpStatus.SUCCEEDED, (ref.key, state.status, state.reason)
