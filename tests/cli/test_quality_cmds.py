"""The quality gate at the operator CLI: its table in ``status --key`` and the one-dump
acceptance ``replay --accept-quality KEY --operator NAME``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.control.state import DumpStatus
from dumpflow.dumps import DumpRef
from ops.aws_world import World

DAY = dt.date(2026, 11, 25)
WIDTH = 100
CHECKS = [
    {
        "check": "freshness",
        "table": "rooms",
        "value": "2026-11-23T20:10:00+09:00",
        "limit": "2026-11-24T12:00:00+09:00",
        "verdict": "fail",
        "reason": "stale content",
        "message": "stale content: rooms ...",
    },
    {"check": "row_count", "table": "rooms", "value": 320, "limit": 256, "verdict": "pass"},
    {
        "check": "manifest_agreement",
        "table": "*",
        "value": None,
        "limit": None,
        "verdict": "warn",
        "reason": "no manifest max_updated_at_by_table",
    },
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": str(WIDTH)}).invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def rejected_by_quality(world: World) -> DumpRef:
    """A dump the control plane REJECTED for quality, with the load report the job wrote."""
    ref = world.put_dump(DAY)
    world.record(ref, DumpStatus.REJECTED, error="quality: stale content (rooms)")
    world.store.amend(
        ref.key,
        {DumpStatus.REJECTED},
        stage="quality",
        last_error={"stage": "quality", "message": "stale content (rooms)", "at": "x"},
    )
    report: dict[str, Any] = {
        "status": "REJECTED",
        "glue_run_id": "jr_1",
        "error": {"stage": "quality", "message": "gghouse_20261125.sql: quality failed: ..."},
        "quality": {
            "verdict": "fail",
            "summary": "stale content (rooms)",
            "accepted_by": None,
            "previous_schema": "staging",
            "seconds": 0.2,
            "checks": CHECKS,
            "drift": [
                {
                    "table": "rooms",
                    "column": "floor_plan",
                    "change": "added",
                    "before": None,
                    "after": "varchar(20)",
                    "read_by_dbt": False,
                }
            ],
            "notes": [],
        },
    }
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key=f"reports/load/{DAY.isoformat()}.json",
        Body=json.dumps(report).encode(),
    )
    return ref


def test_status_key_shows_the_gate_table_failures_first(world: World) -> None:
    ref = rejected_by_quality(world)
    code, out, _ = run("status", "--key", ref.name)
    assert code == 1  # a REJECTED dump needs attention
    assert "REJECTED (quality)" in out
    assert "quality: stale content (rooms)" in out
    assert "Load quality gate" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["check", "table"])
    assert lines[header].split() == ["check", "table", "value", "limit", "verdict"]
    body = [line.split() for line in lines[header + 1 :] if not line.startswith("─")]
    rows = body[:3]
    assert [row[0] for row in rows] == ["freshness", "manifest_agreement", "row_count"]
    assert rows[0][-1] == "fail" and rows[2][-1] == "pass"
    assert "2026-11-23T20:10:00+09:00" in out and "2026-11-24T12:00:00+09:00" in out
    assert "drift added" in out and "rooms.floor_plan" in out
    assert all(len(line) <= WIDTH for line in lines)
    code, out, _ = run("status", "--key", ref.name, "--json")
    detail = json.loads(out)["detail"]
    assert detail["load_report"]["quality"]["checks"] == CHECKS


def test_status_key_of_a_load_without_a_gate_says_so(world: World) -> None:
    ref = world.put_dump(DAY)
    world.record(ref, DumpStatus.SUCCEEDED)
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key=f"reports/load/{DAY.isoformat()}.json",
        Body=json.dumps({"status": "SUCCEEDED", "totals": {"rows": 3}}).encode(),
    )
    code, out, _ = run("status", "--key", ref.name)
    assert code == 0 and "(the load report has no quality section)" in out


def test_accept_quality_arms_one_attempt_and_records_who(world: World) -> None:
    ref = rejected_by_quality(world)
    code, out, err = run(
        "replay", "--accept-quality", ref.name, "--operator", "tanaka", "--dry-run"
    )
    assert code == 0 and "would re-run" in out
    assert world.drain(world.settings.queue_url) == []
    assert world.store.get(ref.key).accept_quality is None  # type: ignore[union-attr]

    code, out, err = run(
        "replay", "--accept-quality", ref.name, "--operator", "tanaka", "--yes", "--json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["operator"] == "tanaka" and document["mode"] == "replay"
    [message] = world.drain(world.settings.queue_url)
    assert (message["key"], message["mode"], message["attempt"]) == (ref.key, "replay", 2)
    state = world.store.get(ref.key)
    assert state is not None and state.replay_armed_attempt == 2
    assert state.accept_quality is not None
    assert (state.accept_quality["by"], state.accept_quality["attempt"]) == ("tanaka", 2)
    note = state.history[-1]
    assert "quality accepted by tanaka" in note["note"] and note["at"]


def test_accept_quality_refuses_what_the_gate_did_not_reject(world: World) -> None:
    failed = world.put_dump(DAY - dt.timedelta(days=1))
    world.record(failed, DumpStatus.FAILED)
    code, _, err = run("replay", "--accept-quality", failed.name, "--operator", "x", "--yes")
    assert code == 2 and "only a dump REJECTED by the quality gate" in err
    code, _, err = run("replay", "--accept-quality", "gghouse_20200101.sql", "--operator", "x")
    assert code == 2 and "no such dump" in err
    assert world.drain(world.settings.queue_url) == []


def test_accept_quality_needs_a_plain_operator_name(world: World) -> None:
    ref = rejected_by_quality(world)
    for bad in ([], ["--operator", ""], ["--operator", "\x1b[31mroot"], ["--operator", "a" * 65]):
        code, _, err = run("replay", "--accept-quality", ref.name, "--yes", *bad)
        assert code == 2 and "--operator" in err, bad
    code, _, err = run("replay", "--operator", "tanaka")
    assert code == 2 and "--operator goes with --accept-quality" in err
    code, _, err = run("replay", "--accept-quality", ref.name, "--operator", "t", "--all")
    assert code == 2
    assert world.drain(world.settings.queue_url) == []
    assert world.store.get(ref.key).accept_quality is None  # type: ignore[union-attr]
