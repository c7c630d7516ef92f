"""Safe to run at 3 a.m.: replay drains only the stack's DLQ, destructive actions ask first,
Ctrl-C says what was done and how to resume, and the status table tells the truth."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.cli.tables import Column, fit
from dumpflow.control.state import DumpStatus
from dumpflow.ops import backfill as backfill_module
from dumpflow.ops import replay as replay_module
from dumpflow.ops.enqueue import enqueue
from ops.aws_world import World

D1 = dt.date(2026, 11, 20)


def day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def run(*args: str, width: int = 100, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": str(width)}).invoke(app, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def failed_in_dlq(world: World, n: int) -> str:
    ref = world.put_dump(day(n))
    world.record(ref, DumpStatus.FAILED, error="required table movings is empty")
    world.dead_letter(ref, message="required table movings is empty")
    return ref.key


def pending_backfill(world: World, n: int) -> None:
    """A backfill message waiting on the main queue, as `dumpflow backfill` leaves it."""
    ref = world.put_dump(day(n))
    world.record(ref, DumpStatus.FAILED)
    attempt = world.store.arm_replay(ref.key, mode="backfill", force=False, note="test")
    enqueue(world.sqs, world.settings.queue_url, ref, mode="backfill", attempt=attempt, force=False)


# ----- replay drains only the DLQ of this stack ------------------------------------------------


def test_replay_all_refuses_the_main_queue_and_deletes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_backfill(world, 1)
    monkeypatch.setenv("DUMPFLOW_DLQ_URL", world.settings.queue_url)
    for args in (["replay", "--all", "--yes"], ["replay"], ["replay", "--all", "--dry-run"]):
        code, out, err = run(*args)
        assert code == 2 and out == ""
        assert "is the main queue itself" in err and len(err.strip().splitlines()) == 1
    (message,) = world.drain(world.settings.queue_url)
    assert message["mode"] == "backfill"


def test_replay_refuses_a_queue_that_is_not_the_redrive_target(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = world.sqs.create_queue(
        QueueName="someone-elses.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    world.sqs.send_message(
        QueueUrl=other, MessageBody='{"x": 1}', MessageGroupId="g", MessageDeduplicationId="1"
    )
    monkeypatch.setenv("DUMPFLOW_DLQ_URL", other)
    code, _, err = run("replay", "--all", "--yes")
    assert code == 2 and "is not the DLQ of" in err and "redrive target is arn:" in err
    assert world.depth(other) == 1


# ----- confirmation --------------------------------------------------------------------------


def test_replay_all_without_a_terminal_needs_yes(world: World) -> None:
    failed_in_dlq(world, 1)
    code, _, err = run("replay", "--all")
    assert code == 2 and "pass --yes to confirm" in err
    assert world.depth(world.settings.dlq_url) == 1 and world.drain(world.settings.queue_url) == []


def test_replay_force_of_one_key_needs_yes_too(world: World) -> None:
    key = failed_in_dlq(world, 1)
    code, _, err = run("replay", "--key", key, "--force")
    assert code == 2 and "pass --yes" in err
    code, _, _ = run("replay", "--key", key)
    assert code == 0 and world.drain(world.settings.queue_url)[0]["key"] == key


@pytest.mark.parametrize(("answer", "code", "sent"), [("n\n", 1, 0), ("y\n", 0, 1)])
def test_on_a_terminal_replay_all_shows_the_plan_and_asks(
    world: World, monkeypatch: pytest.MonkeyPatch, answer: str, code: int, sent: int
) -> None:
    monkeypatch.setattr("dumpflow.cli.ops_cmds._interactive", lambda: True)
    failed_in_dlq(world, 1)
    got, out, err = run("replay", "--all", stdin=answer)
    assert got == code
    assert "would send" in out and "Replay 1 dump(s)" in err
    assert len(world.drain(world.settings.queue_url)) == sent
    assert world.depth(world.settings.dlq_url) == 1 - sent


def test_a_backfill_of_a_few_dates_runs_more_needs_yes(world: World) -> None:
    for n in range(1, 6):
        world.put_dump(day(n))
    code, _, _ = run("backfill", "--from", "2026-11-20", "--to", "2026-11-22")
    assert code == 0 and len(world.drain(world.settings.queue_url)) == 3
    code, _, err = run("backfill", "--from", "2026-11-23", "--to", "2026-11-24")
    assert code == 0
    code, _, err = run("backfill", "--from", "2026-11-20", "--to", "2026-11-24", "--force")
    assert code == 2 and "Enqueue" in err and "pass --yes" in err


def test_a_backfill_of_many_dates_without_yes_changes_nothing(world: World) -> None:
    for n in range(1, 6):
        world.put_dump(day(n))
    code, _, err = run("backfill", "--from", "2026-11-20", "--to", "2026-11-24")
    assert code == 2 and "Enqueue 5 date(s) as backfills: pass --yes" in err
    assert world.drain(world.settings.queue_url) == []
    assert all(world.store.get(f"dumps/gghouse_{day(n):%Y%m%d}.sql") is None for n in (1, 5))
    code, out, _ = run("backfill", "--from", "2026-11-20", "--to", "2026-11-24", "--yes")
    assert code == 0 and "Enqueued 5" in out


# ----- Ctrl-C --------------------------------------------------------------------------------


def interrupt_on_call(n: int) -> Any:
    calls = {"count": 0}

    def send(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == n:
            raise KeyboardInterrupt
        return enqueue(*args, **kwargs)

    return send


def test_ctrl_c_during_backfill_says_what_was_done_and_how_to_resume(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(1, 5):
        world.put_dump(day(n))
    monkeypatch.setattr(backfill_module, "enqueue", interrupt_on_call(3))
    code, out, err = run("backfill", "--from", "2026-11-20", "--to", "2026-11-23", "--yes")
    assert code == 130
    assert "interrupted after enqueuing 2 date(s)" in err
    assert "Resume with: dumpflow backfill --from 2026-11-22 --to 2026-11-23" in err
    assert re.search(r"2026-11-21 .* enqueued #1", out)
    assert [m["key"] for m in world.drain(world.settings.queue_url)] == [
        "dumps/gghouse_20261120.sql",
        "dumps/gghouse_20261121.sql",
    ]
    monkeypatch.setattr(backfill_module, "enqueue", enqueue)
    code, out, _ = run("backfill", "--from", "2026-11-22", "--to", "2026-11-23")
    assert code == 0 and "Enqueued 2" in out


def test_ctrl_c_during_replay_keeps_every_letter_not_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [failed_in_dlq(world, n) for n in (1, 2, 3)]
    monkeypatch.setattr(replay_module, "enqueue", interrupt_on_call(2))
    code, _, err = run("replay", "--all", "--yes")
    assert code == 130
    assert f"interrupted after sending 1 dump(s) ({keys[0]})" in err and "Resume" in err
    assert world.depth(world.settings.dlq_url) == 2
    monkeypatch.setattr(replay_module, "enqueue", enqueue)
    code, out, _ = run("replay", "--all", "--yes", "--json")
    document = json.loads(out)
    assert code == 0 and sorted(d["key"] for d in document["dumps"]) == keys[1:]
    sent = world.drain(world.settings.queue_url)
    assert sorted(m["key"] for m in sent) == keys and world.depth(world.settings.dlq_url) == 0


# ----- replay's listing ----------------------------------------------------------------------


def test_listing_exit_code_and_json_agree(world: World) -> None:
    code, out, _ = run("replay", "--json")
    assert code == 0 and json.loads(out)["needs_attention"] is False
    resolved = world.put_dump(day(1))
    world.record(resolved, DumpStatus.SUCCEEDED)
    world.dead_letter(resolved)
    code, out, _ = run("replay", "--json")
    assert code == 0 and json.loads(out)["needs_attention"] is False
    failed_in_dlq(world, 2)
    code, out, _ = run("replay", "--json")
    assert code == 1 and json.loads(out)["needs_attention"] is True
    code, out, _ = run("replay")
    assert code == 1 and "Pass --key K or --all to replay." in out
    assert world.depth(world.settings.dlq_url) == 2


# ----- status --------------------------------------------------------------------------------


def test_status_shows_the_main_queue_depth(world: World) -> None:
    pending_backfill(world, 1)
    code, out, _ = run("status")
    assert code == 1 and "Queue: 1   DLQ: 0" in out
    _, out, _ = run("status", "--json")
    assert json.loads(out)["queue_depth"] == {"visible": 1, "in_flight": 0}


def test_status_filters_by_status_and_since(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    world.record(world.put_dump(day(2)), DumpStatus.FAILED)
    world.record(world.put_dump(day(3)), DumpStatus.SUCCEEDED)
    code, out, _ = run("status", "--json", "--status", "failed")
    assert [d["dump_date"] for d in json.loads(out)["dumps"]] == ["2026-11-21"] and code == 1
    code, out, _ = run("status", "--json", "--status", "SUCCEEDED", "--since", "2026-11-21")
    assert [d["dump_date"] for d in json.loads(out)["dumps"]] == ["2026-11-22"] and code == 0
    code, out, _ = run("status", "--json", "--status", "succeeded,failed", "--since", "20261121")
    assert [d["dump_date"] for d in json.loads(out)["dumps"]] == ["2026-11-22", "2026-11-21"]


def test_a_succeeded_dump_does_not_show_its_old_error_and_att_shows_the_armed_attempt(
    world: World,
) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.FAILED, error="old failure of attempt 1")
    armed = world.store.arm_replay(ref.key, mode="replay", force=False, note="test")
    code, out, _ = run("status")
    row = next(line for line in out.splitlines() if line.startswith("2026-11-20"))
    assert f" 1→{armed} " in row and "old failure of attempt" in row
    later = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    for before, to in ((DumpStatus.FAILED, DumpStatus.LOADING),
                       (DumpStatus.LOADING, DumpStatus.TRANSFORMING),
                       (DumpStatus.TRANSFORMING, DumpStatus.SUCCEEDED)):  # fmt: skip
        changes = {"attempts": armed} if to is DumpStatus.LOADING else {}
        assert world.store.transition(ref.key, {before}, to, now=later, **changes)
    code, out, _ = run("status")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("2026-11-20"))
    assert "SUCCEEDED" in row and "old failure" not in row and f" {armed} " in row
    assert "Last errors" not in out
    _, out, _ = run("status", "--json")
    (dump,) = json.loads(out)["dumps"]
    assert dump["current_error"] is None and dump["armed_attempt"] is None
    _, out, _ = run("status", "--key", ref.name)
    assert "earlier error" in out and "old failure of attempt 1" in out


def test_status_key_shows_the_dbt_reports_data_quality(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    quality = {
        "warnings": 1,
        "checks": [
            {
                "name": "relationships_stg_movings_tenant_id",
                "model": "stg_movings",
                "column": "tenant_id",
                "kind": "relationships",
                "failures": 3694,
                "sample_keys": ["17", "42"],
            }
        ],
    }
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key="reports/dbt/2026-11-20.json",
        Body=json.dumps({"status": "SUCCEEDED", "dump_key": ref.key, "data_quality": quality}),
    )
    code, out, _ = run("status", "--key", ref.name)
    assert code == 0 and "Source data quality" in out
    assert re.search(r"warnings +1\b", out)
    assert re.search(r"relationships +stg_movings.tenant_id: 3,694 row\(s\); keys 17, 42", out)


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_status_never_cuts_a_number(world: World, width: int) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED, error="x")
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key="reports/load/2026-11-20.json",
        Body=json.dumps({"dump_key": ref.key, "totals": {"rows": 123_456_789}}),
    )
    code, out, _ = run("status", width=width)
    assert code == 0 and "123,456,789" in out
    assert all(len(line) <= width for line in out.splitlines())


numbers = st.integers(min_value=0, max_value=10**12).map(lambda n: f"{n:,}")


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(numbers, numbers, st.text(max_size=120)), min_size=1, max_size=5),
    width=st.integers(min_value=30, max_value=200),
)
def test_fit_drops_columns_rather_than_digits(rows: list[tuple[str, str, str]], width: int) -> None:
    columns = (Column("rows", 8, right=True), Column("bytes", 2, right=True),
               Column("note", 5, text=True))  # fmt: skip
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(fit(columns, [list(r) for r in rows], width))
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines())
    shown = "bytes" in text.splitlines()[0]
    for row in rows:
        assert row[0] in text
        if shown:
            assert row[1] in text
