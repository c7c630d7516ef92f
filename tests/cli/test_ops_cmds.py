"""The operator commands as an on-call engineer runs them: output, --json, exit codes, errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from dumpflow import config
from dumpflow.cli.main import app
from dumpflow.control.messages import key_tag
from dumpflow.control.state import DumpStatus
from ops.aws_world import REGION, World, aws_env, provision

D1 = dt.date(2026, 11, 20)
WIDTH = 100


def day(n: int) -> dt.date:
    return D1 + dt.timedelta(days=n - 1)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": str(WIDTH)}).invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def failed_in_dlq(world: World, n: int) -> str:
    ref = world.put_dump(day(n))
    world.record(ref, DumpStatus.FAILED, error="[1146] required table movings is empty " * 3)
    world.dead_letter(ref, message="required table movings is empty")
    return ref.key


@pytest.mark.parametrize("command", ["status", "replay", "backfill"])
def test_every_command_has_help_with_examples(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0
    assert "Examples" in out and f"dumpflow {command} --" in out
    assert all(len(line) <= WIDTH for line in out.splitlines())


def test_status_shows_the_pipeline_and_fits_100_columns(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    failed_in_dlq(world, 3)
    world.store.advance_watermark(day(1))
    code, out, _ = run("status")
    assert code == 1
    assert "Watermark: 2026-11-20   Waiting: 0   Queue: 0   DLQ: 1" in out
    assert "Days without a SUCCEEDED dump: 2026-11-21..2026-11-22" in out
    assert "gghouse_20261122.sql" in out and "FAILED" in out
    assert "2026-11-22 load: [1146] required table movings is empty [1146]" in out
    assert all(len(line) <= WIDTH for line in out.splitlines())


def test_status_json_and_a_healthy_pipeline_exit_0(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    code, out, _ = run("status", "--json", "--limit", "5")
    document = json.loads(out)
    assert code == 0
    assert [d["key"] for d in document["dumps"]] == ["dumps/gghouse_20261120.sql"]
    assert document["dlq_depth"] == 0 and document["needs_attention"] is False


def test_status_of_one_dump_shows_history_and_reports(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.s3.put_object(
        Bucket=world.settings.bucket,
        Key="reports/load/2026-11-20.json",
        Body=json.dumps({"tables": {"tenants": {"rows": 12}}, "totals": {"rows": 12}}),
    )
    failed_in_dlq(world, 2)
    code, out, _ = run("status", "--key", ref.name)
    assert code == 0
    assert "History" in out and "TRANSFORMING" in out and "jr_20261120" in out
    assert "Load report" in out and "tenants=12" in out
    assert "dbt summary" in out and "(none written yet)" in out


def test_status_limit_and_date_narrow_the_rows(world: World) -> None:
    for n in (1, 2, 3):
        world.record(world.put_dump(day(n)), DumpStatus.SUCCEEDED)
    code, out, _ = run("status", "--json", "--limit", "2")
    assert code == 0
    assert [d["dump_date"] for d in json.loads(out)["dumps"]] == ["2026-11-22", "2026-11-21"]
    code, out, _ = run("status", "--json", "--date", "2026-11-21")
    assert code == 0 and [d["dump_date"] for d in json.loads(out)["dumps"]] == ["2026-11-21"]


def test_status_of_a_date_with_no_dump_exits_1(world: World) -> None:
    code, out, _ = run("status", "--date", "20261120")
    assert code == 1 and "no dump dated 2026-11-20" in out


def test_replay_dry_run_lists_then_replay_sends(world: World) -> None:
    key = failed_in_dlq(world, 1)
    code, out, _ = run("replay", "--dry-run", "--all")
    assert code == 1 and "would send" in out and "Dry run" in out
    assert world.drain(world.settings.queue_url) == []

    code, out, _ = run("replay", "--key", key)
    assert code == 0 and "Sent 1, refused 0" in out
    (message,) = world.drain(world.settings.queue_url)
    assert message["attempt"] == 2 and world.depth(world.settings.dlq_url) == 0


def test_replay_without_a_selection_only_lists(world: World) -> None:
    failed_in_dlq(world, 1)
    code, out, _ = run("replay")
    assert code == 1 and "Pass --key K or --all to replay." in out
    assert world.depth(world.settings.dlq_url) == 1


def test_replay_force_and_json(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.dead_letter(ref)
    code, out, _ = run("replay", "--all", "--force", "--json", "--yes")
    document = json.loads(out)
    assert code == 0 and document["dumps"][0]["outcome"] == "sent"
    dedup = document["dumps"][0]["enqueued"]["deduplication_id"]
    assert dedup == f"replay-20261120-2-{key_tag(ref.key)}"


def test_replay_drops_the_letter_of_a_dump_that_succeeded_since(world: World) -> None:
    ref = world.put_dump(day(1))
    world.record(ref, DumpStatus.SUCCEEDED)
    world.dead_letter(ref)
    code, out, _ = run("replay", "--all", "--yes")
    assert code == 0 and "already resolved" in out
    assert "already resolved 1 (DLQ copies deleted)." in out
    assert world.depth(world.settings.dlq_url) == 0
    assert world.drain(world.settings.queue_url) == []


def test_replay_of_an_empty_dlq_is_fine(world: World) -> None:
    code, out, _ = run("replay", "--all")
    assert code == 0 and "The DLQ is empty" in out


def test_backfill_reports_gaps_with_exit_1(world: World) -> None:
    world.put_dump(day(1))
    world.record(world.put_dump(day(2)), DumpStatus.SUCCEEDED)
    world.put_dump(day(4), gzip=True)
    code, out, _ = run("backfill", "--from", "2026-11-20", "--to", "2026-11-24")
    assert code == 1
    assert "Missing dumps: 2026-11-22, 2026-11-24" in out
    assert "Enqueued 2, skipped 1 (SUCCEEDED), refused 0, missing 2 of 5 day(s)." in out
    sent = world.drain(world.settings.queue_url)
    assert [m["key"] for m in sent] == [
        "dumps/gghouse_20261120.sql",
        "dumps/gghouse_20261123.sql.gz",
    ]


def test_backfill_dry_run_json_and_force(world: World) -> None:
    world.record(world.put_dump(day(1)), DumpStatus.SUCCEEDED)
    code, out, _ = run("backfill", "--from", "20261120", "--to", "20261120", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["summary"]["skipped"] == 1
    code, out, _ = run("backfill", "--from", "20261120", "--to", "20261120", "--force", "--yes")
    assert code == 0 and "Enqueued 1" in out
    assert world.drain(world.settings.queue_url)[0]["force"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backfill", "--from", "2026-11-25", "--to", "2026-11-20"], "is before --from"),
        (["backfill", "--from", "yesterday", "--to", "2026-11-20"], "--from 'yesterday' is not"),
        (["replay", "--all", "--key", "x"], "either --key or --all"),
        (["status", "--stack-name", "nope"], "DescribeStacks: ValidationError"),
    ],
)
def test_usage_and_aws_errors_are_one_line_with_exit_2(
    world: World, args: list[str], message: str
) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_queue_error_mid_backfill_names_the_dump_and_shows_what_was_done(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.put_dump(day(1))
    monkeypatch.setenv("DUMPFLOW_QUEUE_URL", world.settings.queue_url.replace("dumps", "gone"))
    code, out, err = run("backfill", "--from", "20261120", "--to", "20261121")
    assert code == 2
    assert err.startswith("dumpflow backfill: dumps/gghouse_20261120.sql: sending to the queue")
    assert "SendMessage" in err and len(err.strip().splitlines()) == 1
    assert "Enqueued 0" in out and "would enqueue" in out


def test_missing_settings_are_named(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUMPFLOW_DLQ_URL")
    code, _, err = run("replay", "--all")
    assert code == 2 and "dlq_url ($DUMPFLOW_DLQ_URL)" in err


def test_no_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    aws_env(monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_CONFIG_FILE", f"{tmp_path}/none")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("DUMPFLOW_TABLE", "dumpflow-state")
    code, _, err = run("status")
    assert code == 2 and "no usable AWS credentials" in err
    code, _, err = run("status", "--profile", "oncall")
    assert code == 2 and "oncall" in err and len(err.strip().splitlines()) == 1


STACK_OUTPUTS = {
    "BucketName": config.ENV_BUCKET,
    "QueueUrl": config.ENV_QUEUE_URL,
    "DlqUrl": config.ENV_DLQ_URL,
    "StateTableName": config.ENV_TABLE,
}


def test_stack_name_finds_the_resources_without_environment_settings(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {name: {"Value": os.environ[env]} for name, env in STACK_OUTPUTS.items()}
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="dumpflow-prod", TemplateBody=json.dumps(template)
    )
    for env in STACK_OUTPUTS.values():
        monkeypatch.delenv(env)
    failed_in_dlq(world, 1)
    code, out, _ = run(
        "replay", "--all", "--stack-name", "dumpflow-prod", "--region", REGION, "--yes"
    )
    assert code == 0 and "Sent 1" in out
    assert world.drain(world.settings.queue_url)[0]["attempt"] == 2


def test_the_local_stack_is_reached_through_its_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        aws_env(monkeypatch)
        local = provision(monkeypatch, endpoint_url=url)
        local.record(local.put_dump(day(1)), DumpStatus.SUCCEEDED)
        code, out, _ = run("status", "--json", "--endpoint-url", url)
        assert code == 0
        assert [d["key"] for d in json.loads(out)["dumps"]] == ["dumps/gghouse_20261120.sql"]
        code, out, _ = run("--endpoint-url", url, "--region", REGION, "status", "--json")
        assert code == 0, "the AWS options may come before the command too"
        assert [d["key"] for d in json.loads(out)["dumps"]] == ["dumps/gghouse_20261120.sql"]
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        code, out, _ = run("backfill", "--from", "20261120", "--to", "20261120", "--json")
        assert code == 0 and json.loads(out)["summary"]["skipped"] == 1
    finally:
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=30).close()
        server.stop()
