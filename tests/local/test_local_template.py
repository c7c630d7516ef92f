"""Reading template.yaml: short-form tags, parameters, conditions and intrinsic functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dumpflow.local.template import (
    Physical,
    Resolver,
    TemplateError,
    load_template,
    parameter_defaults,
    references,
)

TEMPLATE = """
Parameters:
  SubnetIds: {Type: "List<AWS::EC2::Subnet::Id>"}
  RequiredTables: {Type: CommaDelimitedList, Default: "a, b,c"}
  MinDumpBytes: {Type: Number, Default: 10485760}
  Bucket: {Type: String, Default: ""}
Conditions:
  CreateBucket: !Equals [!Ref Bucket, ""]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-dumps.fifo"
      Arn: !GetAtt Dlq.Arn
      Tables: !Join [",", !Ref RequiredTables]
      Name: !If [CreateBucket, !Ref DumpBucket, !Ref Bucket]
      Gone: !If [CreateBucket, !Ref AWS::NoValue, x]
      Url: !Sub "https://${Dlq.QueueName}/${!Literal}"
"""


def _resolver(tmp_path: Path, **parameters: object) -> tuple[dict, Resolver]:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    template = load_template(path)
    resolver = Resolver(
        template=template,
        parameters={**parameter_defaults(template), **parameters},
        stack_name="demo",
        region="ap-northeast-1",
    )
    resolver.physical["Dlq"] = Physical(
        "https://q/dlq", {"Arn": "arn:aws:sqs:ap-northeast-1:123456789012:dlq", "QueueName": "dlq"}
    )
    resolver.physical["DumpBucket"] = Physical("demo-bucket")
    return template, resolver


def test_short_forms_become_long_forms(tmp_path: Path) -> None:
    template, _ = _resolver(tmp_path)
    properties = template["Resources"]["Queue"]["Properties"]
    assert properties["Arn"] == {"Fn::GetAtt": ["Dlq", "Arn"]}
    assert properties["QueueName"] == {"Fn::Sub": "${AWS::StackName}-dumps.fifo"}
    assert properties["Tables"] == {"Fn::Join": [",", {"Ref": "RequiredTables"}]}


def test_properties_resolve_against_parameters_conditions_and_created_resources(
    tmp_path: Path,
) -> None:
    template, resolver = _resolver(tmp_path)
    resolved = resolver.resolve(template["Resources"]["Queue"]["Properties"])
    assert resolved == {
        "QueueName": "demo-dumps.fifo",
        "Arn": "arn:aws:sqs:ap-northeast-1:123456789012:dlq",
        "Tables": "a,b,c",
        "Name": "demo-bucket",
        "Url": "https://dlq/${Literal}",
    }


def test_condition_false_picks_the_other_branch(tmp_path: Path) -> None:
    template, resolver = _resolver(tmp_path, Bucket="their-bucket")
    resolved = resolver.resolve(template["Resources"]["Queue"]["Properties"])
    assert resolved["Name"] == "their-bucket"
    assert resolved["Gone"] == "x"


def test_unknown_reference_names_it(tmp_path: Path) -> None:
    _, resolver = _resolver(tmp_path)
    with pytest.raises(TemplateError, match="Ref to 'Nowhere'"):
        resolver.resolve({"Ref": "Nowhere"})
    with pytest.raises(TemplateError, match=r"Dlq.StreamArn: the local stack knows only"):
        resolver.resolve({"Fn::GetAtt": ["Dlq", "StreamArn"]})
    with pytest.raises(TemplateError, match="ImportValue"):
        resolver.resolve({"Fn::ImportValue": "shared-vpc"})


def test_parameter_defaults_are_typed_like_ref_returns_them(tmp_path: Path) -> None:
    template, _ = _resolver(tmp_path)
    assert parameter_defaults(template) == {
        "RequiredTables": ["a", "b", "c"],
        "MinDumpBytes": "10485760",
        "Bucket": "",
    }


def test_references_follow_ref_getatt_and_sub(tmp_path: Path) -> None:
    template, _ = _resolver(tmp_path)
    found = references(template["Resources"]["Queue"]["Properties"])
    assert {"Dlq", "RequiredTables", "DumpBucket", "Bucket", "AWS::StackName"} <= found


def test_a_file_that_is_not_a_template_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("just: data\n")
    with pytest.raises(TemplateError, match="not a CloudFormation template"):
        load_template(path)
