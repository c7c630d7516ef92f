"""Capacity defaults and the names shared with the code (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any

from dumpflow import config
from dumpflow.local.template import Resolver
from dumpflow.ops.target import STACK_OUTPUTS
from template.stack import ROOT

FUNCTIONS = ("IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction")


def test_capacity_defaults_are_the_seeds(template: dict[str, Any]) -> None:
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    assert defaults["GlueWorkerType"] == "G.2X"
    assert defaults["GlueTimeoutMinutes"] == 120
    assert defaults["GlueNumberOfWorkers"] == 2
    assert defaults["DbtThreads"] == 2
    assert defaults["MinDumpBytes"] == 10 * 1024 * 1024


def test_load_job_uses_the_capacity_parameters_one_run_at_a_time(
    resources: dict[str, Any],
) -> None:
    job = resources["LoadDumpJob"]["Properties"]
    assert job["Command"]["Name"] == "glueetl"
    assert job["Command"]["ScriptLocation"] == "glue/load_dump_job.py"
    assert (ROOT / job["Command"]["ScriptLocation"]).is_file(), "sam deploy uploads this path"
    assert job["WorkerType"] == {"Ref": "GlueWorkerType"}
    assert job["NumberOfWorkers"] == {"Ref": "GlueNumberOfWorkers"}
    assert job["Timeout"] == {"Ref": "GlueTimeoutMinutes"}
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["MaxRetries"] == 0


def test_load_job_defaults_carry_secret_tables_report_bucket_and_loader_package(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    args = resolver.resolve(resources["LoadDumpJob"]["Properties"]["DefaultArguments"])
    assert args["--secret_arn"] == resolver.parameters["AuroraSecretArn"]
    assert args["--required_tables"] == "movings,tenants,apartments,rooms,inquiries"
    assert args["--report_bucket"] == resolver.physical["DumpBucket"].ref
    bucket, key = (resolver.parameters[k] for k in ("ArtifactBucketName", "LoaderPackageKey"))
    assert args["--extra-py-files"] == f"s3://{bucket}/{key}"


def test_every_function_gets_every_settings_variable(template: dict[str, Any]) -> None:
    contract = {getattr(config, name) for name in dir(config) if name.startswith("ENV_")}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    local_only = {"AWS_ENDPOINT_URL"}  # AWS::NoValue when deployed (tests/sam_local)
    assert (
        set(env)
        == contract | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} | local_only
    )
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "dumpflow"
    for name in FUNCTIONS:
        assert "Environment" not in template["Resources"][name]["Properties"], name


def test_function_environment_resolves_to_settings_of_this_stack(
    template: dict[str, Any], resolver: Resolver
) -> None:
    env = resolver.resolve(template["Globals"]["Function"]["Environment"]["Variables"])
    settings = config.Settings.from_env({k: str(v) for k, v in env.items()})
    assert settings.glue_job == resolver.physical["LoadDumpJob"].ref
    assert settings.task_definition == resolver.physical["DbtTaskDefinition"].ref
    assert settings.task_container == "dbt"
    assert settings.subnets == tuple(resolver.parameters["SubnetIds"])
    assert settings.min_dump_bytes == 10 * 1024 * 1024
    assert settings.require_manifest is True
    assert settings.glue_timeout_minutes == 120
    assert settings.lease_seconds == (120 + 60) * 60
    assert settings.daily_starts_per_backfill == 4


def test_dbt_task_runs_container_dbt_with_the_documented_environment(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    (container,) = resolver.resolve(
        resources["DbtTaskDefinition"]["Properties"]["ContainerDefinitions"]
    )
    assert container["Name"] == "dbt"
    assert container["Image"] == resolver.parameters["DbtImageUri"]
    env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert env["DBT_TARGET"] == "prod"
    assert str(env["DBT_THREADS"]) == "2"
    assert env["DBT_SOURCE_SCHEMA"] == "staging"
    assert env["DUMPFLOW_BUCKET"] == resolver.physical["DumpBucket"].ref
    secret = resolver.parameters["AuroraSecretArn"]
    assert {item["Name"]: item["ValueFrom"] for item in container["Secrets"]} == {
        "DBT_HOST": f"{secret}:host::",
        "DBT_USER": f"{secret}:username::",
        "DBT_PASSWORD": f"{secret}:password::",
    }


def test_outputs_cover_what_the_cli_reads(template: dict[str, Any]) -> None:
    assert set(STACK_OUTPUTS) <= set(template["Outputs"])
