"""Alarms, logs and the per-environment settings an on-call engineer relies on."""

from __future__ import annotations

import tomllib
from typing import Any

from template.stack import ROOT

FUNCTIONS = ("IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction")
# Control-plane metrics the alarms read (Powertools: namespace dumpflow, dimension service).
# The sweeper publishes WaitingAgeSeconds, the age of the oldest WAITING dump.
CONTROL_PLANE_METRICS = {
    "DumpsFailed",
    "RejectedDumps",
    "DumpsSucceeded",
    "WaitingAgeSeconds",
    "SweepErrors",
    "BadMessages",
    "DaysMissing",
}
# Supplied by make deploy for the artifacts it has just published, not by samconfig.
PUBLISHED_BY_DEPLOY = {"ArtifactBucketName", "LoaderPackageKey", "DbtImageUri"}


def alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_every_alarm_notifies_the_topic_and_the_topic_mails_on_call(
    resources: dict[str, Any],
) -> None:
    for name, alarm in alarms(resources).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    (subscription,) = resources["AlarmTopic"]["Properties"]["Subscription"]
    assert subscription == {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}


def test_dlqs_with_messages_alarm(resources: dict[str, Any]) -> None:
    watched = {
        dimensions(a)["QueueName"]["Fn::GetAtt"][0]
        for a in alarms(resources).values()
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["ComparisonOperator"] == "GreaterThanThreshold"
        and a["Threshold"] == 0
    }
    assert watched == {"DumpDLQ", "EventDLQ"}


def test_failed_rejected_freshness_and_waiting_alarms_read_the_control_plane_metrics(
    template: dict[str, Any],
) -> None:
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    ours = {
        a["MetricName"]: a
        for a in alarms(template["Resources"]).values()
        if a["Namespace"] == "dumpflow"
    }
    assert set(ours) == CONTROL_PLANE_METRICS
    for metric, alarm in ours.items():
        assert dimensions(alarm) == {"service": service}, metric
    for metric in ("DumpsFailed", "RejectedDumps", "BadMessages", "DaysMissing"):
        assert (ours[metric]["Statistic"], ours[metric]["Threshold"]) == ("Sum", 0)
        assert ours[metric]["ComparisonOperator"] == "GreaterThanThreshold"
    fresh = ours["DumpsSucceeded"]
    assert fresh["Period"] * fresh["EvaluationPeriods"] == 26 * 3600
    assert fresh["DatapointsToAlarm"] == fresh["EvaluationPeriods"]
    assert (fresh["ComparisonOperator"], fresh["Threshold"]) == ("LessThanThreshold", 1)
    assert fresh["TreatMissingData"] == "breaching"
    waiting = ours["WaitingAgeSeconds"]
    assert waiting["Threshold"] == {"Ref": "WaitingAlarmSeconds"}
    assert waiting["Statistic"] == "Maximum"


def test_every_function_has_error_and_throttle_alarms(resources: dict[str, Any]) -> None:
    covered = {
        (a["MetricName"], dimensions(a)["FunctionName"]["Ref"])
        for a in alarms(resources).values()
        if a["Namespace"] == "AWS/Lambda"
    }
    assert covered == {(m, f) for m in ("Errors", "Throttles") for f in FUNCTIONS}


def test_every_log_group_has_retention_and_every_writer_has_its_group(
    resources: dict[str, Any],
) -> None:
    groups = {
        n: r["Properties"] for n, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"
    }
    for name, group in groups.items():
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    names = {group["LogGroupName"]["Fn::Sub"] for group in groups.values()}
    for function in FUNCTIONS:
        props = resources[function]["Properties"]
        group_ref = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert (
            groups[group_ref]["LogGroupName"]["Fn::Sub"]
            == f"/aws/lambda/{props['FunctionName']['Fn::Sub']}"
        )
    prefix = resources["LoadDumpJob"]["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"]
    assert {f"{prefix['Fn::Sub']}/output", f"{prefix['Fn::Sub']}/error"} <= names
    (container,) = resources["DbtTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == {"Ref": "DbtLogGroup"}


def test_functions_are_traced(template: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Tracing"] == "Active"


def test_samconfig_deploys_dev_and_prod_with_every_required_parameter(
    template: dict[str, Any],
) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    required = {n for n, spec in template["Parameters"].items() if "Default" not in spec}
    stacks = set()
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        stacks.add(deploy["stack_name"])
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
        assert set(overrides) <= set(template["Parameters"]), env
        assert required - set(overrides) == PUBLISHED_BY_DEPLOY, env
        assert overrides["ArtifactPrefix"] == deploy["s3_prefix"], env
        for name, value in overrides.items():
            if template["Parameters"][name]["Type"].startswith("AWS::SSM::Parameter::Value"):
                assert value.startswith(f"/dumpflow/{env}/"), (env, name)
    assert len(stacks) == 2


def test_failed_rejected_and_freshness_alarms_read_names_the_control_plane_emits(
    resources: dict[str, Any],
) -> None:
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for package in ("control", "handlers")
        for path in (ROOT / "src" / "dumpflow" / package).glob("*.py")
    )
    for metric in ("DumpsFailed", "RejectedDumps", "DumpsSucceeded"):
        assert f'"{metric}"' in code, f"no alarm would ever see {metric}"
