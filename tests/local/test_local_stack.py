"""The local stack in moto: resources from the template, and the flow around the handlers
(S3 event -> transformer -> FIFO queue -> poller -> function -> Glue run -> state change event
-> function -> ECS task -> state change event -> function), with stand-in handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import local_stack_handlers
import pytest

from dumpflow.db import Dsn
from dumpflow.local.flow import LocalFlow
from dumpflow.local.glue_runner import glue_argv
from dumpflow.local.moto_server import moto_server, patched_environ
from dumpflow.local.moto_stack import LocalStack, StackOptions, deploy_stack
from dumpflow.local.template import TemplateError

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DSN = Dsn(host="db.local", port=3307, user="dumpflow", password="s3cret")
REAL_TEMPLATE_PARAMETERS = {
    "DbtImageUri": "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dumpflow-dbt:local",
    "AuroraEndpoint": "db.local",
    "AuroraPort": "3307",
    "ArtifactBucketName": "artifacts",
    "LoaderPackageKey": "dumpflow/loader.zip",
    "AlarmEmail": "ops@example.com",
}


@pytest.fixture()
def small_stack() -> Iterator[LocalStack]:
    for calls in local_stack_handlers.CALLS.values():
        calls.clear()
    with moto_server("ap-northeast-1") as endpoint, patched_environ(endpoint.environment()):
        yield deploy_stack(
            StackOptions(HERE / "stack_template.yaml", "t", DSN, {"MinDumpBytes": "1"}), endpoint
        )


@pytest.fixture()
def flow(small_stack: LocalStack) -> LocalFlow:
    return LocalFlow(
        small_stack,
        HERE / "glue_script_fixture.py",
        HERE / "dbt_entry_fixture.py",
        task_environment={"DBT_TARGET": "local"},
    )


def _put(stack: LocalStack, key: str, body: bytes = b"-- dump\n") -> str:
    response = stack.client("s3").put_object(
        Bucket=stack.physical["DumpBucket"].ref, Key=key, Body=body
    )
    return str(response["ETag"]).strip('"')


def test_real_template_deploys_with_its_names_queues_and_rules() -> None:
    with moto_server("ap-northeast-1") as endpoint, patched_environ(endpoint.environment()):
        stack = deploy_stack(
            StackOptions(
                REPO / "template.yaml", "dumpflow-demo", DSN, REAL_TEMPLATE_PARAMETERS,
                environment_overrides={"DUMPFLOW_MIN_DUMP_BYTES": "1024"},
            ),
            endpoint,
        )  # fmt: skip
        sqs = stack.client("sqs")
        queue = sqs.get_queue_attributes(QueueUrl=stack.physical["DumpQueue"].ref,
                                         AttributeNames=["All"])["Attributes"]  # fmt: skip
        assert queue["FifoQueue"] == "true"
        assert queue["ContentBasedDeduplication"] == "true"
        assert json.loads(queue["RedrivePolicy"]) == {
            "deadLetterTargetArn": stack.physical["DumpDLQ"].attributes["Arn"],
            "maxReceiveCount": 5,
        }
        ingest = stack.functions["IngestFunction"]
        assert ingest.handler == "dumpflow.handlers.ingest.handler"
        assert (
            ingest.environment["DUMPFLOW_QUEUE_URL"]
            == sqs.get_queue_url(QueueName=stack.physical["DumpQueue"].attributes["QueueName"])[
                "QueueUrl"
            ]
        )
        assert ingest.environment["DUMPFLOW_MIN_DUMP_BYTES"] == "1024"
        subnets = stack.client("ec2").describe_subnets()["Subnets"]
        assert ingest.environment["DUMPFLOW_SUBNETS"] in {s["SubnetId"] for s in subnets}
        (source,) = stack.sources
        assert (source.function.logical_id, source.batch_size) == ("IngestFunction", 10)
        assert source.report_batch_item_failures
        rules = {rule.logical_id: rule for rule in stack.rules}
        assert rules["ObjectCreatedRule"].targets[0].message_group_id == "dumps"
        assert (
            rules["GlueStateFunctionGlueJobStateChange"].targets[0].function
            is (stack.functions["GlueStateFunction"])
        )
        job = stack.client("glue").get_job(JobName=stack.physical["LoadDumpJob"].ref)["Job"]
        secret = stack.client("secretsmanager").get_secret_value(
            SecretId=job["DefaultArguments"]["--secret_arn"]
        )
        assert json.loads(secret["SecretString"])["host"] == "db.local"


def test_upload_reaches_the_function_as_the_transformed_fifo_message(
    small_stack: LocalStack, flow: LocalFlow
) -> None:
    etag = _put(small_stack, "dumps/gghouse_20261101.sql", b"x" * 321)
    _put(small_stack, "elsewhere/gghouse_20261101.sql")
    flow.settle()
    (call, *_rest) = local_stack_handlers.CALLS["ingest"]
    (record,) = call["event"]["Records"]
    assert json.loads(record["body"]) == {
        "bucket": small_stack.physical["DumpBucket"].ref,
        "key": "dumps/gghouse_20261101.sql",
        "etag": etag,
        "size": "321",
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["attributes"]["MessageGroupId"] == "dumps"
    assert call["env_role"] == "ingest"
    assert call["function"] == small_stack.functions["IngestFunction"].name
    assert len(local_stack_handlers.CALLS["ingest"]) == 1


def test_glue_run_and_ecs_task_end_with_the_state_change_events(
    small_stack: LocalStack, flow: LocalFlow
) -> None:
    _put(small_stack, "dumps/gghouse_20261101.sql")
    activity = flow.settle()
    assert (activity.glue_runs, activity.ecs_tasks) == (1, 1)
    (glue_event,) = local_stack_handlers.CALLS["glue_state"]
    assert glue_event["detail-type"] == "Glue Job State Change"
    assert glue_event["detail"]["state"] == "SUCCEEDED"
    run_id = glue_event["detail"]["jobRunId"]
    run = small_stack.client("glue").get_job_run(JobName="t-load-dump", RunId=run_id)["JobRun"]
    assert run["JobRunState"] == "SUCCEEDED"
    assert run["Arguments"]["--dump_key"] == "dumps/gghouse_20261101.sql"
    assert flow.glue.outcomes[0].arguments["--secret_arn"] == small_stack.db_secret_arns[0]
    (task,) = flow.ecs.outcomes
    assert task.environment["DBT_HOST"] == "db.local"
    assert task.environment["DBT_USER"] == "dumpflow"
    assert task.environment["DUMP_KEY"] == run_id
    assert task.environment["DBT_TARGET"] == "local"
    (ecs_event,) = local_stack_handlers.CALLS["ecs_state"]
    assert ecs_event["detail"]["lastStatus"] == "STOPPED"
    assert ecs_event["detail"]["containers"][0]["exitCode"] == 0
    assert ecs_event["detail"]["startedBy"] == "dumpflow-20261101"
    stopped = small_stack.client("ecs").describe_tasks(cluster="t-dbt", tasks=[task.task_arn])[
        "tasks"
    ][0]
    assert stopped["desiredStatus"] == "STOPPED"


def test_a_failing_glue_script_fails_the_run_with_its_message(
    small_stack: LocalStack, flow: LocalFlow
) -> None:
    _put(small_stack, "dumps/corrupt_20261103.sql")
    flow.settle()
    (glue_event,) = local_stack_handlers.CALLS["glue_state"]
    assert glue_event["detail"]["state"] == "FAILED"
    assert glue_event["detail"]["severity"] == "ERROR"
    assert "sha256 does not match the manifest" in glue_event["detail"]["message"]
    run = small_stack.client("glue").get_job_run(
        JobName="t-load-dump", RunId=glue_event["detail"]["jobRunId"]
    )["JobRun"]
    assert run["JobRunState"] == "FAILED"
    assert flow.ecs.outcomes == []


def test_a_message_failing_every_time_is_redriven_to_the_dlq(
    small_stack: LocalStack, flow: LocalFlow
) -> None:
    _put(small_stack, "dumps/poison_20261102.sql")
    _put(small_stack, "dumps/gghouse_20261102.sql")
    activity = flow.settle()
    sqs = small_stack.client("sqs")
    dead = sqs.receive_message(
        QueueUrl=small_stack.physical["DumpDLQ"].ref, AttributeNames=["All"],
        MaxNumberOfMessages=10,
    )["Messages"]  # fmt: skip
    assert [json.loads(m["Body"])["key"] for m in dead] == ["dumps/poison_20261102.sql"]
    deliveries = [
        json.loads(r["body"])["key"]
        for call in local_stack_handlers.CALLS["ingest"]
        for r in call["event"]["Records"]
    ]
    assert deliveries.count("dumps/poison_20261102.sql") == 2  # maxReceiveCount
    assert deliveries.count("dumps/gghouse_20261102.sql") == 1
    assert activity.redeliveries >= 1
    left = sqs.get_queue_attributes(
        QueueUrl=small_stack.physical["DumpQueue"].ref, AttributeNames=["All"]
    )["Attributes"]
    assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == (
        "0", "0",
    )  # fmt: skip


def test_the_dbt_exit_code_reaches_the_event(small_stack: LocalStack) -> None:
    flow = LocalFlow(
        small_stack, HERE / "glue_script_fixture.py", HERE / "dbt_entry_fixture.py",
        task_environment={"EXIT_WITH": "2"},
    )  # fmt: skip
    _put(small_stack, "dumps/gghouse_20261104.sql")
    flow.settle()
    (ecs_event,) = local_stack_handlers.CALLS["ecs_state"]
    assert ecs_event["detail"]["containers"][0]["exitCode"] == 2


def test_a_raising_function_fails_the_whole_batch(small_stack: LocalStack, flow: LocalFlow) -> None:
    _put(small_stack, "dumps/explode_20261105.sql")
    _put(small_stack, "dumps/gghouse_20261105.sql")
    activity = flow.settle()
    batches = [
        sorted(json.loads(r["body"])["key"] for r in call["event"]["Records"])
        for call in local_stack_handlers.CALLS["ingest"]
    ]
    both = ["dumps/explode_20261105.sql", "dumps/gghouse_20261105.sql"]
    assert batches == [both, both]  # received twice (maxReceiveCount 2), never processed
    assert any(poll.error == "RuntimeError: the function crashed" for poll in activity.polls)
    dead = small_stack.client("sqs").receive_message(
        QueueUrl=small_stack.physical["DumpDLQ"].ref, MaxNumberOfMessages=10
    )["Messages"]
    assert sorted(json.loads(m["Body"])["key"] for m in dead) == both
    assert flow.glue.outcomes == []


def test_a_parameter_without_value_is_named(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n  AlarmEmail: {Type: String}\n"
        "Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}\n"
    )
    with (
        moto_server("ap-northeast-1") as endpoint,
        patched_environ(endpoint.environment()),
        pytest.raises(TemplateError, match="cannot fill: AlarmEmail"),
    ):
        deploy_stack(StackOptions(template, "t", DSN), endpoint)


def test_glue_passes_its_ids_then_the_run_arguments() -> None:
    assert glue_argv("job", "jr_1", {"--dump_key": "dumps/x.sql", "--target_schema": "s"}) == [
        "--JOB_NAME", "job", "--JOB_RUN_ID", "jr_1",
        "--dump_key", "dumps/x.sql", "--target_schema", "s",
    ]  # fmt: skip


def test_a_function_failing_every_async_attempt_parks_the_event_on_its_dlq(
    small_stack: LocalStack, flow: LocalFlow
) -> None:
    _put(small_stack, "dumps/corrupt_crash-state_20261106.sql")
    flow.settle()
    assert len(local_stack_handlers.CALLS["glue_state"]) == 3  # first try + 2 Lambda retries
    (parked,) = small_stack.client("sqs").receive_message(
        QueueUrl=small_stack.physical["EventDLQ"].ref, MessageAttributeNames=["All"]
    )["Messages"]
    event = json.loads(parked["Body"])
    assert event["detail-type"] == "Glue Job State Change"
    assert event["detail"]["state"] == "FAILED"
    assert parked["MessageAttributes"]["ErrorMessage"]["StringValue"] == (
        "RuntimeError: glue_state crashed"
    )
