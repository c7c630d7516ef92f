"""What the local stack must hold for the sample events to apply unmodified.

The samples describe one dump (``dumps/gghouse_20261124.sql.gz``) of the dev stack: its queue
message, the end of its Glue run, the stop of its dbt task. In AWS, Glue and ECS choose the
ids of the run and the task the handlers start, and the completion events then name those ids;
the samples name fixed ids, so here the local services choose them: while
``assigning_sample_ids`` is active, the next job run of the stack's Glue job and the next task
in its cluster get the ids the Glue and ECS samples carry. Everything else (the dump's state,
the lease, the run's arguments, the task's ``startedBy`` and overrides) is what the handlers
record and send themselves. This module is the one place that knows how the samples' ids meet
the local stack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from moto.ecs.models import ecs_backends
from moto.glue.models import glue_backends

from dumpflow.control.state import DumpState, DumpStatus, StateStore
from dumpflow.dumps import DumpRef, dump_key_for, manifest_key_for
from dumpflow.local.demo_stack import DemoRuntime
from dumpflow.local.samples import (
    GLUE_JOB_SUCCEEDED,
    SAMPLE_STACK_NAME,
    SQS_DUMP_OBJECT_CREATED,
    SampleEvents,
    SampleMismatch,
)
from dumpflow.local.template import ACCOUNT_ID

log = logging.getLogger(__name__)

Invoke = Callable[[str, str], Any]
"""Runs one function of the template (logical id) with one sample file (name): in this
process, or in a container by ``sam local invoke``."""


def stand_in_dump(key: str) -> bytes:
    """The bytes uploaded for a dump no Glue job will read here (the control plane reads only
    its size, ETag and manifest): SQL comments, over 2 KiB even gzip-compressed for ``.gz``."""
    lines = [f"-- stand-in for {key}: no Glue job loads it locally"]
    lines += [f"-- {hashlib.sha256(f'{key}:{n}'.encode()).hexdigest()}" for n in range(64)]
    text = ("\n".join(lines) + "\n").encode()
    return gzip.compress(text, mtime=0) if key.endswith(".gz") else text


class SampleWorld:
    """The demo's local stack under the dev stack's name, as the samples expect to find it."""

    def __init__(self, runtime: DemoRuntime, samples: SampleEvents | None = None) -> None:
        self.runtime = runtime
        self.samples = samples or SampleEvents()
        self.settings = runtime.settings
        self.s3 = runtime.stack.client("s3")
        self.sqs = runtime.stack.client("sqs")
        self.glue = runtime.stack.client("glue")
        self.ecs = runtime.stack.client("ecs")
        self.store = StateStore(self.settings.table, client=runtime.stack.client("dynamodb"))
        self.dump = self.samples.dump
        self._check_names()

    def _check_names(self) -> None:
        """The samples are only meaningful against the stack they name."""
        expected = {
            "stack": (self.runtime.layout.stack_name, SAMPLE_STACK_NAME),
            "bucket": (self.settings.bucket, self.dump.bucket),
            "Glue job": (self.settings.glue_job, self.samples.glue_job),
            "task definition": (self.settings.task_definition, self.samples.task_definition_arn),
        }
        cluster = self.samples.cluster_arn.rsplit("/", 1)[-1]
        expected["cluster"] = (self.settings.ecs_cluster, cluster)
        wrong = {k: v for k, v in expected.items() if v[0] != v[1]}
        if wrong:
            details = "; ".join(f"{k}: stack {a!r}, samples {b!r}" for k, (a, b) in wrong.items())
            raise SampleMismatch(f"the samples do not name this local stack ({details})")

    # ----- the world the samples describe --------------------------------------------------

    def upload_dump(self) -> DumpRef:
        """Put the object and manifest the SQS sample announces into the stack's bucket.

        The S3 notifications of these uploads are discarded: the SQS sample is the message
        EventBridge would have queued for them, and it is delivered by whoever invokes it.
        """
        ref = self.dump
        body = stand_in_dump(ref.key)
        self.s3.put_object(Bucket=ref.bucket, Key=ref.key, Body=body)
        self._put_manifest(ref, hashlib.sha256(body).hexdigest(), ref.size)
        self.sqs.purge_queue(QueueUrl=self.runtime.stack.tap_queue_url)
        return ref

    def queue_next_day(self) -> DumpRef:
        """Upload the next day's dump and manifest and let the local flow deliver them (S3 ->
        rule -> FIFO queue -> the ingest function, in this process): it waits behind the lease."""
        day = self.dump.dump_date + dt.timedelta(days=1)
        key = dump_key_for(day, gzip=True)
        body = stand_in_dump(key)
        put = self.s3.put_object(Bucket=self.dump.bucket, Key=key, Body=body)
        ref = DumpRef(self.dump.bucket, key, put["ETag"].strip('"'), len(body), day)
        self._put_manifest(ref, hashlib.sha256(body).hexdigest(), len(body))
        flow = self.runtime.flow
        flow.bus.drain_s3_events()
        for poller in flow.pollers:
            while poller.poll_once().received:
                pass
        return ref

    def _put_manifest(self, ref: DumpRef, sha256: str, size: int) -> None:
        manifest = {
            "dump_key": ref.key,
            "dump_date": f"{ref.dump_date:%Y%m%d}",
            "dump_sha256": sha256,
            "dump_size_bytes": size,
            "valid_for_etl": True,
            "max_updated_at_by_table": {"tenants": f"{ref.dump_date.isoformat()}T05:29:41+09:00"},
        }
        self.s3.put_object(
            Bucket=ref.bucket,
            Key=manifest_key_for(ref.dump_date),
            Body=json.dumps(manifest).encode(),
        )

    @contextlib.contextmanager
    def assigning_sample_ids(self) -> Iterator[None]:
        """Glue and ECS give the next run and task they start the samples' ids."""
        job = glue_backends[ACCOUNT_ID][self.runtime.endpoint.region].jobs[self.settings.glue_job]
        backend = ecs_backends[ACCOUNT_ID][self.runtime.endpoint.region]
        run_id, task_id, task_arn = (
            self.samples.glue_run_id,
            self.samples.task_id,
            self.samples.task_arn,
        )
        glue_pending, ecs_pending = [run_id], [task_id]
        start_job_run, run_task = job.start_job_run, backend.run_task

        def started_run(**kwargs: Any) -> str:
            produced = start_job_run(**kwargs)
            if not glue_pending:
                return str(produced)
            run = next(r for r in job.job_runs if r.job_run_id == produced)
            run.job_run_id = glue_pending.pop()
            log.info("Glue gave the run %s the sample's id %s", produced, run.job_run_id)
            return str(run.job_run_id)

        def started_tasks(*args: Any, **kwargs: Any) -> Any:
            tasks = run_task(*args, **kwargs)
            if not ecs_pending or not tasks:
                return tasks
            task = tasks[0]
            cluster_tasks = backend.tasks[task.cluster_name]
            cluster_tasks.pop(task.task_arn)
            task.id = ecs_pending.pop()
            if task.task_arn != task_arn:
                raise SampleMismatch(f"ECS names the task {task.task_arn}, the samples {task_arn}")
            cluster_tasks[task.task_arn] = task
            log.info("ECS gave the dbt task the sample's ARN %s", task.task_arn)
            return tasks

        # Instance attributes shadow the methods of these two objects only, for the block.
        vars(job)["start_job_run"] = started_run
        vars(backend)["run_task"] = started_tasks
        try:
            yield
        finally:
            del vars(job)["start_job_run"]
            del vars(backend)["run_task"]

    def end_glue_run(self, run_state: str) -> None:
        """Glue finishes the sample's run (before it announces that, as the samples do)."""
        job = glue_backends[ACCOUNT_ID][self.runtime.endpoint.region].jobs[self.settings.glue_job]
        run = next((r for r in job.job_runs if r.job_run_id == self.samples.glue_run_id), None)
        if run is None:
            raise SampleMismatch(f"Glue has no run {self.samples.glue_run_id} to end")
        run.status = run_state

    def stop_task(self, exit_code: int, reason: str) -> None:
        """ECS stops the sample's dbt task with this exit code of its container."""
        self.ecs.stop_task(cluster=self.settings.ecs_cluster, task=self.samples.task_arn,
                           reason=reason)  # fmt: skip
        tasks = ecs_backends[ACCOUNT_ID][self.runtime.endpoint.region].tasks
        task = tasks[self.settings.ecs_cluster][self.samples.task_arn]
        for container in task.containers:
            container.exitCode = exit_code

    # ----- states reached through the project's own functions, in this process -------------

    def invoke_here(self, logical_id: str, sample: str) -> Any:
        """Run one function of the stack in this process with a sample file."""
        event = self.samples.load(sample)
        return self.runtime.stack.functions[logical_id].invoke(event)

    def seed_loading(self) -> DumpState:
        """The sample dump LOADING under the Glue samples' run: the SQS sample was ingested."""
        self.upload_dump()
        with self.assigning_sample_ids():
            self.invoke_here("IngestFunction", SQS_DUMP_OBJECT_CREATED)
        return self._expect(DumpStatus.LOADING)

    def seed_transforming(self) -> DumpState:
        """The sample dump TRANSFORMING in the ECS samples' task: its load succeeded."""
        self.upload_dump()
        with self.assigning_sample_ids():
            self.invoke_here("IngestFunction", SQS_DUMP_OBJECT_CREATED)
            self.end_glue_run("SUCCEEDED")
            self.invoke_here("GlueStateFunction", GLUE_JOB_SUCCEEDED)
        return self._expect(DumpStatus.TRANSFORMING)

    def _expect(self, status: DumpStatus) -> DumpState:
        state = self.state()
        if state is None or state.status is not status:
            found = state.status if state else "no state item"
            raise SampleMismatch(f"seeding {self.dump.key}: expected {status}, found {found}")
        return state

    # ----- what an operator would look at ---------------------------------------------------

    def state(self, key: str | None = None) -> DumpState | None:
        """The state item of ``key`` (default: the samples' dump)."""
        return self.store.get(key or self.dump.key)

    def glue_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.glue.get_job_runs(JobName=self.settings.glue_job)[
            "JobRuns"
        ]
        return runs

    def task(self) -> dict[str, Any] | None:
        described = self.ecs.describe_tasks(
            cluster=self.settings.ecs_cluster, tasks=[self.samples.task_arn]
        )
        tasks: list[dict[str, Any]] = described.get("tasks", [])
        return tasks[0] if tasks else None

    def dead_letters(self) -> list[dict[str, Any]]:
        """The DLQ's messages (bodies), left on the queue."""
        messages = self.sqs.receive_message(
            QueueUrl=self.settings.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def archived(self) -> bool:
        try:
            self.s3.head_object(Bucket=self.dump.bucket, Key=self.dump.processed_key)
        except self.s3.exceptions.ClientError:
            return False
        return True
