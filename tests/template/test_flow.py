"""The event flow of docs/ARCHITECTURE.md as template.yaml wires it."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from moto.events.models import EventPattern

from dumpflow.dumps import DEFAULT_DUMP_PREFIX, MANIFEST_PREFIX, dump_ref
from dumpflow.local.template import Resolver
from template.stack import ACCOUNT, REGION, STACK


def object_created(bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    """An "Object Created" event in the shape S3 sends to EventBridge."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-11-24T20:41:07Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": size,
                "etag": etag,
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject",
        },
    }


class Pattern:
    """An EventBridge event pattern, matched by moto's implementation of the matching rules."""

    def __init__(self, pattern: Any) -> None:
        self._pattern = EventPattern.load(json.dumps(pattern))

    def matches(self, event: dict[str, Any]) -> bool:
        return bool(self._pattern.matches_event(cast(Any, event)))


def transform(target: dict[str, Any], event: dict[str, Any]) -> str:
    """Apply an EventBridge input transformer (plain ``$.a.b`` paths) to an event."""
    body = str(target["InputTransformer"]["InputTemplate"])
    for name, path in target["InputTransformer"]["InputPathsMap"].items():
        value: Any = event
        for part in str(path).removeprefix("$.").split("."):
            value = value[part]
        body = body.replace(f"<{name}>", str(value))
    return body


def test_dump_queue_is_fifo_with_content_dedup_and_a_fifo_dlq(resources: dict[str, Any]) -> None:
    queue = resources["DumpQueue"]["Properties"]
    dlq = resources["DumpDLQ"]["Properties"]
    assert queue["FifoQueue"] is True
    assert queue["ContentBasedDeduplication"] is True
    assert queue["QueueName"]["Fn::Sub"].endswith(".fifo")
    assert dlq["FifoQueue"] is True
    assert dlq["QueueName"]["Fn::Sub"].endswith(".fifo")
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DumpDLQ", "Arn"]}
    assert 1 <= redrive["maxReceiveCount"] <= 10
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    ingest_timeout = resources["IngestFunction"]["Properties"].get("Timeout", 60)
    assert queue["VisibilityTimeout"] >= 6 * ingest_timeout


def test_object_created_rule_reduces_a_real_s3_event_to_the_queue_message(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    rule = resolver.resolve(resources["ObjectCreatedRule"]["Properties"])
    (target,) = rule["Targets"]
    assert target["Arn"] == resolver.physical["DumpQueue"].attributes["Arn"]
    assert target["SqsParameters"] == {"MessageGroupId": "dumps"}
    template = target["InputTransformer"]["InputTemplate"]
    placeholders = re.findall(r"<\w+>", template)
    assert placeholders and len(re.findall(r'"<\w+>"', template)) == len(placeholders)

    bucket = resolver.physical["DumpBucket"].ref
    event = object_created(bucket, "dumps/gghouse_20261124.sql.gz", "9b2cf535f27731c9", 947_912_704)
    assert Pattern(rule["EventPattern"]).matches(event)
    message = json.loads(transform(target, event))
    assert message == {
        "bucket": bucket,
        "key": "dumps/gghouse_20261124.sql.gz",
        "etag": "9b2cf535f27731c9",
        "size": "947912704",
        "version_id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
    }
    ref = dump_ref(**{k: v for k, v in message.items() if k != "version_id"})
    assert (ref.dump_date.isoformat(), ref.size) == ("2026-11-24", 947_912_704)


def test_object_created_rule_takes_dumps_and_manifests_of_our_bucket_only(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    rule = resolver.resolve(resources["ObjectCreatedRule"]["Properties"])
    pattern = Pattern(rule["EventPattern"])
    bucket = resolver.physical["DumpBucket"].ref
    assert resolver.parameters["DumpPrefix"] == DEFAULT_DUMP_PREFIX

    def matches(bucket_name: str, key: str) -> bool:
        return pattern.matches(object_created(bucket_name, key, "e", 1))

    assert matches(bucket, f"{MANIFEST_PREFIX}gghouse_20261124.json")
    assert matches(bucket, f"{DEFAULT_DUMP_PREFIX}gghouse_20261124.sql")
    assert not matches(bucket, "processed/gghouse_20261124.sql")
    assert not matches(bucket, "reports/load/2026-11-24.json")
    assert not matches("someone-elses-bucket", f"{DEFAULT_DUMP_PREFIX}gghouse_20261124.sql")


def test_created_bucket_sends_its_events_to_eventbridge(resources: dict[str, Any]) -> None:
    notifications = resources["DumpBucket"]["Properties"]["NotificationConfiguration"]
    assert notifications == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_glue_rule_takes_terminal_states_of_our_job_only(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    event_source = resources["GlueStateFunction"]["Properties"]["Events"]["GlueJobStateChange"]
    assert event_source["Type"] == "EventBridgeRule"
    pattern = Pattern(resolver.resolve(event_source["Properties"]["Pattern"]))

    def glue_event(job: str, state: str) -> dict[str, Any]:
        return {
            "version": "0",
            "id": "a5b9b5d5-7f1e-4d6e-b5c8-6b1e0d1e2f3a",
            "detail-type": "Glue Job State Change",
            "source": "aws.glue",
            "account": ACCOUNT,
            "time": "2026-11-24T21:32:10Z",
            "region": REGION,
            "resources": [],
            "detail": {
                "jobName": job,
                "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
                "state": state,
                "jobRunId": "jr_8f3b2c1d0e9a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
                "message": "Job run succeeded",
            },
        }

    ours = f"{STACK}-load-dump"
    for state in ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"):
        assert pattern.matches(glue_event(ours, state)), state
    assert not pattern.matches(glue_event(ours, "RUNNING"))
    assert not pattern.matches(glue_event("another-teams-job", "FAILED"))


def test_ecs_rule_takes_stopped_tasks_of_our_family_on_our_cluster(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    event_source = resources["EcsStateFunction"]["Properties"]["Events"]["DbtTaskStopped"]
    pattern = Pattern(resolver.resolve(event_source["Properties"]["Pattern"]))
    family = resolver.resolve(resources["DbtTaskDefinition"]["Properties"]["Family"])
    cluster_arn = resolver.physical["DbtCluster"].attributes["Arn"]

    def task_event(cluster: str, task_family: str, status: str) -> dict[str, Any]:
        return {
            "version": "0",
            "id": "3317b2af-7005-947d-b652-f55e762e571a",
            "detail-type": "ECS Task State Change",
            "source": "aws.ecs",
            "account": ACCOUNT,
            "time": "2026-11-24T22:05:41Z",
            "region": REGION,
            "resources": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{STACK}/0b69d5c0d0"],
            "detail": {
                "clusterArn": cluster,
                "containers": [{"name": "dbt", "exitCode": 0, "lastStatus": "STOPPED"}],
                "group": f"family:{task_family}",
                "lastStatus": status,
                "desiredStatus": "STOPPED",
                "launchType": "FARGATE",
                "startedBy": "dumpflow-20261124",
                "stopCode": "EssentialContainerExited",
                "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{STACK}/0b69d5c0d0",
                "taskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/"
                f"{task_family}:3",
            },
        }

    assert pattern.matches(task_event(cluster_arn, family, "STOPPED"))
    assert not pattern.matches(task_event(cluster_arn, family, "RUNNING"))
    assert not pattern.matches(task_event(cluster_arn, family + "-other", "STOPPED"))
    other_cluster = cluster_arn.replace(f"cluster/{STACK}", "cluster/default")
    assert not pattern.matches(task_event(other_cluster, family, "STOPPED"))


def test_functions_run_the_documented_handlers(resources: dict[str, Any]) -> None:
    handlers = {
        name: resources[name]["Properties"]["Handler"]
        for name in ("IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction")
    }
    assert handlers == {
        "IngestFunction": "dumpflow.handlers.ingest.handler",
        "GlueStateFunction": "dumpflow.handlers.glue_state.handler",
        "EcsStateFunction": "dumpflow.handlers.ecs_state.handler",
        "SweeperFunction": "dumpflow.handlers.sweeper.handler",
    }


def test_ingest_consumes_the_fifo_queue_one_at_a_time_with_partial_batches(
    resources: dict[str, Any],
) -> None:
    ingest = resources["IngestFunction"]["Properties"]
    assert ingest["ReservedConcurrentExecutions"] == 1
    (source,) = ingest["Events"].values()
    assert source["Type"] == "SQS"
    assert source["Properties"]["Queue"] == {"Fn::GetAtt": ["DumpQueue", "Arn"]}
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_sweeper_runs_every_fifteen_minutes(resources: dict[str, Any]) -> None:
    (source,) = resources["SweeperFunction"]["Properties"]["Events"].values()
    assert source["Type"] == "Schedule"
    assert source["Properties"]["Schedule"] == "rate(15 minutes)"


def test_async_functions_park_failed_events_instead_of_dropping_them(
    resources: dict[str, Any],
) -> None:
    for name in ("GlueStateFunction", "EcsStateFunction", "SweeperFunction"):
        props = resources[name]["Properties"]
        assert props["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": ["EventDLQ", "Arn"]}
        for source in props["Events"].values():
            # With "Type" SAM would create (and leave unwatched) a queue of its own.
            dead_letter = source["Properties"]["DeadLetterConfig"]
            assert dead_letter == {"Arn": {"Fn::GetAtt": ["EventDLQ", "Arn"]}}
