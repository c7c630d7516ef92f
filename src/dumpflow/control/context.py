"""Everything the control plane's rules act on, wired once per Lambda invocation or test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from dumpflow.config import Settings
from dumpflow.control.clients import AwsClients
from dumpflow.control.dlq import FailureQueue
from dumpflow.control.ecs import DbtTask
from dumpflow.control.glue import GlueJob
from dumpflow.control.manifest import ManifestLookup
from dumpflow.control.objects import DumpObjects
from dumpflow.control.state import StateStore, utc_now
from dumpflow.control.telemetry import Telemetry


@dataclass
class ControlContext:
    settings: Settings
    store: StateStore
    glue: GlueJob
    dbt: DbtTask
    objects: DumpObjects
    manifests: ManifestLookup
    failures: FailureQueue
    telemetry: Telemetry
    clock: Callable[[], dt.datetime] = utc_now

    @classmethod
    def build(
        cls,
        settings: Settings,
        telemetry: Telemetry,
        clients: AwsClients | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> ControlContext:
        aws = clients or AwsClients()
        return cls(
            settings=settings,
            store=StateStore(settings.table, aws.dynamodb),
            glue=GlueJob(aws.glue, settings.glue_job),
            dbt=DbtTask(aws.ecs, settings),
            objects=DumpObjects(aws.s3),
            manifests=ManifestLookup(aws.s3),
            failures=FailureQueue(aws.sqs, settings.dlq_url),
            telemetry=telemetry,
            clock=clock,
        )
