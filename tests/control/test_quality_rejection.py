"""A load the quality gate refused ends the dump REJECTED (reason quality), never retried;
an operator's acceptance lets exactly one armed attempt publish anyway."""

from __future__ import annotations

import json
from typing import Any

import pytest

from control.aws_world import World
from dumpflow.control.state import DumpStatus
from dumpflow.dumps import DumpRef

FAILED_CHECKS = [
    {
        "check": "freshness",
        "table": "rooms",
        "value": "2026-11-22T20:00:00+09:00",
        "limit": "2026-11-23T12:00:00+09:00",
        "verdict": "fail",
        "reason": "stale content",
        "message": "stale content: rooms newest updated_at is ...",
    },
    {"check": "row_count", "table": "rooms", "value": 10, "limit": 8, "verdict": "pass"},
]


def write_report(world: World, ref: DumpRef, body: dict[str, Any] | bytes) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    world.s3.put_object(
        Bucket=ref.bucket, Key=f"reports/load/{ref.dump_date.isoformat()}.json", Body=raw
    )


def rejected_report(ref: DumpRef, run_id: str | None) -> dict[str, Any]:
    return {
        "dump_key": ref.key,
        "glue_run_id": run_id,
        "status": "REJECTED",
        "error": {"dump": ref.key, "stage": "quality", "cause": "stale content (rooms) -- ..."},
        "quality": {"verdict": "fail", "summary": "stale content (rooms)", "checks": FAILED_CHECKS},
    }


def test_a_quality_rejection_ends_the_dump_rejected_without_a_retry(world: World) -> None:
    first, second = world.put_dump(world.day(-2)), world.put_dump(world.day(-1))
    world.deliver(first)
    world.deliver(second)
    run_id = world.state(first).glue_run_id
    write_report(world, first, rejected_report(first, run_id))

    world.finish_load(first, "FAILED", "QualityRejected: gghouse: quality failed: ...")

    state = world.state(first)
    assert (state.status, state.stage) == (DumpStatus.REJECTED, "quality")
    assert state.reason == "quality: stale content (rooms)"
    assert state.last_error is not None and state.last_error["stage"] == "quality"
    assert [c["table"] for c in state.last_error["checks"]] == ["rooms"]  # the failed ones
    assert state.history[-1]["to"] == "REJECTED"
    assert world.dlq_messages() == []  # not a failure to retry
    assert world.telemetry.counts["RejectedDumps"] == 1  # the rejected alarm's metric
    assert world.telemetry.counts.get("DumpsFailed", 0) == 0
    # the slot is free: the next dump runs; the watermark did not move
    assert world.state(second).status is DumpStatus.LOADING
    assert world.store.watermark() is None


@pytest.mark.parametrize(
    "report",
    [
        "other run",  # the report of another run of the date
        "failed",  # an ordinary failure
        "not json",
        "missing",
    ],
)
def test_anything_but_this_runs_quality_report_is_an_ordinary_failure(
    world: World, report: str
) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    run_id = world.state(ref).glue_run_id
    if report == "other run":
        write_report(world, ref, rejected_report(ref, "jr_someone_else"))
    elif report == "failed":
        body = rejected_report(ref, run_id)
        body.update(status="FAILED", error={"stage": "execute", "cause": "lost connection"})
        write_report(world, ref, body)
    elif report == "not json":
        write_report(world, ref, b"{half")
    world.finish_load(ref, "FAILED", "LoadError")
    state = world.state(ref)
    assert (state.status, state.stage) == (DumpStatus.FAILED, "load")
    assert len(world.dlq_messages()) == 1


def test_accepting_quality_passes_the_override_to_that_one_attempt_only(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    write_report(world, ref, rejected_report(ref, world.state(ref).glue_run_id))
    world.finish_load(ref, "FAILED")
    assert world.state(ref).status is DumpStatus.REJECTED

    attempt = world.store.arm_replay(
        ref.key, mode="replay", force=False, note="business shrank", accepted_by="ops-tanaka"
    )
    armed = world.state(ref)
    assert armed.accept_quality is not None and armed.accept_quality["by"] == "ops-tanaka"
    assert "quality accepted by ops-tanaka" in armed.history[-1]["note"]
    world.deliver(ref, mode="replay", attempt=attempt)
    arguments = world.runs_for(ref)[-1]["Arguments"]
    assert arguments["--accept_quality"].startswith("ops-tanaka at ")
    world.finish_load(ref, "FAILED", "lost connection")  # that attempt failed otherwise
    assert world.state(ref).status is DumpStatus.FAILED

    # a plain replay afterwards is judged by the gate again
    again = world.store.arm_replay(ref.key, mode="replay", force=False, note="")
    world.deliver(ref, mode="replay", attempt=again)
    assert "--accept_quality" not in world.runs_for(ref)[-1]["Arguments"]
    assert world.state(ref).accept_quality is None


def test_a_new_upload_of_the_key_drops_an_unused_acceptance(world: World) -> None:
    ref = world.put_dump(world.day(-1))
    world.deliver(ref)
    write_report(world, ref, rejected_report(ref, world.state(ref).glue_run_id))
    world.finish_load(ref, "FAILED")
    world.store.arm_replay(ref.key, mode="replay", force=False, note="", accepted_by="ops-sato")
    # the producer uploads corrected content before the replay message is delivered
    fixed = world.put_dump(world.day(-1), body=b"-- corrected dump\n" * 200)
    world.deliver(fixed)
    state = world.state(fixed)
    assert state.status is DumpStatus.LOADING and state.etag == fixed.etag
    assert state.accept_quality is None
    assert "--accept_quality" not in world.runs_for(fixed)[-1]["Arguments"]
