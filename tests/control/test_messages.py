"""Queue bodies: the transformed S3 event, replay messages, and what is rejected as bad."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from control.aws_world import sample_event
from dumpflow.control.messages import (
    BadMessage,
    KeyKind,
    classify_key,
    failure_body,
    manifest_date,
    parse_message,
)
from dumpflow.dumps import DEFAULT_KEY_PATTERN, dump_ref


def test_the_sample_queue_body_parses() -> None:
    body = sample_event("sqs_dump_object_created.json")["Records"][0]["body"]
    message = parse_message(body)
    assert message.key == "dumps/gghouse_20261124.sql.gz"
    assert message.size == 943718400
    assert message.mode == "normal" and not message.is_replay


def test_a_whole_eventbridge_object_created_event_is_understood() -> None:
    event = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": "gghouse-dumps-prod"},
            "object": {
                "key": "dumps/gghouse_20261124.sql",
                "size": 943718400,
                "etag": "9b2cf535f27731c974343645a3985328",
            },
        },
    }
    message = parse_message(json.dumps(event))
    assert (message.bucket, message.key, message.size) == (
        "gghouse-dumps-prod",
        "dumps/gghouse_20261124.sql",
        943718400,
    )


def test_replay_message_fields() -> None:
    body = json.dumps(
        {
            "bucket": "b",
            "key": "dumps/gghouse_20261124.sql",
            "etag": "e",
            "size": "20000000",
            "mode": "backfill",
            "attempt": 3,
            "force": True,
        }
    )
    message = parse_message(body)
    assert (message.mode, message.attempt, message.force) == ("backfill", 3, True)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected an object"),
        (json.dumps({"key": "dumps/gghouse_20261124.sql", "etag": "e", "size": "1"}), "bucket"),
        (json.dumps({"bucket": "b", "key": "", "etag": "e", "size": "1"}), "'key'"),
        (json.dumps({"bucket": "b", "key": "k", "etag": "e", "size": "big"}), "size"),
        (json.dumps({"bucket": "b", "key": "k", "etag": "e"}), "size"),
        (
            json.dumps({"bucket": "b", "key": "k", "etag": "e", "size": "1", "mode": "rerun"}),
            "mode",
        ),
        (
            json.dumps({"bucket": "b", "key": "k", "etag": "e", "size": "1", "mode": "replay"}),
            "attempt",
        ),
    ],
)
def test_bad_bodies_say_what_is_wrong(body: str, complaint: str) -> None:
    with pytest.raises(BadMessage, match=complaint):
        parse_message(body)


def test_key_kinds() -> None:
    assert classify_key("dumps/gghouse_20261124.sql", DEFAULT_KEY_PATTERN) is KeyKind.DUMP
    assert classify_key("dumps/gghouse_20261124.sql.gz", DEFAULT_KEY_PATTERN) is KeyKind.DUMP
    assert classify_key("dumps-manifest/gghouse_20261124.json", DEFAULT_KEY_PATTERN) is (
        KeyKind.MANIFEST
    )
    for other in (
        "dumps/readme.txt",
        "dumps/gghouse_2026112.sql",
        "processed/gghouse_20261124.sql",
    ):
        assert classify_key(other, DEFAULT_KEY_PATTERN) is KeyKind.OTHER
    assert manifest_date("dumps-manifest/gghouse_20261124.json") == dt.date(2026, 11, 24)


def test_failure_body_is_the_dump_message_plus_failure() -> None:
    ref = dump_ref("b", "dumps/gghouse_20261124.sql", '"abc"', 123)
    at = dt.datetime(2026, 11, 24, 21, 0, tzinfo=dt.UTC)
    body = json.loads(
        failure_body(ref, stage="load", status="FAILED", message="boom", at=at, glue_run_id="jr_1")
    )
    assert body == {
        "bucket": "b",
        "key": "dumps/gghouse_20261124.sql",
        "etag": "abc",
        "size": "123",
        "failure": {
            "stage": "load",
            "status": "FAILED",
            "message": "boom",
            "glue_run_id": "jr_1",
            "at": "2026-11-24T21:00:00+00:00",
        },
    }


def test_a_backfill_message_names_the_archived_copy_to_read() -> None:
    body = json.dumps(
        {
            "bucket": "b",
            "key": "dumps/gghouse_20261124.sql",
            "etag": "e",
            "size": "20000000",
            "mode": "backfill",
            "attempt": 2,
            "force": False,
            "source_key": "processed/gghouse_20261124.sql",
        }
    )
    message = parse_message(body)
    assert (message.key, message.source_key) == (
        "dumps/gghouse_20261124.sql",
        "processed/gghouse_20261124.sql",
    )


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"source_key": "processed/gghouse_20261124.sql"}, "only allowed in a replay or backfill"),
        (
            {"mode": "backfill", "attempt": 1, "source_key": "elsewhere/gghouse_20261124.sql"},
            "expected a processed/ key",
        ),
        ({"mode": "backfill", "attempt": 1, "source_key": ""}, "'source_key'"),
    ],
)
def test_a_source_key_outside_a_backfill_or_processed_is_refused(
    extra: dict[str, object], complaint: str
) -> None:
    body = {"bucket": "b", "key": "dumps/gghouse_20261124.sql", "etag": "e", "size": "1", **extra}
    with pytest.raises(BadMessage, match=complaint):
        parse_message(json.dumps(body))
