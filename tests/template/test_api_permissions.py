"""Every AWS call the control plane and the load job make is allowed by the role that runs it.

The calls are read from the source (not listed by hand), so a new call without its IAM action
fails here instead of with AccessDenied in production; moto does not enforce IAM.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from template.test_security import FUNCTIONS, as_list

REPO = Path(__file__).resolve().parents[2]
CONTROL = REPO / "src" / "dumpflow" / "control"
GLUE_SCRIPT = REPO / "glue" / "load_dump_job.py"
LOADER_SOURCE = REPO / "src" / "dumpflow" / "loader" / "source.py"

# The receivers our code names its boto3 clients by.
CLIENT_NAMES = {"client", "_client", "s3", "sqs", "secrets"}
# boto3 operation (or managed transfer) -> the IAM actions it needs (service authorization
# reference; s3.copy is a managed copy: HeadObject, CopyObject or the multipart calls).
ACTIONS = {
    "get_item": ["dynamodb:GetItem"],
    "put_item": ["dynamodb:PutItem"],
    "update_item": ["dynamodb:UpdateItem"],
    "delete_item": ["dynamodb:DeleteItem"],
    # a transaction needs the action of each item it writes (Put and Delete here)
    "transact_write_items": ["dynamodb:PutItem", "dynamodb:DeleteItem"],
    "scan": ["dynamodb:Scan"],
    "head_object": ["s3:GetObject"],
    "get_object": ["s3:GetObject"],
    "put_object": ["s3:PutObject"],
    "copy": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload"],
    "send_message": ["sqs:SendMessage"],
    "start_job_run": ["glue:StartJobRun"],
    "get_job_run": ["glue:GetJobRun"],
    "get_job_runs": ["glue:GetJobRuns"],
    "run_task": ["ecs:RunTask", "iam:PassRole"],
    "describe_tasks": ["ecs:DescribeTasks"],
    "list_tasks": ["ecs:ListTasks"],
    "stop_task": ["ecs:StopTask"],
    "get_secret_value": ["secretsmanager:GetSecretValue"],
}
NOT_AWS_CALLS = {"get_paginator", "paginate"}
# Allowed to the sweeper's role only: ending a dbt task past its limit.
SWEEPER_ONLY = {"ecs:StopTask"}


def aws_calls(path: Path) -> Iterator[str]:
    """Operations called on a client in ``path`` (``get_paginator("x")`` counts as ``x``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if name not in CLIENT_NAMES:
            continue
        if node.func.attr == "get_paginator" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant):
                yield str(first.value)
        elif node.func.attr not in NOT_AWS_CALLS:
            yield node.func.attr


def allowed_actions(resources: dict[str, Any], role: str) -> set[str]:
    """Allow actions of a role: its inline policies plus the stack's managed policies on it."""
    properties = resources[role]["Properties"]
    documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
    documents += [
        resources[ref["Ref"]]["Properties"]["PolicyDocument"]
        for ref in properties.get("ManagedPolicyArns", [])
    ]
    return {
        action
        for document in documents
        for statement in document["Statement"]
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
    }


def missing_actions(
    resources: dict[str, Any], role: str, needed: dict[str, set[str]]
) -> dict[str, list[str]]:
    """Needed actions the role does not allow, each with the calls that need it."""
    allowed = allowed_actions(resources, role)
    return {action: sorted(calls) for action, calls in needed.items() if action not in allowed}


def needed_actions(paths: list[Path]) -> dict[str, set[str]]:
    needed: dict[str, set[str]] = {}
    for path in paths:
        for call in aws_calls(path):
            assert call in ACTIONS, f"{path.name} calls {call}: map it to its IAM actions"
            for action in ACTIONS[call]:
                needed.setdefault(action, set()).add(f"{path.name}:{call}")
    return needed


def test_the_scan_finds_the_control_plane_calls() -> None:
    found = {call for path in CONTROL.glob("*.py") for call in aws_calls(path)}
    assert {"put_item", "start_job_run", "run_task", "send_message", "copy"} <= found


def test_every_function_role_allows_every_call_of_the_control_plane(
    resources: dict[str, Any],
) -> None:
    """Any handler may pump, resume, fail or finish a dump, so each role needs them all."""
    needed = needed_actions(sorted(CONTROL.glob("*.py")))
    for function in FUNCTIONS:
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        wanted = needed
        if function != "SweeperFunction":
            wanted = {a: c for a, c in needed.items() if a not in SWEEPER_ONLY}
        missing = missing_actions(resources, role, wanted)
        assert not missing, f"{role} lacks {missing}"


def test_only_the_sweeper_stops_a_task() -> None:
    """ecs:StopTask is the sweeper's alone, so only the sweeper's code may stop a dbt task."""
    callers = set()
    for path in sorted(CONTROL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "stop"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr == "dbt"
            ):
                callers.add(path.name)
    assert callers == {"sweeper.py"}


def test_the_load_job_role_allows_every_call_of_the_job(resources: dict[str, Any]) -> None:
    needed = needed_actions([GLUE_SCRIPT, LOADER_SOURCE])
    assert {"s3:GetObject", "s3:PutObject", "secretsmanager:GetSecretValue"} <= set(needed)
    role = resources["LoadDumpJob"]["Properties"]["Role"]["Fn::GetAtt"][0]
    missing = missing_actions(resources, role, needed)
    assert not missing, f"{role} lacks {missing}"


def test_the_load_job_can_tell_a_missing_dump_from_a_forbidden_one(
    resources: dict[str, Any],
) -> None:
    """A dump expired before its load must fail as NoSuchKey, not AccessDenied: S3 answers
    404 only to a principal that may list the bucket."""
    role = resources["LoadDumpJob"]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for document in resources[role]["Properties"]["Policies"]
        for s in document["PolicyDocument"]["Statement"]
    ]
    (listing,) = [s for s in statements if "s3:ListBucket" in as_list(s["Action"])]
    assert "Condition" not in listing
    assert listing["Resource"]["Fn::Sub"][0] == "arn:${AWS::Partition}:s3:::${Bucket}"
