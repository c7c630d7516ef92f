"""The scheduled sweep: reclaim a slot whose run went silent, end overdue manifest waits.

A lease past its expiry means no completion event arrived within the Glue timeout plus
the dbt limit. The sweeper asks Glue or ECS what really happened and applies that ending;
a run that is somehow still going keeps the slot for another period.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from dumpflow.control.context import ControlContext
from dumpflow.control.glue import FINAL_RUN_STATES
from dumpflow.control.pipeline import MANIFEST_REASON, Pipeline, dump_fields
from dumpflow.control.state import TERMINAL_STATUSES, DumpStatus, Lease

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    manifest_timeouts: list[str] = field(default_factory=list)
    reclaimed: str | None = None
    extended: str | None = None
    oldest_waiting_seconds: float = 0.0


class Sweeper:
    def __init__(self, ctx: ControlContext, pipeline: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pipeline = pipeline or Pipeline(ctx)

    def sweep(self) -> SweepReport:
        report = SweepReport()
        now = self.ctx.clock()
        self._expire_manifest_waits(now, report)
        lease = self.store.lease()
        if lease is not None and lease.expired(now):
            self._reclaim(lease, now, report)
        self.pipeline.pump()
        report.oldest_waiting_seconds = self._oldest_wait(self.ctx.clock())
        self.ctx.telemetry.seconds("WaitingAgeSeconds", report.oldest_waiting_seconds)
        return report

    def _oldest_wait(self, now: dt.datetime) -> float:
        """Age of the longest-waiting dump (0 when none waits): the alarm's gauge."""
        since = [s.at("waiting_at") for s in self.store.waiting()]
        ages = [(now - moment).total_seconds() for moment in since if moment is not None]
        return max(ages, default=0.0)

    def _expire_manifest_waits(self, now: dt.datetime, report: SweepReport) -> None:
        bound = dt.timedelta(seconds=self.ctx.settings.manifest_wait_seconds)
        for state in self.store.waiting():
            since = state.at("waiting_at")
            if state.reason != MANIFEST_REASON or since is None or now - since < bound:
                continue
            closed = self.pipeline.close(
                state,
                {DumpStatus.WAITING},
                DumpStatus.REJECTED,
                reason=f"{state.ref.manifest_key} did not arrive within "
                f"{self.ctx.settings.manifest_wait_seconds} s of {state.key}",
                metric="RejectedDumps",
            )
            if closed is not None:
                report.manifest_timeouts.append(state.key)

    def _reclaim(self, lease: Lease, now: dt.datetime, report: SweepReport) -> None:
        holder = self.store.get(lease.holder_key)
        if holder is None or holder.status in TERMINAL_STATUSES:
            self.store.release_lease(lease.run_id)
            report.reclaimed = lease.holder_key
            return
        if holder.status is DumpStatus.LOADING and holder.glue_run_id:
            run = self.ctx.glue.run(holder.glue_run_id)
            if run is None or run.state in FINAL_RUN_STATES:
                log.warning(
                    "reclaiming the slot of %s: Glue says %s",
                    holder.key,
                    run.state if run else "no such run",
                    extra=dump_fields(holder),
                )
                report.reclaimed = holder.key
                self.ctx.telemetry.count("LeasesReclaimed")
                self.pipeline.load_finished(
                    holder,
                    holder.glue_run_id,
                    run.state if run else "LOST",
                    run.message if run else "the run is unknown to Glue",
                )
                return
        elif holder.status is DumpStatus.TRANSFORMING and holder.ecs_task_arn:
            outcome = self.ctx.dbt.describe(holder.ecs_task_arn)
            if outcome is None or outcome.last_status == "STOPPED":
                log.warning(
                    "reclaiming the slot of %s: ECS says %s",
                    holder.key,
                    outcome.last_status if outcome else "no such task",
                    extra=dump_fields(holder),
                )
                report.reclaimed = holder.key
                self.ctx.telemetry.count("LeasesReclaimed")
                if outcome is None:
                    self.pipeline.fail(
                        holder,
                        {DumpStatus.TRANSFORMING},
                        stage="transform",
                        status="LOST",
                        message=f"{holder.key}: dbt task {holder.ecs_task_arn} is unknown to ECS",
                    )
                else:
                    self.pipeline.transform_finished(holder, outcome)
                return
        else:
            return
        extended_to = now + dt.timedelta(seconds=self.ctx.settings.lease_seconds)
        if self.store.extend_lease(lease.run_id, extended_to):
            report.extended = holder.key
            log.warning(
                "%s is still running past its lease: extended to %s",
                holder.key,
                extended_to.isoformat(),
                extra=dump_fields(holder),
            )
