"""Stand-in Lambda handlers for the local stack's own tests: they record what they receive and
call AWS through the environment the template gives them, like the real handlers do."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

CALLS: dict[str, list[dict[str, Any]]] = {"ingest": [], "glue_state": [], "ecs_state": []}


def ingest(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS["ingest"].append(
        {
            "event": event,
            "function": context.function_name,
            "env_role": os.environ.get("ROLE_OF_FUNCTION"),
        }
    )
    failures = []
    if any("explode" in json.loads(r["body"])["key"] for r in event["Records"]):
        raise RuntimeError("the function crashed")
    for record in event["Records"]:
        body = json.loads(record["body"])
        if "poison" in body["key"]:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        if body["key"].startswith("dumps/"):
            boto3.client("glue").start_job_run(
                JobName=os.environ["DUMPFLOW_GLUE_JOB"],
                Arguments={"--dump_key": body["key"], "--dump_bucket": body["bucket"]},
            )
    return {"batchItemFailures": failures}


def glue_state(event: dict[str, Any], context: Any) -> None:
    CALLS["glue_state"].append(event)
    if "crash-state" in event["detail"]["message"]:
        raise RuntimeError("glue_state crashed")
    if event["detail"]["state"] == "SUCCEEDED":
        boto3.client("ecs").run_task(
            cluster=os.environ["DUMPFLOW_ECS_CLUSTER"],
            taskDefinition=os.environ["DUMPFLOW_TASK_DEFINITION"],
            launchType="FARGATE",
            startedBy="dumpflow-20261101",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": os.environ["DUMPFLOW_SUBNETS"].split(","),
                    "securityGroups": os.environ["DUMPFLOW_SECURITY_GROUPS"].split(","),
                }
            },
            overrides={
                "containerOverrides": [
                    {
                        "name": "dbt",
                        "environment": [
                            {"name": "DUMP_KEY", "value": event["detail"]["jobRunId"]},
                        ],
                    }
                ]
            },
        )


def ecs_state(event: dict[str, Any], context: Any) -> None:
    CALLS["ecs_state"].append(event)
