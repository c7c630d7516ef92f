"""The deployment the template tests resolve template.yaml against (one account, one stack)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dumpflow.local.template import Physical

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
STACK = "dumpflow"
REGION = "ap-northeast-1"
ACCOUNT = "123456789012"

# Values samconfig resolves from SSM and make deploy passes: realistic, so patterns are checked.
DEPLOY_PARAMETERS: dict[str, Any] = {
    "VpcId": "vpc-0a1b2c3d4e5f67890",
    "SubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    "SecurityGroupIds": ["sg-0123456789abcdef0"],
    "GlueAvailabilityZone": "ap-northeast-1a",
    "AuroraEndpoint": "gghouse.cluster-abc123.ap-northeast-1.rds.amazonaws.com",
    "AuroraSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:dumpflow/db-AbCdEf",
    "AlarmEmail": "oncall@example.com",
    "ArtifactBucketName": f"dumpflow-artifacts-{ACCOUNT}-{REGION}",
    "LoaderPackageKey": "dumpflow/loader/dumpflow-loader-0123abcd.zip",
    "DbtImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dumpflow-dbt:0123abcd",
}


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _queue(name: str) -> Physical:
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    return Physical(url, {"Arn": _arn("sqs", name), "QueueName": name})


def physical_ids() -> dict[str, Physical]:
    """What CloudFormation would return for the resources the rules and policies point at."""
    bucket = f"{STACK}-dumpbucket-1a2b3c"
    table = f"{STACK}-StateTable-1X2Y3Z"
    return {
        "DumpBucket": Physical(bucket, {"Arn": f"arn:aws:s3:::{bucket}"}),
        "DumpQueue": _queue(f"{STACK}-dumps.fifo"),
        "DumpDLQ": _queue(f"{STACK}-dumps-dlq.fifo"),
        "EventDLQ": _queue(f"{STACK}-events-dlq"),
        "StateTable": Physical(table, {"Arn": _arn("dynamodb", f"table/{table}")}),
        "LoadDumpJob": Physical(f"{STACK}-load-dump"),
        "DbtCluster": Physical(STACK, {"Arn": _arn("ecs", f"cluster/{STACK}")}),
        "DbtTaskDefinition": Physical(_arn("ecs", f"task-definition/{STACK}-dbt:3")),
        "DbtLogGroup": Physical(f"/ecs/{STACK}/dbt"),
    }
