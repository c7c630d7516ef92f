"""A dumpflow deployment inside moto: bucket, FIFO queue + DLQ, state table, real state store.

Shared by the ops and CLI tests. States are written through the real ``StateStore`` (create,
then the same transitions the control plane makes), DLQ messages in the documented shapes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dumpflow import config
from dumpflow.config import Settings
from dumpflow.control.dlq import FailureQueue
from dumpflow.control.state import DumpState, DumpStatus, StateStore, iso, table_definition
from dumpflow.dumps import DumpRef, dump_key_for, dump_ref

REGION = "ap-northeast-1"
NOW = dt.datetime(2026, 11, 25, 21, 0, tzinfo=dt.UTC)


@dataclass
class World:
    settings: Settings
    s3: Any
    sqs: Any
    dynamodb: Any
    store: StateStore

    def put_dump(
        self, day: dt.date, *, gzip: bool = False, archived: bool = False, body: bytes = b""
    ) -> DumpRef:
        """Upload a dump object (under dumps/ or processed/) and return its identity."""
        key = dump_key_for(day, gzip=gzip)
        if archived:
            key = "processed/" + key.rsplit("/", 1)[-1]
        payload = body or f"-- dump of {day.isoformat()}\n".encode()
        put = self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=payload)
        return dump_ref(
            self.settings.bucket, dump_key_for(day, gzip=gzip), put["ETag"], len(payload)
        )

    def record(
        self, ref: DumpRef, status: DumpStatus, *, error: str = "load failed: table missing"
    ) -> DumpState:
        """Walk a dump's state item to ``status`` the way the control plane does."""
        received = DumpState(
            key=ref.key,
            bucket=ref.bucket,
            etag=ref.etag,
            size=ref.size,
            dump_date=ref.dump_date,
            status=DumpStatus.RECEIVED,
            attempts=1,
            timestamps={"received_at": iso(NOW)},
        )
        assert self.store.create(received)
        path = {
            DumpStatus.RECEIVED: [],
            DumpStatus.LOADING: [DumpStatus.LOADING],
            DumpStatus.TRANSFORMING: [DumpStatus.LOADING, DumpStatus.TRANSFORMING],
            DumpStatus.SUCCEEDED: [
                DumpStatus.LOADING,
                DumpStatus.TRANSFORMING,
                DumpStatus.SUCCEEDED,
            ],
            DumpStatus.FAILED: [DumpStatus.LOADING, DumpStatus.FAILED],
            DumpStatus.REJECTED: [DumpStatus.REJECTED],
        }[status]
        current = DumpStatus.RECEIVED
        for step, to in enumerate(path, start=1):
            changes: dict[str, Any] = {}
            if to is DumpStatus.LOADING:
                changes["glue_run_id"] = f"jr_{ref.dump_date:%Y%m%d}"
            if to is DumpStatus.FAILED:
                changes["stage"] = "load"
                changes["last_error"] = {"stage": "load", "message": error, "at": iso(NOW)}
            if to is DumpStatus.REJECTED:
                changes["reason"] = error
            moved = self.store.transition(
                ref.key, {current}, to, now=NOW + dt.timedelta(minutes=step), **changes
            )
            assert moved is not None
            current = to
        state = self.store.get(ref.key)
        assert state is not None
        return state

    def dead_letter(self, ref: DumpRef, *, message: str = "load failed: table missing") -> None:
        """The control plane's failure message for the dump's recorded state, sent its way."""
        state = self.store.get(ref.key)
        assert state is not None, "record the dump's state before its failure"
        FailureQueue(self.sqs, self.settings.dlq_url).send(
            state, stage="load", status="FAILED", message=message, at=NOW
        )

    def send_dlq(self, body: str, dedup: str) -> str:
        sent = self.sqs.send_message(
            QueueUrl=self.settings.dlq_url,
            MessageBody=body,
            MessageGroupId="dumps",
            MessageDeduplicationId=dedup,
        )
        return str(sent["MessageId"])

    def drain(self, url: str) -> list[dict[str, Any]]:
        """Every message on a queue (deleted as read): body plus its deduplication id."""
        out: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(
                    {**json.loads(m["Body"]), "_dedup": m["Attributes"]["MessageDeduplicationId"]}
                )
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def depth(self, url: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )


def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "DUMPFLOW_STACK_NAME"):
        monkeypatch.delenv(name, raising=False)


def provision(monkeypatch: pytest.MonkeyPatch, endpoint_url: str | None = None) -> World:
    """Create the deployment's resources (in moto, or a moto server at ``endpoint_url``) and
    export their names the way the template does for the functions."""

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint_url)

    s3, sqs, dynamodb = client("s3"), client("sqs"), client("dynamodb")
    bucket = "gghouse-dumps"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq_url = sqs.create_queue(QueueName="dumpflow-dlq.fifo", Attributes=fifo)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    queue_url = sqs.create_queue(
        QueueName="dumpflow-dumps.fifo", Attributes={**fifo, "RedrivePolicy": redrive}
    )["QueueUrl"]
    dynamodb.create_table(**table_definition("dumpflow-state"))
    client("glue").create_job(
        Name=Settings().glue_job,
        Role="arn:aws:iam::123456789012:role/dumpflow-glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/glue/load_dump_job.py"},
        GlueVersion="4.0",
    )
    env = {
        config.ENV_BUCKET: bucket,
        config.ENV_QUEUE_URL: queue_url,
        config.ENV_DLQ_URL: dlq_url,
        config.ENV_TABLE: "dumpflow-state",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(env)
    return World(settings, s3, sqs, dynamodb, StateStore(settings.table, client=dynamodb))


def build_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A deployment inside ``mock_aws`` for one test."""
    aws_env(monkeypatch)
    with mock_aws():
        yield provision(monkeypatch)
