"""The samples carry the names of the stack they belong to: samconfig.toml's dev stack.

Checked against template.yaml deployed locally as ``dumpflow-dev``: the rules the template
gives the completion functions match exactly their samples, the queue record is what the
object-created rule enqueues for the sample's object, and every name resolves.
"""

from __future__ import annotations

import hashlib
import json
import tomllib

from dumpflow.local.demo_stack import REPO_ROOT
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import (
    ECS_TASK_STOPPED_EXIT0,
    ECS_TASK_STOPPED_EXIT1,
    GLUE_JOB_FAILED,
    GLUE_JOB_SUCCEEDED,
    SAMPLE_STACK_NAME,
    SQS_DUMP_OBJECT_CREATED,
    SWEEPER_SCHEDULE,
    SampleEvents,
)
from dumpflow.local.template import ACCOUNT_ID, Resolver, load_template


def test_the_sample_stack_is_the_dev_stack_of_samconfig() -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["dev"]["deploy"]["parameters"]["stack_name"] == SAMPLE_STACK_NAME


def test_completion_samples_match_only_their_own_function_rule(sample_world: SampleWorld) -> None:
    bus = sample_world.runtime.flow.bus
    rules = {
        GLUE_JOB_SUCCEEDED: [f"{SAMPLE_STACK_NAME}-glue-job-state"],
        GLUE_JOB_FAILED: [f"{SAMPLE_STACK_NAME}-glue-job-state"],
        ECS_TASK_STOPPED_EXIT0: [f"{SAMPLE_STACK_NAME}-dbt-task-stopped"],
        ECS_TASK_STOPPED_EXIT1: [f"{SAMPLE_STACK_NAME}-dbt-task-stopped"],
    }
    for sample, expected in rules.items():
        matched = [rule.name for rule in bus.matching_rules(sample_world.samples.load(sample))]
        assert matched == expected, sample


def test_sweeper_sample_comes_from_the_stacks_schedule() -> None:
    template = load_template(REPO_ROOT / "template.yaml")
    resolver = Resolver(template, {}, SAMPLE_STACK_NAME, "ap-northeast-1")
    events = template["Resources"]["SweeperFunction"]["Properties"]["Events"]
    (schedule,) = [e for e in events.values() if e["Type"] == "Schedule"]
    name = resolver.resolve(schedule["Properties"]["Name"])
    event = SampleEvents().load(SWEEPER_SCHEDULE)
    assert event["resources"] == [f"arn:aws:events:ap-northeast-1:{ACCOUNT_ID}:rule/{name}"]
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")


def test_queue_sample_is_what_the_object_created_rule_enqueues(sample_world: SampleWorld) -> None:
    (record,) = sample_world.samples.load(SQS_DUMP_OBJECT_CREATED)["Records"]
    stack = sample_world.runtime.stack
    (source,) = stack.sources
    assert record["eventSourceARN"] == source.queue_arn
    assert source.function.logical_id == "IngestFunction"
    assert record["awsRegion"] == sample_world.runtime.endpoint.region
    body = record["body"]
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert (
        record["attributes"]["MessageDeduplicationId"] == hashlib.sha256(body.encode()).hexdigest()
    )

    sample_world.s3.put_object(
        Bucket=sample_world.dump.bucket, Key=sample_world.dump.key, Body=b"x"
    )
    assert sample_world.runtime.flow.bus.drain_s3_events() >= 1  # Object Created (+ moto tags)
    queue_url = stack.queue_url(source.queue_arn)
    (queued,) = sample_world.sqs.receive_message(
        QueueUrl=queue_url, AttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    enqueued, sample = json.loads(queued["Body"]), json.loads(body)
    assert list(enqueued) == list(sample)
    assert (enqueued["bucket"], enqueued["key"]) == (sample["bucket"], sample["key"])
    assert queued["Attributes"]["MessageGroupId"] == record["attributes"]["MessageGroupId"]


def test_every_sample_id_agrees_with_the_others() -> None:
    samples = SampleEvents()
    assert samples.dump.key == "dumps/gghouse_20261124.sql.gz"
    assert samples.glue_job == f"{SAMPLE_STACK_NAME}-load-dump"
    assert samples.cluster_arn.endswith(f":cluster/{SAMPLE_STACK_NAME}")
    assert f":task/{SAMPLE_STACK_NAME}/" in samples.task_arn
    assert f":task-definition/{SAMPLE_STACK_NAME}-dbt:" in samples.task_definition_arn
    for sample in (ECS_TASK_STOPPED_EXIT0, ECS_TASK_STOPPED_EXIT1):
        event = samples.load(sample)
        assert event["resources"] == [samples.task_arn]
        assert {c["taskArn"] for c in event["detail"]["containers"]} == {samples.task_arn}
        overrides = event["detail"]["overrides"]["containerOverrides"][0]["environment"]
        environment = {item["name"]: item["value"] for item in overrides}
        assert environment["DUMP_KEY"] == samples.dump.key
        assert environment["DUMP_DATE"] == samples.dump.dump_date.isoformat()
