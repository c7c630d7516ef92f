"""Local EventBridge delivery: the template's input transformer and moto's S3 event quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dumpflow.local.event_bus import TransformError, apply_input_transformer, normalise_s3_event
from dumpflow.local.template import load_template

REPO = Path(__file__).resolve().parents[2]

# The "Object Created" event as documented in the Amazon S3 user guide (EventBridge section).
S3_OBJECT_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": "2026-11-25T18:43:48Z",
    "region": "ap-northeast-1",
    "resources": ["arn:aws:s3:::dumpflow-dumps"],
    "detail": {
        "version": "0",
        "bucket": {"name": "dumpflow-dumps"},
        "object": {
            "key": "dumps/gghouse_20261125.sql.gz",
            "size": 943718400,
            "etag": "b1946ac92492d2347c6235b4d2611184-113",
            "sequencer": "00617F08299329D189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}


def _template_transformer() -> dict:
    template = load_template(REPO / "template.yaml")
    rule = template["Resources"]["ObjectCreatedRule"]["Properties"]
    (target,) = rule["Targets"]
    return target["InputTransformer"]


def test_template_transformer_reduces_the_event_to_the_dump_identity() -> None:
    body = apply_input_transformer(_template_transformer(), S3_OBJECT_CREATED)
    assert json.loads(body) == {
        "bucket": "dumpflow-dumps",
        "key": "dumps/gghouse_20261125.sql.gz",
        "etag": "b1946ac92492d2347c6235b4d2611184-113",
        "size": "943718400",
        "version_id": "",  # this sample names no version: the ingest reads "" as none
    }


def test_two_deliveries_of_one_object_give_identical_bodies() -> None:
    again = json.loads(json.dumps(S3_OBJECT_CREATED))
    again["id"], again["time"], again["detail"]["request-id"] = "other", "2026-11-25T18:44Z", "R2"
    transformer = _template_transformer()
    first = apply_input_transformer(transformer, S3_OBJECT_CREATED)
    assert apply_input_transformer(transformer, again) == first


def test_quoted_placeholders_escape_and_unquoted_ones_keep_json() -> None:
    transformer = {
        "InputPathsMap": {"key": "$.detail.object.key", "size": "$.detail.object.size"},
        "InputTemplate": '{"key": "<key>", "size": <size>, "missing": "<nope>"}',
    }
    event = json.loads(json.dumps(S3_OBJECT_CREATED))
    event["detail"]["object"]["key"] = 'dumps/we"ird\\name.sql'
    rendered = json.loads(apply_input_transformer(transformer, event))
    assert rendered == {"key": 'dumps/we"ird\\name.sql', "size": 943718400, "missing": "<nope>"}


def test_input_paths_must_be_json_paths() -> None:
    with pytest.raises(TransformError, match="must start with"):
        apply_input_transformer(
            {"InputPathsMap": {"k": "detail.object.key"}, "InputTemplate": "<k>"},
            S3_OBJECT_CREATED,
        )


def test_moto_s3_event_is_normalised_to_the_documented_shape() -> None:
    moto_event = json.loads(json.dumps(S3_OBJECT_CREATED))
    moto_event["time"] = 1795627508.45
    obj = moto_event["detail"]["object"]
    obj["eTag"] = obj.pop("etag")
    obj["version-id"] = None
    event = normalise_s3_event(moto_event)
    assert event["detail"]["object"]["etag"] == "b1946ac92492d2347c6235b4d2611184-113"
    assert "eTag" not in event["detail"]["object"]
    assert "version-id" not in event["detail"]["object"]
    assert event["time"] == "2026-11-25T17:25:08Z"
    assert event["id"] != S3_OBJECT_CREATED["id"]
