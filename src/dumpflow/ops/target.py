"""Which deployment the operator commands talk to: credentials, endpoint and resource names.

Resolution order: ``--stack-name`` reads the names from the CloudFormation outputs; otherwise
the same environment variables the Lambdas use (``Settings.from_env``). Credentials come from
boto3's default chain (or ``--profile``); ``--endpoint-url`` / ``AWS_ENDPOINT_URL`` point every
client at the local stack of ``make demo``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3

from dumpflow import config
from dumpflow.config import Settings
from dumpflow.ops.errors import OpsError
from dumpflow.ops.settings_check import (
    check_environment,
    check_profile,
    check_region,
    check_settings,
    check_stack_name,
    check_url,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_STACK_NAME = "DUMPFLOW_STACK_NAME"

# CloudFormation output name -> Settings field (the outputs template.yaml exports).
STACK_OUTPUTS: Mapping[str, str] = {
    "BucketName": "bucket",
    "QueueUrl": "queue_url",
    "DlqUrl": "dlq_url",
    "StateTableName": "table",
    "GlueJobName": "glue_job",
    "ClusterName": "ecs_cluster",
    "TaskDefinitionArn": "task_definition",
}

# Settings field -> how an operator supplies it without a stack.
_FIELD_SOURCES: Mapping[str, str] = {
    "bucket": config.ENV_BUCKET,
    "queue_url": config.ENV_QUEUE_URL,
    "dlq_url": config.ENV_DLQ_URL,
    "table": config.ENV_TABLE,
}


class AwsTarget:
    """One resolved deployment: its settings and boto3 clients sharing one session."""

    def __init__(
        self,
        settings: Settings,
        session: boto3.Session,
        endpoint_url: str | None = None,
        stack_name: str | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.endpoint_url = endpoint_url
        self.stack_name = stack_name

    def sqs(self) -> SQSClient:
        return self.session.client("sqs", endpoint_url=self.endpoint_url)

    def s3(self) -> S3Client:
        return self.session.client("s3", endpoint_url=self.endpoint_url)

    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", endpoint_url=self.endpoint_url)

    def require(self, *fields: str) -> None:
        """Fail early, naming the missing setting, before any command touches AWS."""
        missing = [name for name in fields if not getattr(self.settings, name)]
        if not missing:
            return
        hints = ", ".join(f"{name} (${_FIELD_SOURCES.get(name, '?')})" for name in missing)
        raise OpsError(f"missing {hints}: pass --stack-name or set the environment variables")

    def describe(self) -> str:
        """Where the commands point, for headers and logs."""
        where = f"stack {self.stack_name}" if self.stack_name else "environment settings"
        endpoint = f" at {self.endpoint_url}" if self.endpoint_url else ""
        region = self.session.region_name or "no region"
        return f"{where}, {region}{endpoint}"


def stack_settings(cfn: CloudFormationClient, stack_name: str, base: Settings) -> Settings:
    """Overlay the stack's outputs on ``base``; a stack lacking the core outputs is an error."""
    stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    found: dict[str, Any] = {STACK_OUTPUTS[k]: v for k, v in outputs.items() if k in STACK_OUTPUTS}
    missing = sorted(
        k for k in ("BucketName", "QueueUrl", "DlqUrl", "StateTableName") if k not in outputs
    )
    if missing:
        raise OpsError(
            f"stack {stack_name} has no output {', '.join(missing)}: is it a dumpflow stack?"
        )
    return dataclasses.replace(base, **found)


def resolve_target(
    *,
    profile: str | None = None,
    region: str | None = None,
    stack_name: str | None = None,
    endpoint_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> AwsTarget:
    """Build the target from the CLI options and the environment (see the module docstring).

    Every value is checked first: a bad one raises SettingError naming the option or the
    environment variable it came from.
    """
    environ = os.environ if env is None else env
    check_environment(environ)
    if profile is not None:
        check_profile("--profile", profile)
    if region is not None:
        check_region("--region", region)
    if stack_name is not None:
        check_stack_name("--stack-name", stack_name)
    elif environ.get(ENV_STACK_NAME):
        stack_name = check_stack_name(ENV_STACK_NAME, environ[ENV_STACK_NAME])
    if endpoint_url is not None:
        endpoint = check_url("--endpoint-url", endpoint_url)
    elif environ.get(ENV_ENDPOINT_URL):
        endpoint = check_url(ENV_ENDPOINT_URL, environ[ENV_ENDPOINT_URL])
    else:
        endpoint = None
    settings = check_settings(Settings.from_env(dict(environ)))
    session = boto3.Session(profile_name=profile, region_name=region)
    if stack_name:
        cfn = session.client("cloudformation", endpoint_url=endpoint)
        settings = stack_settings(cfn, stack_name, settings)
    return AwsTarget(settings, session, endpoint_url=endpoint, stack_name=stack_name)
