"""Target resolution: environment settings, endpoint override, CloudFormation outputs."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from dumpflow.ops.errors import OpsError, describe_aws_error
from dumpflow.ops.target import resolve_target
from ops.aws_world import REGION, World

TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "BucketName": {"Value": "prod-dumps"},
        "QueueUrl": {"Value": "https://sqs.example/123/prod.fifo"},
        "DlqUrl": {"Value": "https://sqs.example/123/prod-dlq.fifo"},
        "StateTableName": {"Value": "prod-state"},
        "GlueJobName": {"Value": "prod-load"},
        "ClusterName": {"Value": "prod-cluster"},
        "TaskDefinitionArn": {"Value": "arn:aws:ecs:ap-northeast-1:1:task-definition/dbt:3"},
    },
}


def test_environment_settings_are_used_without_a_stack(world: World) -> None:
    target = resolve_target()
    assert target.settings.queue_url == world.settings.queue_url
    assert target.settings.table == "dumpflow-state"
    assert target.endpoint_url is None
    assert target.describe() == f"environment settings, {REGION}"


def test_stack_outputs_name_every_resource(world: World) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="dumpflow-prod", TemplateBody=json.dumps(TEMPLATE)
    )
    target = resolve_target(stack_name="dumpflow-prod", region=REGION)
    s = target.settings
    assert (s.bucket, s.table, s.glue_job, s.ecs_cluster) == (
        "prod-dumps",
        "prod-state",
        "prod-load",
        "prod-cluster",
    )
    assert s.queue_url.endswith("/prod.fifo") and s.dlq_url.endswith("/prod-dlq.fifo")
    assert s.task_definition.endswith("task-definition/dbt:3")
    assert target.describe().startswith("stack dumpflow-prod")


def test_a_stack_without_dumpflow_outputs_is_refused(world: World) -> None:
    other = {"Resources": TEMPLATE["Resources"], "Outputs": {"X": {"Value": "1"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="other", TemplateBody=json.dumps(other)
    )
    with pytest.raises(OpsError, match="stack other has no output BucketName, DlqUrl"):
        resolve_target(stack_name="other")


def test_an_unknown_stack_is_one_clear_line(world: World) -> None:
    with pytest.raises(ClientError) as caught:
        resolve_target(stack_name="no-such-stack")
    line = describe_aws_error(caught.value)
    assert "DescribeStacks" in line and "no-such-stack" in line and "\n" not in line


def test_endpoint_comes_from_the_option_or_the_environment(world: World) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}
    assert resolve_target(env=env).endpoint_url == "http://127.0.0.1:4566"
    explicit = resolve_target(endpoint_url="http://127.0.0.1:5000", env=env)
    assert explicit.endpoint_url == "http://127.0.0.1:5000"
    assert explicit.sqs().meta.endpoint_url == "http://127.0.0.1:5000"


def test_missing_settings_name_their_environment_variable(world: World) -> None:
    target = resolve_target(env={})
    with pytest.raises(OpsError, match=r"queue_url \(\$DUMPFLOW_QUEUE_URL\)"):
        target.require("table", "queue_url")


def test_missing_credentials_read_as_advice() -> None:
    line = describe_aws_error(NoCredentialsError())
    assert "credentials" in line and "--profile" in line
