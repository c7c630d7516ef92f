"""What the template promises the on-call engineer: letters and evidence survive a stack
delete, the dbt container writes only /tmp, the rule takes only keys that can be dumps or
manifests, and the database connections are verified TLS unless told otherwise."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from dumpflow.dumps import DEFAULT_KEY_PATTERN, MANIFEST_PREFIX
from dumpflow.local.template import Resolver

REPO = Path(__file__).resolve().parents[2]
KEEP = {"AWS::SQS::Queue", "AWS::Logs::LogGroup"}


def test_queues_and_log_groups_survive_a_delete_or_a_replacement(
    resources: dict[str, Any],
) -> None:
    kept = {name: r for name, r in resources.items() if r["Type"] in KEEP}
    assert len(kept) >= 10
    for name, resource in kept.items():
        assert resource.get("DeletionPolicy") == "Retain", name
        assert resource.get("UpdateReplacePolicy") == "Retain", name


def test_container_insights_writes_to_a_declared_log_group_with_retention_and_key(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    cluster = resources["DbtCluster"]
    settings = {s["Name"]: s["Value"] for s in cluster["Properties"]["ClusterSettings"]}
    assert settings["containerInsights"] == "enabled"
    declared = resources["ContainerInsightsLogGroup"]["Properties"]
    assert declared["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert declared["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    name = resolver.resolve(declared["LogGroupName"])
    cluster_name = resolver.resolve(cluster["Properties"]["ClusterName"])
    assert name == f"/aws/ecs/containerinsights/{cluster_name}/performance"
    assert cluster["DependsOn"] == "ContainerInsightsLogGroup"


def test_the_dbt_container_has_a_read_only_root_and_a_writable_tmp(
    resources: dict[str, Any],
) -> None:
    task = resources["DbtTaskDefinition"]
    assert "checkov" not in task.get("Metadata", {})  # no suppression left (was CKV_AWS_43)
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["ReadonlyRootFilesystem"] is True
    volumes = {v["Name"] for v in task["Properties"]["Volumes"]}
    mounts = {
        (m["SourceVolume"], m["ContainerPath"], m["ReadOnly"]) for m in container["MountPoints"]
    }
    assert mounts == {("tmp", "/tmp", False)} and volumes == {"tmp"}
    dockerfile = (REPO / "dbt_task" / "Dockerfile").read_text()
    assert 'VOLUME ["/tmp"]' in dockerfile and "chmod 1777 /tmp" in dockerfile
    runner = (REPO / "dbt_task" / "runner.py").read_text()
    assert '"--target-path", str(work_dir / "target")' in runner
    assert 'tempfile.TemporaryDirectory(prefix="dumpflow-dbt-")' in runner


def _pattern(resources: dict[str, Any], resolver: Resolver) -> EventPattern:
    rule = resolver.resolve(resources["ObjectCreatedRule"]["Properties"])
    return EventPattern.load(json.dumps(rule["EventPattern"]))


def _event(bucket: str, key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": bucket}, "object": {"key": key, "etag": "e", "size": 1}},
    }


def test_the_rule_takes_only_keys_that_can_be_dumps_or_manifests(
    resources: dict[str, Any], resolver: Resolver
) -> None:
    pattern = _pattern(resources, resolver)
    bucket = resolver.physical["DumpBucket"].ref
    prefix = resolver.parameters["DumpPrefix"]
    taken = [f"{prefix}gghouse_20261124.sql", f"{prefix}gghouse_20261124.sql.gz",
             f"{MANIFEST_PREFIX}gghouse_20261124.json"]  # fmt: skip
    ignored = [f"{prefix}README.txt", f"{prefix}gghouse_20261124.sql.gz.part",
               f"{prefix}gghouse_20261124.sql.bak", f"{MANIFEST_PREFIX}notes.txt",
               f"{MANIFEST_PREFIX}gghouse_20261124.sql", "processed/gghouse_20261124.sql",
               "reports/load/2026-11-24.json", f"x{prefix}gghouse_20261124.sql"]  # fmt: skip
    for key in taken:
        assert pattern.matches_event(_event(bucket, key)), key
    for key in ignored:
        assert not pattern.matches_event(_event(bucket, key)), key
    for key in (k for k in taken if not k.startswith(MANIFEST_PREFIX)):
        assert re.match(DEFAULT_KEY_PATTERN, key)


def test_the_dump_prefix_cannot_smuggle_a_wildcard(template: dict[str, Any]) -> None:
    allowed = re.compile(template["Parameters"]["DumpPrefix"]["AllowedPattern"])
    assert allowed.fullmatch("dumps/") and allowed.fullmatch("gghouse-dumps/")
    assert not allowed.fullmatch("*/") and not allowed.fullmatch("dumps*/")


def test_database_tls_is_verified_by_default_for_the_loader_and_dbt(
    template: dict[str, Any], resources: dict[str, Any], resolver: Resolver
) -> None:
    parameter = template["Parameters"]["DatabaseTls"]
    assert parameter["Default"] == "verify-identity"
    assert set(parameter["AllowedValues"]) == {"verify-identity", "verify-ca", "preferred"}
    arguments = resolver.resolve(resources["LoadDumpJob"]["Properties"]["DefaultArguments"])
    assert arguments["--db_tls"] == "verify-identity"
    (container,) = resolver.resolve(
        resources["DbtTaskDefinition"]["Properties"]["ContainerDefinitions"]
    )
    env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert env["DBT_TLS"] == "verify-identity" and env["DBT_TARGET"] == "prod"
