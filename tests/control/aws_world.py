"""A dumpflow deployment inside moto for the control-plane tests: bucket, FIFO queue + DLQ,
state table, Glue job, ECS cluster and Fargate task definition in a VPC.

The world drives the real control plane (intake, completions, sweeper) with a clock the
test moves, and builds Glue/ECS events from the sample files under events/.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.glue.models import glue_backends

from dumpflow import config
from dumpflow.config import Settings
from dumpflow.control.completion import Completion, Completions
from dumpflow.control.context import ControlContext
from dumpflow.control.dlq import FailureQueue
from dumpflow.control.ecs import DbtTask
from dumpflow.control.glue import GlueJob
from dumpflow.control.intake import Arrival, Intake
from dumpflow.control.manifest import ManifestLookup
from dumpflow.control.objects import DumpObjects
from dumpflow.control.state import DumpState, StateStore, table_definition
from dumpflow.control.sweeper import Sweeper, SweepReport
from dumpflow.dumps import DumpRef, dump_key_for, dump_ref, manifest_key_for, today_jst

REGION = "ap-northeast-1"
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
MIN_BYTES = 2048


def sample_event(name: str) -> dict[str, Any]:
    """One of the hand-written sample events under events/."""
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return loaded


def dump_bytes(day: dt.date, rows: int = 40) -> bytes:
    """A small dump shaped like mariadb-dump --compact output (the control plane never reads it)."""
    lines = [
        "/*M!999999\\- enable the sandbox mode */ ",
        "/*!40101 SET @saved_cs_client     = @@character_set_client */;",
        "CREATE TABLE `tenants` (",
        "  `id` int(11) NOT NULL,",
        "  `status` int(11) DEFAULT NULL,",
        "  `full_name` varchar(255) DEFAULT NULL,",
        "  `updated_at` datetime DEFAULT NULL,",
        "  PRIMARY KEY (`id`)",
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;",
    ]
    values = ",".join(
        f"({i},{4 + i % 9},'入居者 {i}','{day.isoformat()} 05:{i % 60:02d}:00')"
        for i in range(1, rows + 1)
    )
    lines.append(f"INSERT INTO `tenants` VALUES {values};")
    return ("\n".join(lines) + "\n").encode()


def fake_credentials(monkeypatch: Any) -> None:
    """Credentials and region for botocore; never a real account or endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "dumpflow")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")


@dataclass
class LambdaContext:
    """The context object the Lambda runtime passes to a handler."""

    function_name: str = "dumpflow-ingest"
    function_version: str = "$LATEST"
    invoked_function_arn: str = (
        "arn:aws:lambda:ap-northeast-1:123456789012:function:dumpflow-ingest"
    )
    memory_limit_in_mb: int = 512
    aws_request_id: str = "6f1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b"
    log_group_name: str = "/aws/lambda/dumpflow-ingest"
    log_stream_name: str = "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS FIFO batch in the shape of events/sqs_dump_object_created.json."""
    template = sample_event("sqs_dump_object_created.json")["Records"][0]
    records = []
    for n, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"0000000{n}-0a8d-4c1b-9a51-2f0d6b3c9e41"
        record["body"] = body
        record["attributes"]["SequenceNumber"] = str(18890342341561234944 + n)
        record["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()
        records.append(record)
    return {"Records": records}


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Metric values in the CloudWatch EMF lines a handler printed."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "dumpflow"
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                found[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return found


class Clock:
    """The control plane's notion of now, moved by the test (starts at the real now)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class RecordedTelemetry:
    counts: Counter[str] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=dict)

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def seconds(self, name: str, value: float) -> None:
        self.durations.setdefault(name, []).append(value)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment template.yaml gives the functions, for these settings."""
    return {
        config.ENV_TABLE: settings.table,
        config.ENV_BUCKET: settings.bucket,
        config.ENV_QUEUE_URL: settings.queue_url,
        config.ENV_DLQ_URL: settings.dlq_url,
        config.ENV_GLUE_JOB: settings.glue_job,
        config.ENV_ECS_CLUSTER: settings.ecs_cluster,
        config.ENV_TASK_DEFINITION: settings.task_definition,
        config.ENV_TASK_CONTAINER: settings.task_container,
        config.ENV_SUBNETS: ",".join(settings.subnets),
        config.ENV_SECURITY_GROUPS: ",".join(settings.security_groups),
        config.ENV_MIN_DUMP_BYTES: str(settings.min_dump_bytes),
        config.ENV_REQUIRE_MANIFEST: "1" if settings.require_manifest else "0",
        config.ENV_MANIFEST_WAIT_SECONDS: str(settings.manifest_wait_seconds),
        config.ENV_TARGET_SCHEMA: settings.target_schema,
        config.ENV_BACKFILL_SCHEMA: settings.backfill_schema,
    }


def create_deployment(bucket: str = "gghouse-dumps-test", **overrides: Any) -> Settings:
    """Create every AWS resource the control plane uses (inside an active moto mock)."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # versioned, as template.yaml makes it: events carry the version id of each upload
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    sqs = boto3.client("sqs", region_name=REGION)
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    dlq_url = sqs.create_queue(QueueName="dumpflow-dlq.fifo", Attributes=fifo)["QueueUrl"]
    queue_url = sqs.create_queue(QueueName="dumpflow-dumps.fifo", Attributes=fifo)["QueueUrl"]
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(
        Name="dumpflow-load-dump",
        Role="arn:aws:iam::123456789012:role/dumpflow-glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/glue/load_dump_job.py"},
        ExecutionProperty={"MaxConcurrentRuns": 1},
        GlueVersion="4.0",
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="dumpflow-dbt", Description="dbt", VpcId=vpc)
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="dumpflow")
    ecs.register_task_definition(
        family="dumpflow-dbt",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="4096",
        containerDefinitions=[
            {"name": "dbt", "image": "dumpflow-dbt:latest", "memory": 4096, "essential": True}
        ],
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(**table_definition("dumpflow-state"))
    values: dict[str, Any] = {
        "table": "dumpflow-state",
        "bucket": bucket,
        "queue_url": queue_url,
        "dlq_url": dlq_url,
        "subnets": (subnet,),
        "security_groups": (group["GroupId"],),
        "min_dump_bytes": MIN_BYTES,
        "manifest_wait_seconds": 3600,
        **overrides,
    }
    return Settings(**values)


class World:
    """One deployment plus the control plane acting on it."""

    def __init__(self, settings: Settings, dynamodb: Any | None = None) -> None:
        self.settings = settings
        self.clock = Clock()
        self.telemetry = RecordedTelemetry()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.glue = boto3.client("glue", region_name=REGION)
        self.ecs = boto3.client("ecs", region_name=REGION)
        self.dynamodb = dynamodb or boto3.client("dynamodb", region_name=REGION)
        self.store = StateStore(settings.table, self.dynamodb)
        self.versions: dict[tuple[str, str], str] = {}
        self.shas: dict[tuple[str, str], str] = {}
        self.ctx = ControlContext(
            settings=settings,
            store=self.store,
            glue=GlueJob(self.glue, settings.glue_job),
            dbt=DbtTask(self.ecs, settings),
            objects=DumpObjects(self.s3),
            manifests=ManifestLookup(self.s3),
            failures=FailureQueue(self.sqs, settings.dlq_url),
            telemetry=self.telemetry,
            clock=self.clock,
        )

    @property
    def today(self) -> dt.date:
        return today_jst(self.clock())

    def day(self, offset: int) -> dt.date:
        """A business date relative to today in Tokyo (negative: the past)."""
        return self.today + dt.timedelta(days=offset)

    # ----- objects --------------------------------------------------------------------------

    def put_dump(
        self, day: dt.date, *, body: bytes | None = None, manifest: bool = True, gzip: bool = False
    ) -> DumpRef:
        payload = body if body is not None else dump_bytes(day)
        key = dump_key_for(day, gzip=gzip)
        sha = hashlib.sha256(payload).hexdigest()
        put = self.s3.put_object(
            Bucket=self.settings.bucket, Key=key, Body=payload, Metadata={"sha256": sha}
        )
        ref = dump_ref(self.settings.bucket, key, put["ETag"], len(payload))
        if put.get("VersionId"):
            self.versions[(ref.key, ref.etag)] = put["VersionId"]
        self.shas[(ref.key, ref.etag)] = sha
        if manifest:
            self.put_manifest(ref, sha256=sha)
        return ref

    def put_manifest(self, ref: DumpRef, *, sha256: str | None = None, **fields: Any) -> str:
        doc: dict[str, Any] = {
            "dump_key": ref.key,
            "dump_date": f"{ref.dump_date:%Y%m%d}",
            "dump_sha256": sha256 or self.shas.get((ref.key, ref.etag), "0" * 64),
            "dump_size_bytes": ref.size,
            "valid_for_etl": True,
            "max_updated_at_by_table": {"tenants": f"{ref.dump_date.isoformat()}T05:29:00+09:00"},
        }
        doc.update(fields)
        key = manifest_key_for(ref.dump_date)
        self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=json.dumps(doc).encode())
        return key

    def body(self, ref: DumpRef, **extra: Any) -> str:
        """The queue body EventBridge's input transformer writes (size as a string, the
        upload's version id when the world made that upload)."""
        fields: dict[str, Any] = {
            "bucket": ref.bucket,
            "key": ref.key,
            "etag": ref.etag,
            "size": str(ref.size),
        }
        version = self.versions.get((ref.key, ref.etag))
        if version and "mode" not in extra:
            fields["version_id"] = version
        return json.dumps({**fields, **extra})

    # ----- the control plane ----------------------------------------------------------------

    def deliver(self, ref: DumpRef, **extra: Any) -> Arrival:
        return Intake(self.ctx).handle(self.body(ref, **extra))

    def deliver_body(self, body: str) -> Arrival:
        return Intake(self.ctx).handle(body)

    def sweep(self) -> SweepReport:
        return Sweeper(self.ctx).sweep()

    def state(self, ref: DumpRef) -> DumpState:
        found = self.store.get(ref.key)
        assert found is not None, f"no state item for {ref.key}"
        return found

    def glue_event(self, run_id: str, state: str, message: str = "") -> dict[str, Any]:
        name = "glue_job_succeeded.json" if state == "SUCCEEDED" else "glue_job_failed.json"
        event = sample_event(name)
        event["detail"].update(jobName=self.settings.glue_job, jobRunId=run_id, state=state)
        if message:
            event["detail"]["message"] = message
        return event

    def finish_load(self, ref: DumpRef, state: str = "SUCCEEDED", message: str = "") -> Completion:
        run_id = self.state(ref).glue_run_id
        assert run_id, f"{ref.key} has no Glue run"
        return Completions(self.ctx).on_glue_event(self.glue_event(run_id, state, message))

    def task_event(self, task_arn: str, exit_code: int, started_by: str) -> dict[str, Any]:
        name = "ecs_task_stopped_exit0.json" if exit_code == 0 else "ecs_task_stopped_exit1.json"
        event = copy.deepcopy(sample_event(name))
        detail = event["detail"]
        detail.update(taskArn=task_arn, startedBy=started_by)
        detail["taskDefinitionArn"] = (
            f"arn:aws:ecs:{REGION}:123456789012:task-definition/{self.settings.task_definition}:1"
        )
        for container in detail["containers"]:
            container.update(taskArn=task_arn, exitCode=exit_code)
        event["resources"] = [task_arn]
        return event

    def finish_transform(self, ref: DumpRef, exit_code: int = 0) -> Completion:
        task_arn = self.state(ref).ecs_task_arn
        assert task_arn, f"{ref.key} has no dbt task"
        return self.stop_task(task_arn, exit_code)

    def stop_task(self, task_arn: str, exit_code: int = 0) -> Completion:
        """The task ends (in moto too, so describe_tasks agrees) and its event arrives."""
        event = self.stopped(task_arn, exit_code)
        return Completions(self.ctx).on_task_event(event)

    def stopped(self, task_arn: str, exit_code: int = 0) -> dict[str, Any]:
        """Stop the task in moto (with that exit code) and return its STOPPED event."""
        [task] = self.ecs.describe_tasks(cluster=self.settings.ecs_cluster, tasks=[task_arn])[
            "tasks"
        ]
        if task.get("lastStatus") != "STOPPED":
            self.ecs.stop_task(cluster=self.settings.ecs_cluster, task=task_arn, reason="done")
        tasks = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks[self.settings.ecs_cluster]
        tasks[task_arn].containers[0].exitCode = exit_code
        return self.task_event(task_arn, exit_code, str(task.get("startedBy", "")))

    def run_through(self, ref: DumpRef) -> None:
        """Deliver a dump and complete its load and transform."""
        self.deliver(ref)
        self.finish_load(ref)
        self.finish_transform(ref)

    # ----- what a user would look at --------------------------------------------------------

    def glue_runs(self) -> list[dict[str, Any]]:
        pages = self.glue.get_paginator("get_job_runs").paginate(JobName=self.settings.glue_job)
        return [run for page in pages for run in page["JobRuns"]]

    def runs_for(self, ref: DumpRef) -> list[dict[str, Any]]:
        """The Glue runs started for this dump object (bucket and key)."""
        wanted = {"--dump_bucket": ref.bucket, "--dump_key": ref.key}
        return [
            run
            for run in self.glue_runs()
            if all(run.get("Arguments", {}).get(k) == v for k, v in wanted.items())
        ]

    def tasks(self) -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=self.settings.ecs_cluster)["taskArns"]
        if not arns:
            return []
        described: list[dict[str, Any]] = self.ecs.describe_tasks(
            cluster=self.settings.ecs_cluster, tasks=arns
        )["tasks"]
        return described

    def dlq_messages(self) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.settings.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return bodies
            for message in got:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.settings.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def archived(self, ref: DumpRef) -> bool:
        return DumpObjects(self.s3).archived(ref)


def force_glue_state(world: World, run_id: str, state: str) -> None:
    """moto never fails a run by itself: the test sets the outcome."""
    job = glue_backends[DEFAULT_ACCOUNT_ID][REGION].jobs[world.settings.glue_job]
    run = next(r for r in job.job_runs if r.job_run_id == run_id)
    run.status = state


def crash_once(client: Any, event_name: str) -> None:
    """The Lambda dies at this point of an AWS call, once (as a timeout or OOM would)."""
    fired: list[bool] = []

    def die(**_: Any) -> None:
        if not fired:
            fired.append(True)
            raise SystemExit(f"Lambda runtime died at {event_name}")

    client.meta.events.register(event_name, die)
