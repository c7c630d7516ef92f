"""What template.yaml declares for local invocation, and what a deploy makes of it."""

from __future__ import annotations

from dumpflow.local.demo_stack import REPO_ROOT
from dumpflow.local.sam_env import ENDPOINT_VARIABLE
from dumpflow.local.samples import SAMPLE_STACK_NAME, SampleEvents
from dumpflow.local.template import Resolver, load_template


def test_the_endpoint_variable_is_declared_but_dropped_by_a_deploy() -> None:
    template = load_template(REPO_ROOT / "template.yaml")
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[ENDPOINT_VARIABLE] == {"Ref": "AWS::NoValue"}
    resolver = Resolver(template, {}, SAMPLE_STACK_NAME, "ap-northeast-1")
    assert resolver.resolve({ENDPOINT_VARIABLE: variables[ENDPOINT_VARIABLE]}) == {}


def test_the_dev_stacks_bucket_is_the_one_the_queue_sample_names() -> None:
    template = load_template(REPO_ROOT / "template.yaml")
    resolver = Resolver(template, {}, SAMPLE_STACK_NAME, "ap-northeast-1")
    name = resolver.resolve(template["Resources"]["DumpBucket"]["Properties"]["BucketName"])
    assert name == SampleEvents().dump.bucket
    assert len(name) <= 63 and name == name.lower()
