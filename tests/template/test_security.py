"""Least privilege, encryption and secrets: the facts a security reviewer signs off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Actions that accept no resource narrower than "*" (service authorization reference).
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeRouteTables",
}
FUNCTIONS = ("IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity policy: inline in roles and the stack's own managed policies."""
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            yield name, resource["Properties"]["PolicyDocument"]


def role_statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, document in policy_documents(resources):
        for statement in document["Statement"]:
            yield name, statement


def test_every_function_and_job_has_its_own_role_and_no_aws_managed_policy(
    resources: dict[str, Any],
) -> None:
    roles = [resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in FUNCTIONS]
    roles.append(resources["LoadDumpJob"]["Properties"]["Role"]["Fn::GetAtt"][0])
    task = resources["DbtTaskDefinition"]["Properties"]
    roles += [task["TaskRoleArn"]["Fn::GetAtt"][0], task["ExecutionRoleArn"]["Fn::GetAtt"][0]]
    assert len(set(roles)) == len(roles) == 7
    for name, resource in resources.items():
        for attached in resource.get("Properties", {}).get("ManagedPolicyArns", []):
            assert resources[attached["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy", name
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in resource["Properties"], f"{name}: SAM policy templates"


def test_no_statement_allows_a_wildcard_action(resources: dict[str, Any]) -> None:
    for role, statement in role_statements(resources):
        assert statement["Effect"] == "Allow", role
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{role}/{statement['Sid']}: {action}"


def test_wildcard_resources_only_where_the_action_has_no_resource_level(
    resources: dict[str, Any],
) -> None:
    seen = 0
    for role, statement in role_statements(resources):
        if "*" in as_list(statement["Resource"]):
            seen += 1
            actions = set(as_list(statement["Action"]))
            if actions == {"ecs:ListTasks"}:
                cluster = statement["Condition"]["ArnEquals"]["ecs:cluster"]
                assert cluster == {"Fn::GetAtt": ["DbtCluster", "Arn"]}
                continue
            extra = actions - NO_RESOURCE_LEVEL
            assert not extra, f"{role}/{statement['Sid']} grants {extra} on *"
    assert seen, "X-Ray and ECR login need *: the scan must see them"


def test_metrics_permission_is_limited_to_the_glue_namespace(resources: dict[str, Any]) -> None:
    for role, statement in role_statements(resources):
        if "cloudwatch:PutMetricData" in as_list(statement["Action"]):
            assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}, (
                role
            )


def test_pass_role_only_for_the_dbt_task_roles_and_only_to_ecs(resources: dict[str, Any]) -> None:
    passing = [(role, s) for role, s in role_statements(resources) if "iam:PassRole" in
               as_list(s["Action"])]  # fmt: skip
    assert {role for role, _ in passing} == {"ControlPlanePolicy"}
    for role, statement in passing:
        assert as_list(statement["Action"]) == ["iam:PassRole"], role
        assert statement["Resource"] == [
            {"Fn::GetAtt": ["DbtTaskRole", "Arn"]},
            {"Fn::GetAtt": ["DbtExecutionRole", "Arn"]},
        ]
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }


def test_run_task_is_bound_to_our_cluster(resources: dict[str, Any]) -> None:
    for role, statement in role_statements(resources):
        if "ecs:RunTask" in as_list(statement["Action"]):
            condition = statement["Condition"]["ArnEquals"]["ecs:cluster"]
            assert condition == {"Fn::GetAtt": ["DbtCluster", "Arn"]}, role


def test_created_bucket_is_private_encrypted_versioned_and_tls_only(
    resources: dict[str, Any],
) -> None:
    bucket = resources["DumpBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (deny,) = resources["DumpBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_lifecycle_expires_dumps_and_archives_but_keeps_reports(resources: dict[str, Any]) -> None:
    rules = resources["DumpBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = {str(r.get("Prefix")): r["ExpirationInDays"] for r in rules if "Prefix" in r}
    assert expiring == {
        str({"Ref": "DumpPrefix"}): {"Ref": "DumpRetentionDays"},
        "dumps-manifest/": {"Ref": "DumpRetentionDays"},
        "processed/": {"Ref": "ArchiveRetentionDays"},
    }
    assert not any(str(r.get("Prefix", "")).startswith("reports") for r in rules)


def test_state_queues_topic_and_logs_are_encrypted(resources: dict[str, Any]) -> None:
    table = resources["StateTable"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    for name in ("DumpQueue", "DumpDLQ", "EventDLQ"):
        props = resources[name]["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name
    assert "KmsMasterKeyId" in resources["AlarmTopic"]["Properties"]
    log_groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert log_groups
    for group in log_groups:
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert resources["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_no_secret_value_in_template_or_environment(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in template["Parameters"]:
        assert "password" not in name.lower(), name
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert not [k for k in env if any(w in k for w in ("PASSWORD", "SECRET", "TOKEN"))]
    (container,) = resources["DbtTaskDefinition"]["Properties"]["ContainerDefinitions"]
    plain = {item["Name"] for item in container["Environment"]}
    injected = {item["Name"]: item["ValueFrom"] for item in container["Secrets"]}
    assert set(injected) == {"DBT_HOST", "DBT_USER", "DBT_PASSWORD"}
    assert not plain & set(injected)
    for value in injected.values():
        assert value["Fn::Sub"].startswith("${AuroraSecretArn}:")
    job_args = resources["LoadDumpJob"]["Properties"]["DefaultArguments"]
    assert job_args["--secret_arn"] == {"Ref": "AuroraSecretArn"}


def test_glue_and_fargate_run_inside_the_vpc(resources: dict[str, Any]) -> None:
    connection = resources["GlueConnection"]["Properties"]["ConnectionInput"]
    network = connection["PhysicalConnectionRequirements"]
    assert network["SubnetId"] == {"Fn::Select": [0, {"Ref": "SubnetIds"}]}
    assert network["SecurityGroupIdList"] == {"Ref": "SecurityGroupIds"}
    job = resources["LoadDumpJob"]["Properties"]
    assert job["Connections"] == {"Connections": [{"Ref": "GlueConnection"}]}
    task = resources["DbtTaskDefinition"]["Properties"]
    assert task["NetworkMode"] == "awsvpc"
    assert task["RequiresCompatibilities"] == ["FARGATE"]


def test_function_roles_share_the_pipeline_policy_and_only_ingest_consumes_the_queue(
    resources: dict[str, Any],
) -> None:
    for function in FUNCTIONS:
        role = resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert role["Properties"]["ManagedPolicyArns"] == [{"Ref": "ControlPlanePolicy"}]
    consumers = {
        role
        for role, statement in role_statements(resources)
        if "sqs:ReceiveMessage" in as_list(statement["Action"])
    }
    assert consumers == {"IngestRole"}


def test_every_suppressed_scanner_finding_carries_its_reason(resources: dict[str, Any]) -> None:
    suppressed = [
        (name, skip)
        for name, resource in resources.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert suppressed
    for name, skip in suppressed:
        assert skip["id"].startswith("CKV"), name
        assert len(skip.get("comment", "").split()) >= 8, f"{name}/{skip['id']}: no reason"


def test_control_plane_can_tell_a_missing_object_from_a_forbidden_one(
    resources: dict[str, Any],
) -> None:
    """Manifest and archive look-ups expect 404 for a missing key, which needs ListBucket."""
    statements = resources["ControlPlanePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (listing,) = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert "Condition" not in listing
    assert listing["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${Bucket}"


def test_only_the_sweeper_may_stop_tasks_and_only_in_the_dbt_cluster(
    resources: dict[str, Any],
) -> None:
    stoppers = [
        (role, statement)
        for role, statement in role_statements(resources)
        if "ecs:StopTask" in as_list(statement["Action"])
    ]
    assert [role for role, _ in stoppers] == ["SweeperRole"]
    [(_, statement)] = stoppers
    assert as_list(statement["Action"]) == ["ecs:StopTask"]
    resource = statement["Resource"]["Fn::Sub"]
    assert resource.endswith(":task/${DbtCluster}/*"), resource
    assert statement["Condition"] == {
        "ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["DbtCluster", "Arn"]}}
    }


def test_the_dbt_task_enforces_the_same_limit_as_the_sweeper(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    [container] = resources["DbtTaskDefinition"]["Properties"]["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["DBT_TASK_DEADLINE_MINUTES"] == {"Ref": "DbtTimeoutMinutes"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DUMPFLOW_DBT_TIMEOUT_MINUTES"] == {"Ref": "DbtTimeoutMinutes"}
