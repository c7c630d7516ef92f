"""The dbt report carries the quality gate's verdict on the load it transformed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

DAY = dt.date(2026, 11, 25)
BUCKET = "gghouse-dumps"


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        yield client


def put_load_report(s3: Any, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"reports/load/{DAY.isoformat()}.json", Body=body)


def test_the_gate_verdict_and_its_failed_rows_are_copied(runner: ModuleType, s3: Any) -> None:
    checks = [
        {"check": "row_count", "table": "tenants", "value": 180, "limit": 288,
         "verdict": "fail", "message": "rows shrank: ..."},
        {"check": "freshness", "table": "rooms", "value": "x", "limit": "y", "verdict": "pass"},
    ]  # fmt: skip
    quality = {"verdict": "fail", "summary": "rows shrank (tenants)", "accepted_by": "tanaka",
               "checks": checks}  # fmt: skip
    put_load_report(s3, json.dumps({"status": "SUCCEEDED", "quality": quality}).encode())
    got = runner.load_quality(s3, BUCKET, DAY)
    assert got["verdict"] == "fail" and got["accepted_by"] == "tanaka"
    assert got["summary"] == "rows shrank (tenants)"
    assert got["checks"] == [
        {"check": "row_count", "table": "tenants", "value": 180, "limit": 288, "verdict": "fail"}
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "NoSuchKey"),
        (b"{half", "JSONDecodeError"),
        (b'{"status": "SUCCEEDED"}', "no quality section"),
        (b"[1, 2]", "no quality section"),
    ],
)
def test_a_missing_or_odd_load_report_never_fails_the_run(
    runner: ModuleType, s3: Any, body: bytes | None, expected: str
) -> None:
    if body is not None:
        put_load_report(s3, body)
    got = runner.load_quality(s3, BUCKET, DAY)
    assert expected in json.dumps(got)
    assert got["report"] == f"reports/load/{DAY.isoformat()}.json"
