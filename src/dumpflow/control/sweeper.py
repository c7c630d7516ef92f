"""The scheduled sweep: settle everything that can be stuck, each dump on its own.

* RECEIVED longer than a few minutes (its first delivery died, or its evaluation failed and
  the message was acknowledged so as not to block the queue): evaluated again; one still
  failing INGEST_RETRY_LIMIT (30 min) after it arrived is FAILED at stage ingest with its
  DLQ letter.
* WAITING for a manifest: looked at again (the manifest's event may be lost), and rejected
  once the wait is over.
* WAITING for its day (dated tomorrow in Tokyo): evaluated again once that day has begun.
* The slot holder's run: asked of Glue or ECS at every sweep once its stage has run a few
  minutes, so a lost completion event is found long before ECS forgets a stopped task
  (about an hour); a task ECS no longer knows is resolved from the dbt report in S3. A run
  still going past its lease keeps the slot for another period, up to its limit: a dbt task
  still running ``dbt_timeout_minutes`` after its transform began is stopped
  (``ecs:StopTask``) and the dump FAILED at transform with reason timeout, its letter on
  the DLQ, the slot freed for the next dump. Should the stop itself fail, the slot is kept
  (two transforms never write at once) and the next sweep tries again; the task's own
  deadline (DBT_TASK_DEADLINE_MINUTES) ends it in any case.

One dump's failure is logged and counted (``SweepErrors``) and the sweep goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from dumpflow.control.context import ControlContext
from dumpflow.control.glue import FINAL_RUN_STATES
from dumpflow.control.intake import Intake
from dumpflow.control.pipeline import (
    CLOCK_SKEW,
    FUTURE_REASON,
    MANIFEST_REASON,
    Pipeline,
    dump_fields,
)
from dumpflow.control.state import (
    STUCK_AFTER,
    TERMINAL_STATUSES,
    DumpState,
    DumpStatus,
    Lease,
    parse_iso,
)

log = logging.getLogger(__name__)

# A stage younger than this is left to its completion event (no race with the event path).
SETTLE_AFTER = dt.timedelta(minutes=5)
DBT_REPORT_PREFIX = "reports/dbt/"


@dataclass
class SweepReport:
    manifest_timeouts: list[str] = field(default_factory=list)
    reevaluated: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    reclaimed: str | None = None
    extended: str | None = None
    errors: list[str] = field(default_factory=list)
    oldest_waiting_seconds: float = 0.0


class Sweeper:
    def __init__(self, ctx: ControlContext, pipeline: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pipeline = pipeline or Pipeline(ctx)
        self.intake = Intake(ctx, self.pipeline)

    def sweep(self) -> SweepReport:
        report = SweepReport()
        now = self.ctx.clock()
        self._guarded(report, "stuck dumps", lambda: self._reevaluate_stuck(now, report))
        self._guarded(report, "the slot holder", lambda: self._settle_holder(now, report))
        self._guarded(report, "the next dump", self.pipeline.pump)
        report.oldest_waiting_seconds = self._oldest_wait(self.ctx.clock())
        self.ctx.telemetry.seconds("WaitingAgeSeconds", report.oldest_waiting_seconds)
        return report

    def _guarded(self, report: SweepReport, what: str, step: Callable[[], None]) -> None:
        """Run one step; its failure is logged and counted, the rest of the sweep goes on."""
        try:
            step()
        except Exception as exc:
            report.errors.append(f"{what}: {exc}")
            self.ctx.telemetry.count("SweepErrors")
            log.exception("sweep: %s failed; the sweep goes on", what)

    def _oldest_wait(self, now: dt.datetime) -> float:
        """Age of the longest-waiting dump (0 when none waits): the alarm's gauge. A dump
        waiting for its day counts from the start of that day."""
        since: list[dt.datetime] = []
        for state in self.store.waiting():
            moment = state.at("waiting_at")
            if state.reason == FUTURE_REASON and state.next_look_at:
                moment = parse_iso(state.next_look_at)
            if moment is not None and moment <= now:
                since.append(moment)
        return max(((now - moment).total_seconds() for moment in since), default=0.0)

    # ----- RECEIVED and WAITING ----------------------------------------------------------

    def _reevaluate_stuck(self, now: dt.datetime, report: SweepReport) -> None:
        bound = dt.timedelta(seconds=self.ctx.settings.manifest_wait_seconds)
        for state in self.store.list_dumps():
            if state.status is DumpStatus.RECEIVED:
                since = state.at("received_at")
                if since is None or now - since >= STUCK_AFTER:
                    self._guarded(report, state.key, partial(self._evaluate, state, report))
            elif state.status is DumpStatus.WAITING and state.reason == MANIFEST_REASON:
                since = state.at("waiting_at")
                if since is not None and now - since >= bound:
                    self._guarded(report, state.key, partial(self._expire, state, report))
                else:
                    self._guarded(report, state.key, partial(self._evaluate, state, report))
            elif state.status is DumpStatus.WAITING and state.reason == FUTURE_REASON:
                due = state.next_look_at
                if due is None or now >= parse_iso(due):
                    self._guarded(report, state.key, partial(self._evaluate, state, report))

    def _evaluate(self, state: DumpState, report: SweepReport) -> None:
        if state.status is DumpStatus.RECEIVED:
            log.warning(
                "%s is still RECEIVED: evaluating it again", state.key, extra=dump_fields(state)
            )
            report.reevaluated.append(state.key)
        if not self.intake.evaluate_or_defer(state):
            report.deferred.append(state.key)

    def _expire(self, state: DumpState, report: SweepReport) -> None:
        """The manifest wait is over: REJECTED, naming what was waited for."""
        if not self.intake.evaluate_or_defer(state):  # its manifest event may be lost
            report.deferred.append(state.key)
            return  # unreadable is not missing: the retry limit ends it (FAILED, a letter)
        fresh = self.store.get(state.key)
        if fresh is None or fresh.status is not DumpStatus.WAITING:
            return
        if fresh.reason != MANIFEST_REASON:
            return
        detail = (fresh.last_error or {}).get("message")
        closed = self.pipeline.close(
            fresh,
            {DumpStatus.WAITING},
            DumpStatus.REJECTED,
            reason=f"{fresh.ref.manifest_key} did not arrive within "
            f"{self.ctx.settings.manifest_wait_seconds} s of {fresh.key}"
            + (f" ({detail})" if detail else ""),
            metric="RejectedDumps",
        )
        if closed is not None:
            report.manifest_timeouts.append(state.key)

    # ----- the slot holder -----------------------------------------------------------------

    def _settle_holder(self, now: dt.datetime, report: SweepReport) -> None:
        lease = self.store.lease()
        if lease is None:
            return
        holder = self.store.get(lease.holder_key)
        if holder is None or holder.status in TERMINAL_STATUSES:
            if self.store.release_lease(lease.run_id):
                report.reclaimed = lease.holder_key
            return
        began = holder.at(
            "loading_at" if holder.status is DumpStatus.LOADING else "transforming_at"
        )
        if began is not None and now - began < SETTLE_AFTER:
            return
        if holder.status is DumpStatus.LOADING and holder.glue_run_id:
            if self._settle_load(holder, report):
                return
        elif holder.status is DumpStatus.TRANSFORMING and holder.ecs_task_arn:
            if self._settle_transform(holder, report):
                return
        else:
            return
        if lease.expired(now):
            self._extend(lease, holder, now, report)

    def _settle_load(self, holder: DumpState, report: SweepReport) -> bool:
        run_id = holder.glue_run_id
        assert run_id is not None
        run = self.ctx.glue.run(run_id)
        if run is not None and run.state not in FINAL_RUN_STATES:
            return False
        log.warning(
            "settling %s: Glue says %s",
            holder.key,
            run.state if run else "no such run",
            extra=dump_fields(holder),
        )
        report.reclaimed = holder.key
        self.ctx.telemetry.count("LeasesReclaimed")
        self.pipeline.load_finished(
            holder,
            run_id,
            run.state if run else "LOST",
            run.message if run else "the run is unknown to Glue",
        )
        return True

    def _settle_transform(self, holder: DumpState, report: SweepReport) -> bool:
        task_arn = holder.ecs_task_arn
        assert task_arn is not None
        outcome = self.ctx.dbt.describe(task_arn)
        if outcome is not None and outcome.last_status != "STOPPED":
            return self._stop_if_over_time(holder, task_arn, report)
        log.warning(
            "settling %s: ECS says %s",
            holder.key,
            outcome.last_status if outcome else "no such task",
            extra=dump_fields(holder),
        )
        report.reclaimed = holder.key
        self.ctx.telemetry.count("LeasesReclaimed")
        if outcome is not None:
            self.pipeline.transform_finished(holder, outcome)
            return True
        dbt_report = self._dbt_report(holder)
        status = str(dbt_report.get("status")) if dbt_report else None
        if status == "succeeded":
            log.warning(
                "%s: ECS forgot task %s; the dbt report says it succeeded",
                holder.key,
                task_arn,
                extra=dump_fields(holder),
            )
            self.pipeline.succeed(holder)
            return True
        if dbt_report is not None:
            message = (
                f"{holder.key}: dbt task {task_arn} is gone from ECS; its report says "
                f"{status}: {dbt_report.get('error') or 'no error given'}"
            )
            status_code = f"REPORT_{(status or 'unknown').upper()}"
        else:
            message = (
                f"{holder.key}: dbt task {task_arn} is unknown to ECS and left no report "
                f"under {DBT_REPORT_PREFIX}"
            )
            status_code = "LOST"
        self.pipeline.fail(
            holder,
            {DumpStatus.TRANSFORMING},
            when=lambda s: s.ecs_task_arn == task_arn,
            stage="transform",
            status=status_code,
            message=message,
        )
        return True

    def _stop_if_over_time(self, holder: DumpState, task_arn: str, report: SweepReport) -> bool:
        """A task running past the dbt limit is stopped and its dump failed; else it runs on."""
        began = holder.at("transforming_at")
        limit = dt.timedelta(minutes=self.ctx.settings.dbt_timeout_minutes)
        if began is None or self.ctx.clock() - began < limit:
            return False
        message = (
            f"{holder.key}: timeout: dbt task {task_arn} still running "
            f"{self.ctx.settings.dbt_timeout_minutes} min after the transform began "
            f"(DUMPFLOW_DBT_TIMEOUT_MINUTES); stopped"
        )
        self.ctx.dbt.stop(task_arn, f"dumpflow: timeout after {limit}")
        self.ctx.telemetry.count("DbtTimeouts")
        report.reclaimed = holder.key
        self.pipeline.fail(
            holder,
            {DumpStatus.TRANSFORMING},
            when=lambda s: s.ecs_task_arn == task_arn,
            stage="transform",
            status="TIMEOUT",
            message=message,
        )
        return True

    def _dbt_report(self, holder: DumpState) -> dict[str, Any] | None:
        """The dbt report of this dump's transform: same key, finished after it began."""
        key = f"{DBT_REPORT_PREFIX}{holder.dump_date.isoformat()}.json"
        try:
            response = self.ctx.objects.s3.get_object(Bucket=holder.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        try:
            report = json.loads(response["Body"].read())
            finished = dt.datetime.fromisoformat(str(report.get("finished_at")))
        except (TypeError, ValueError):
            log.warning("%s: the dbt report %s is unreadable", holder.key, key)
            return None
        began = holder.at("transforming_at")
        if not isinstance(report, dict) or report.get("dump_key") != holder.key:
            return None
        if finished.tzinfo is None:
            finished = finished.replace(tzinfo=dt.UTC)
        if began is not None and finished < began - CLOCK_SKEW:
            return None  # an earlier attempt's report
        return report

    def _extend(
        self, lease: Lease, holder: DumpState, now: dt.datetime, report: SweepReport
    ) -> None:
        extended_to = now + dt.timedelta(seconds=self.ctx.settings.lease_seconds)
        if self.store.extend_lease(lease.run_id, extended_to):
            report.extended = holder.key
            log.warning(
                "%s is still running past its lease: extended to %s",
                holder.key,
                extended_to.isoformat(),
                extra=dump_fields(holder),
            )
