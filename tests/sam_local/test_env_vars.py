"""The ``--env-vars`` file: every declared variable of every function, pointing at one stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from dumpflow.db import Dsn
from dumpflow.local.demo_stack import REPO_ROOT, DemoLayout, DemoRuntime, demo_runtime
from dumpflow.local.sam_env import (
    ENDPOINT_VARIABLE,
    declared_variables,
    deployed_env_vars,
    function_names,
    local_env_vars,
    write_env_vars,
)
from dumpflow.local.samples import SAMPLE_STACK_NAME
from dumpflow.local.template import load_template

FUNCTIONS = {"IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction"}
CONTAINER_URL = "http://172.17.0.1:45123"


@pytest.fixture()
def runtime(mariadb_dsn: Dsn) -> Iterator[DemoRuntime]:
    with demo_runtime(DemoLayout(stack_name=SAMPLE_STACK_NAME), mariadb_dsn) as running:
        yield running


def test_local_file_points_every_function_at_the_container_endpoint(
    runtime: DemoRuntime, tmp_path: Path
) -> None:
    path = write_env_vars(tmp_path / "env.json", local_env_vars(runtime.stack, CONTAINER_URL))
    env = json.loads(path.read_text(encoding="utf-8"))
    declared = declared_variables(load_template(REPO_ROOT / "template.yaml"))
    assert set(env) == FUNCTIONS
    for function, variables in env.items():
        assert set(variables) == declared[function], function
        assert variables[ENDPOINT_VARIABLE] == CONTAINER_URL
        assert variables["DUMPFLOW_TABLE"] == runtime.settings.table
        assert variables["DUMPFLOW_GLUE_JOB"] == f"{SAMPLE_STACK_NAME}-load-dump"
        assert variables["DUMPFLOW_QUEUE_URL"].startswith(CONTAINER_URL)
        assert not [v for v in variables.values() if runtime.endpoint.url in v]


def test_function_names_of_a_deploy() -> None:
    names = function_names(REPO_ROOT / "template.yaml", SAMPLE_STACK_NAME, "ap-northeast-1")
    assert names == {
        "IngestFunction": "dumpflow-dev-ingest",
        "GlueStateFunction": "dumpflow-dev-glue-state",
        "EcsStateFunction": "dumpflow-dev-ecs-state",
        "SweeperFunction": "dumpflow-dev-sweeper",
    }


def test_deployed_file_is_each_functions_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    names = function_names(REPO_ROOT / "template.yaml", SAMPLE_STACK_NAME, "ap-northeast-1")
    with mock_aws():
        iam = boto3.client("iam", region_name="ap-northeast-1")
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="ap-northeast-1")
        for logical_id, name in names.items():
            client.create_function(
                FunctionName=name, Runtime="python3.11", Role=role, Handler="x.handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                Environment={"Variables": {"DUMPFLOW_TABLE": f"table-of-{logical_id}"}},
            )  # fmt: skip
        env = deployed_env_vars(client, names)
    assert env == {logical_id: {"DUMPFLOW_TABLE": f"table-of-{logical_id}"} for logical_id in names}
