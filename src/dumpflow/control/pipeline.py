"""The single pipeline slot: starting the oldest waiting dump, its stages, and their endings.

Exactly-once rests on two conditional writes: the lease (one dump in flight) and the
dump's move to LOADING (one claim per attempt). Each claim records a run token (passed to
Glue as ``--attempt_token``, to ECS as ``startedBy``) and a claim time before calling Glue
or ECS; a start whose caller died (no run id recorded after the Lambda maximum runtime) is
resumed by looking for the run carrying that token first, so it never runs twice, and a run
or event of an earlier attempt is never taken for the current one. A busy Glue slot is a
state (WAITING, reason ``glue-busy``, a next-look time), not an error: the dump keeps the
pipeline slot and the next pump after that time starts it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from dumpflow.control.context import ControlContext
from dumpflow.control.ecs import TaskOutcome
from dumpflow.control.errors import RetryLater, StartRejected
from dumpflow.control.glue import GlueStartUnknown
from dumpflow.control.quality import quality_rejection
from dumpflow.control.state import (
    TERMINAL_STATUSES,
    DumpState,
    DumpStatus,
    Lease,
    iso,
    parse_iso,
    with_transition,
    without_deferral,
)

log = logging.getLogger(__name__)

# A Lambda runs at most 15 minutes: a start claimed longer ago than that has no live caller.
START_GRACE = dt.timedelta(seconds=900)
# Glue/ECS clocks against ours when matching a run to the claim that started it.
CLOCK_SKEW = dt.timedelta(seconds=120)
CLAIMED_AT = "start_claimed_at"
LEASE_REASON = "lease"
MANIFEST_REASON = "manifest"
GLUE_BUSY_REASON = "glue-busy"
FUTURE_REASON = "future"  # dated tomorrow in Tokyo: evaluated again once its day begins
# How long a recorded dump whose evaluation keeps failing is retried (by the sweeper) and
# holds newer daily dumps back, before it is FAILED at stage ingest with its DLQ letter.
INGEST_RETRY_LIMIT = dt.timedelta(minutes=30)
# An older RECEIVED dump holds newer daily dumps back this long: past the retry limit by two
# sweeps (15 min apart), so it is FAILED (or started) before the hold ends.
RECEIVED_HOLD = INGEST_RETRY_LIMIT + dt.timedelta(minutes=30)
# How long a start refused for now (Glue's run slot taken, ECS throttling) waits to retry.
GLUE_BUSY_RETRY = dt.timedelta(seconds=60)
_PUMP_ROUNDS = 32


@dataclass(frozen=True, slots=True)
class _Stage:
    """What differs between starting the load (Glue) and the transform (dbt on ECS)."""

    status: DumpStatus  # the status the dump holds while the stage runs
    name: str  # "load" | "transform": the stage named in errors and logs
    refused_stage: str  # the FAILED stage when the service refuses the start for good
    runner: str  # what is started, in messages
    run: str  # what the started thing is called, in logs
    run_field: str  # the DumpState field holding its id
    since: str  # the timestamp after which a lost start's run was created
    metric: str
    start: Callable[[ControlContext, DumpState], str]
    find: Callable[[ControlContext, DumpState, dt.datetime], str | None]


def _find_glue_run(ctx: ControlContext, state: DumpState, since: dt.datetime) -> str | None:
    run = ctx.glue.find_run(state, since)
    return run.run_id if run else None


LOAD = _Stage(
    status=DumpStatus.LOADING,
    name="load",
    refused_stage="ingest",
    runner="the load job",
    run="Glue run",
    run_field="glue_run_id",
    since="loading_at",
    metric="LoadsStarted",
    start=lambda ctx, state: ctx.glue.start(state),
    find=_find_glue_run,
)
TRANSFORM = _Stage(
    status=DumpStatus.TRANSFORMING,
    name="transform",
    refused_stage="transform",
    runner="the dbt task",
    run="dbt task",
    run_field="ecs_task_arn",
    since="transforming_at",
    metric="TransformsStarted",
    start=lambda ctx, state: ctx.dbt.start(state),
    find=lambda ctx, state, since: ctx.dbt.find_task(state, since),
)


def new_run_token() -> str:
    """The token of one start (24 hex digits: ``startedBy`` allows 36 characters)."""
    return uuid.uuid4().hex[:24]


def dump_fields(state: DumpState) -> dict[str, str]:
    """``extra=`` for log lines about one dump."""
    return {"dump_key": state.key, "dump_date": state.dump_date.isoformat()}


class Pipeline:
    def __init__(self, ctx: ControlContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    # ----- choosing and starting -----------------------------------------------------------

    def pump(self) -> None:
        """Start the oldest ready WAITING dump if the slot is free; tend the holder if not."""
        for _ in range(_PUMP_ROUNDS):
            lease = self.store.lease()
            if lease is not None:
                if self._tend(lease):
                    continue
                return
            pending = self.store.pending()
            ready = self._not_overtaking(
                [s for s in pending if s.status is DumpStatus.WAITING and s.reason == LEASE_REASON],
                self._not_ready(pending),
            )
            if not ready:
                return
            candidate = self._next_to_start(ready)
            if self._stale(candidate):
                self.close(
                    candidate,
                    {DumpStatus.WAITING},
                    DumpStatus.SKIPPED_STALE,
                    reason=self._stale_reason(candidate),
                    metric="StaleDumps",
                )
                continue
            lease = self.store.acquire_lease(
                candidate.key, now=self.ctx.clock(), seconds=self.ctx.settings.lease_seconds
            )
            if lease is None:
                continue
            claimed = self._claim_load(candidate.key, lease)
            if claimed is None:
                self.store.release_lease(lease.run_id)
                continue
            if self._launch(LOAD, claimed):
                return
        log.warning("pump stopped after %d rounds without settling", _PUMP_ROUNDS)

    def _may_hold_back(self, state: DumpState) -> bool:
        """A dump that is not ready yet but will be: waiting for its manifest (the sweeper
        ends that wait), or RECEIVED and not yet evaluated (being evaluated now, or its
        evaluation failed and the sweeper retries it), for up to RECEIVED_HOLD."""
        if state.status is DumpStatus.WAITING:
            return state.reason == MANIFEST_REASON
        received = state.at("received_at")
        return received is None or self.ctx.clock() - received < RECEIVED_HOLD

    def _not_overtaking(
        self, ready: list[DumpState], not_ready: list[DumpState]
    ) -> list[DumpState]:
        """Ready dumps that may start now: a daily dump (a normal dump, or a replay dated
        after the watermark) does not start while an older normal dump is still on its way
        (``_may_hold_back``), or that day would end a stale gap."""
        watermark = self.store.watermark()
        held = [
            s.dump_date
            for s in not_ready
            if s.mode == "normal" and (watermark is None or s.dump_date > watermark)
        ]
        if not held:
            return ready
        oldest_held = min(held)  # after the watermark: backfill dates are older still
        return [s for s in ready if s.dump_date < oldest_held]

    def _next_to_start(self, ready: list[DumpState]) -> DumpState:
        """Daily dumps before backfills (docs/ARCHITECTURE.md, "Daily dumps first").

        ``ready`` is oldest first. A backfill date (replay or backfill of a date not after the
        watermark) goes first only when no daily dump waits, or once the daily dumps have had
        ``daily_starts_per_backfill`` starts since backfills began waiting or since the last
        backfill start, whichever is later. Stale daily dumps sort with the daily ones and are
        closed as before."""
        watermark = self.store.watermark()

        def backfill(s: DumpState) -> bool:
            return s.mode != "normal" and watermark is not None and s.dump_date <= watermark

        daily = [s for s in ready if not backfill(s)]
        backfills = [s for s in ready if backfill(s)]
        if not daily or not backfills:
            return ready[0]
        waits_since = [s.at("waiting_at") for s in backfills]
        since = min((w for w in waits_since if w is not None), default=None)
        daily_starts: list[dt.datetime] = []
        for s in self.store.list_dumps():
            claimed = s.at(CLAIMED_AT)
            if claimed is None:
                continue
            if s.backfill:
                since = claimed if since is None or claimed > since else since
            else:
                daily_starts.append(claimed)
        started = sum(1 for c in daily_starts if since is None or c >= since)
        if started >= self.ctx.settings.daily_starts_per_backfill:
            return backfills[0]
        return daily[0]

    def _stale(self, state: DumpState) -> bool:
        watermark = self.store.watermark()
        return state.mode == "normal" and watermark is not None and state.dump_date <= watermark

    def _stale_reason(self, state: DumpState) -> str:
        watermark = self.store.watermark()
        return f"{state.key} is dated {state.dump_date}, not after the watermark {watermark}"

    def _claim_load(self, key: str, lease: Lease) -> DumpState | None:
        """WAITING -> LOADING under ``lease``: the one write that lets a dump start."""
        now = self.ctx.clock()
        watermark = self.store.watermark()
        settings = self.ctx.settings

        def claim(current: DumpState) -> DumpState | None:
            if current.status is not DumpStatus.WAITING or current.reason not in (
                LEASE_REASON,
                GLUE_BUSY_REASON,
            ):
                return None
            backfill = watermark is not None and current.dump_date <= watermark
            moved = with_transition(
                current,
                DumpStatus.LOADING,
                now=now,
                note=f"attempt {current.attempts + 1}" + (" (backfill)" if backfill else ""),
                reason=None,
                stage=None,
                attempts=current.attempts + 1,
                start_token=lease.run_id,
                run_token=new_run_token(),
                next_look_at=None,
                glue_run_id=None,
                ecs_task_arn=None,
                backfill=backfill,
                target_schema=settings.backfill_schema if backfill else settings.target_schema,
                last_error=without_deferral(current.last_error),
            )
            return dataclasses.replace(moved, timestamps={**moved.timestamps, CLAIMED_AT: iso(now)})

        return self.store.mutate(key, claim)

    def _launch(self, stage: _Stage, state: DumpState) -> bool:
        """Start a claimed stage; False when it failed for good (the dump FAILED, slot freed).

        A transient refusal keeps the slot: the load goes back to WAITING (glue-busy) with a
        next-look time, a transform keeps TRANSFORMING without a start token; the next pump
        (any event, or the sweeper) starts it again. Nothing is raised: waiting must not
        spend the queue's receive budget."""
        try:
            run = stage.start(self.ctx, state)
        except GlueStartUnknown as exc:
            # The run may exist: the claim stays, with its run token, and the retry adopts
            # the run carrying that token before it starts one (``_resume``).
            self._unclaim(stage, state, str(exc))
            return True
        except RetryLater as exc:
            if stage is LOAD:
                self._wait_for_glue(state, str(exc))
            else:
                self._unclaim(stage, state, str(exc))
            return True
        except StartRejected as exc:
            self.fail(
                state,
                {stage.status},
                stage=stage.refused_stage,
                status="START_REJECTED",
                message=f"{state.key}: {stage.runner} could not be started: {exc}",
            )
            return False
        self._record_run(stage, state.key, run)
        self.ctx.telemetry.count(stage.metric)
        log.info("started %s %s for %s", stage.run, run, state.key, extra=dump_fields(state))
        return True

    def _record_run(self, stage: _Stage, key: str, run: str) -> DumpState | None:
        """Note the run id on the dump, unless one is noted already (first writer wins)."""
        return self.store.amend(
            key,
            {stage.status},
            when=lambda s: getattr(s, stage.run_field) is None,
            **{stage.run_field: run},
        )

    def _unclaim(self, stage: _Stage, state: DumpState, message: str) -> None:
        """The service refused the start, so nothing runs: let the next attempt start at once."""
        now = self.ctx.clock()
        self.store.amend(
            state.key,
            {stage.status},
            when=lambda s: s.start_token == state.start_token,
            start_token=None,
            next_look_at=iso(now + GLUE_BUSY_RETRY),
            last_error={"stage": stage.name, "message": f"retrying: {message}", "at": iso(now)},
        )
        self.ctx.telemetry.count("StartsThrottled")
        log.warning("start of %s refused for now: %s", state.key, message, extra=dump_fields(state))

    def _wait_for_glue(self, state: DumpState, message: str) -> None:
        """LOADING -> WAITING(glue-busy): nothing was started, the attempt is not spent."""
        now = self.ctx.clock()

        def back(current: DumpState) -> DumpState | None:
            if current.status is not DumpStatus.LOADING or current.start_token != state.start_token:
                return None
            if current.glue_run_id is not None:
                return None
            return with_transition(
                current,
                DumpStatus.WAITING,
                now=now,
                note=f"Glue is busy: {message}",
                reason=GLUE_BUSY_REASON,
                attempts=max(current.attempts - 1, 0),
                run_token=None,
                next_look_at=iso(now + GLUE_BUSY_RETRY),
                last_error={"stage": "load", "message": f"waiting: {message}", "at": iso(now)},
            )

        self.store.mutate(state.key, back)
        self.ctx.telemetry.count("StartsThrottled")
        log.warning("Glue busy for %s: %s", state.key, message, extra=dump_fields(state))

    # ----- the slot holder ------------------------------------------------------------------

    def _tend(self, lease: Lease) -> bool:
        """Look after the dump holding the slot; True when the slot was freed."""
        holder = self.store.get(lease.holder_key)
        now = self.ctx.clock()
        if holder is None or holder.status in TERMINAL_STATUSES:
            self.store.release_lease(lease.run_id)
            log.info("released the slot left by %s", lease.holder_key)
            return True
        if holder.status is DumpStatus.WAITING and self._due(holder, lease, now):
            if not self._first_in_line(holder):
                self._give_up_slot(holder, lease)
                return True
            claimed = self._claim_load(holder.key, lease)
            if claimed is not None:
                log.warning(
                    "resuming %s: it holds the slot but has not started",
                    holder.key,
                    extra=dump_fields(holder),
                )
                return not self._launch(LOAD, claimed)
        elif holder.status is DumpStatus.LOADING and holder.glue_run_id is None:
            if self._start_abandoned(holder, now):
                self._resume(LOAD, holder)
        elif (
            holder.status is DumpStatus.TRANSFORMING
            and holder.ecs_task_arn is None
            and self._start_abandoned(holder, now)
        ):
            self._resume(TRANSFORM, holder)
        return False

    def _not_ready(self, pending: list[DumpState]) -> list[DumpState]:
        return [s for s in pending if self._may_hold_back(s)]

    def _first_in_line(self, holder: DumpState) -> bool:
        """Whether the pump would choose ``holder`` now, among the dumps ready (the holder
        included) and behind the ones still on their way."""
        pending = self.store.pending()
        in_line = [
            s
            for s in pending
            if s.key == holder.key or (s.status is DumpStatus.WAITING and s.reason == LEASE_REASON)
        ]
        ready = self._not_overtaking(in_line, self._not_ready(pending))
        return bool(ready) and self._next_to_start(ready).key == holder.key

    def _give_up_slot(self, holder: DumpState, lease: Lease) -> None:
        """A holder that has not started yet (its caller died, or Glue was busy) must not
        overtake a dump that came since and goes first (an older day, ready or still on its
        way; a daily dump before a backfill): back in line, the slot freed."""

        def back_in_line(current: DumpState) -> DumpState | None:
            if current.status is not DumpStatus.WAITING or current.reason != GLUE_BUSY_REASON:
                return None
            return dataclasses.replace(current, reason=LEASE_REASON, next_look_at=None)

        self.store.mutate(holder.key, back_in_line)
        self.store.release_lease(lease.run_id)
        log.info(
            "%s gives the slot up: an older dump is still on its way",
            holder.key,
            extra=dump_fields(holder),
        )

    @staticmethod
    def _due(holder: DumpState, lease: Lease, now: dt.datetime) -> bool:
        """A WAITING slot holder starts again: Glue's slot was busy and its next look is
        due, or its claim never happened (its caller died)."""
        if holder.reason == GLUE_BUSY_REASON:
            return holder.next_look_at is None or now >= parse_iso(holder.next_look_at)
        return now - lease.acquired_at >= START_GRACE

    @staticmethod
    def _start_abandoned(state: DumpState, now: dt.datetime) -> bool:
        if state.start_token is None:
            return state.next_look_at is None or now >= parse_iso(state.next_look_at)
        claimed = state.at(CLAIMED_AT)
        return claimed is None or now - claimed >= START_GRACE

    def _reclaim_start(self, state: DumpState, stage: _Stage) -> DumpState | None:
        """Take over an abandoned start (one taker wins: the token must still be the old one)."""
        now = self.ctx.clock()
        token = uuid.uuid4().hex

        def take(current: DumpState) -> DumpState | None:
            if current.status is not stage.status or current.start_token != state.start_token:
                return None
            if getattr(current, stage.run_field) is not None:
                return None
            return dataclasses.replace(
                current, start_token=token, timestamps={**current.timestamps, CLAIMED_AT: iso(now)}
            )

        return self.store.mutate(state.key, take)

    def _resume(self, stage: _Stage, state: DumpState) -> None:
        """Finish a start whose caller died: adopt the run the service has, else start one."""
        taken = self._reclaim_start(state, stage)
        if taken is None:
            return
        since = (taken.at(stage.since) or self.ctx.clock()) - CLOCK_SKEW
        existing = stage.find(self.ctx, taken, since)
        if existing is not None:
            self._record_run(stage, taken.key, existing)
            log.warning(
                "recovered %s %s of %s (its start was not recorded)",
                stage.run,
                existing,
                taken.key,
                extra=dump_fields(taken),
            )
            return
        log.warning(
            "restarting the %s of %s (its start never happened)",
            stage.name,
            taken.key,
            extra=dump_fields(taken),
        )
        self._launch(stage, taken)

    # ----- endings --------------------------------------------------------------------------

    def load_finished(self, state: DumpState, run_id: str, run_state: str, message: str) -> None:
        """Glue ended: SUCCEEDED starts dbt, anything else fails the dump (stage load)."""

        def same_run(s: DumpState) -> bool:
            return s.glue_run_id == run_id

        if run_state != "SUCCEEDED" and self._rejected_by_quality(state, run_id):
            return
        if run_state != "SUCCEEDED":
            self.fail(
                state,
                {DumpStatus.LOADING},
                when=same_run,
                stage="load",
                status=run_state,
                message=f"{state.key}: Glue run {run_id} ended {run_state}: "
                + (message or "no message"),
            )
            return
        now = self.ctx.clock()
        token = uuid.uuid4().hex

        def advance(current: DumpState) -> DumpState | None:
            if current.status is not DumpStatus.LOADING or not same_run(current):
                return None
            moved = with_transition(
                current,
                DumpStatus.TRANSFORMING,
                now=now,
                note=f"Glue run {run_id} succeeded",
                start_token=token,
                run_token=new_run_token(),
            )
            return dataclasses.replace(moved, timestamps={**moved.timestamps, CLAIMED_AT: iso(now)})

        moved = self.store.mutate(state.key, advance)
        if moved is None:
            log.info(
                "Glue %s for %s: already handled", run_state, state.key, extra=dump_fields(state)
            )
            return
        if moved.load_seconds is not None:
            self.ctx.telemetry.seconds("LoadSeconds", moved.load_seconds)
        self._launch(TRANSFORM, moved)

    def _rejected_by_quality(self, state: DumpState, run_id: str) -> bool:
        """The run's report says the quality gate refused the content: REJECTED, no retry."""
        current = self.store.get(state.key)
        if current is None or current.pending_upload:
            return False  # a newer upload is held: the failure path adopts it for a replay
        rejection = quality_rejection(self.ctx.objects.s3, current, run_id)
        if rejection is None:
            return False
        self.close(
            state,
            {DumpStatus.LOADING},
            DumpStatus.REJECTED,
            reason=rejection.reason,
            metric="RejectedDumps",
            stage="quality",
            when=lambda s: s.glue_run_id == run_id,
            checks=rejection.checks,
            message=rejection.summary,
        )
        self.release_for(state.key)
        return True

    def transform_finished(self, state: DumpState, outcome: TaskOutcome) -> None:
        """dbt ended: exit 0 archives, advances the watermark and succeeds; else it fails."""

        def same_task(s: DumpState) -> bool:
            return s.ecs_task_arn == outcome.task_arn

        if not outcome.succeeded:
            self.fail(
                state,
                {DumpStatus.TRANSFORMING},
                when=same_task,
                stage="transform",
                status=f"EXIT_{outcome.exit_code}",
                message=f"{state.key}: dbt task {outcome.task_arn} stopped with exit code "
                f"{outcome.exit_code}: {outcome.reason or 'no reason given'}",
            )
            return
        current = self.store.get(state.key)
        if (
            current is None
            or current.status is not DumpStatus.TRANSFORMING
            or not same_task(current)
        ):
            log.info("dbt success for %s: already handled", state.key, extra=dump_fields(state))
            return
        self.succeed(current)

    def succeed(self, current: DumpState) -> DumpState | None:
        """Archive the version that ran, then in one transaction: SUCCEEDED (a held upload
        settled as SKIPPED_STALE in the same write), the watermark, the slot freed.

        Every step is safe to repeat: a crash after the copy leaves the dump TRANSFORMING with
        its task STOPPED, and the redelivered event or the sweeper runs this again."""
        archived = self.ctx.objects.archive(current.ref, current.source_key, current.version_id)
        if not archived:
            where = f"version {current.version_id}" if current.version_id else "the object"
            return self.fail(
                current,
                {DumpStatus.TRANSFORMING},
                when=lambda s: s.ecs_task_arn == current.ecs_task_arn,
                stage="archive",
                status="OBJECT_GONE",
                message=f"{current.key}: {where} was deleted before it could be archived to "
                f"{current.ref.processed_key}; the load and dbt ran, the watermark stays",
            )
        now = self.ctx.clock()
        before = self.store.watermark()

        def finish(fresh: DumpState) -> DumpState | None:
            if fresh.status is not DumpStatus.TRANSFORMING:
                return None
            if fresh.ecs_task_arn != current.ecs_task_arn:
                return None
            done = with_transition(
                fresh,
                DumpStatus.SUCCEEDED,
                now=now,
                note=f"dbt task {fresh.ecs_task_arn} succeeded; archived",
                start_token=None,
            )
            return self._settle_held(done, now)

        done = self.store.commit(
            current.key, finish, release_lease=True, watermark=lambda s: s.dump_date
        )
        if done is None:
            log.info("dbt success for %s: already handled", current.key, extra=dump_fields(current))
            return None
        self.ctx.telemetry.count("DumpsSucceeded")
        self._count_missing_days(done, before)
        if done.transform_seconds is not None:
            self.ctx.telemetry.seconds("TransformSeconds", done.transform_seconds)
        log.info("%s succeeded", done.key, extra=dump_fields(done))
        if done.status is DumpStatus.SKIPPED_STALE:
            self.ctx.telemetry.count("StaleDumps")
            log.info("%s %s: %s", done.key, done.status, done.reason, extra=dump_fields(done))
        return done

    def _count_missing_days(self, done: DumpState, before: dt.date | None) -> None:
        """Continuity: the watermark jumped over dates that never succeeded. They can only
        come back through backfill now (an upload of one is stale), so ``DaysMissing``
        counts them, once, when the jump is committed."""
        if done.backfill or before is None or done.dump_date <= before:
            return
        missing = (done.dump_date - before).days - 1
        if missing <= 0:
            return
        self.ctx.telemetry.count("DaysMissing", missing)
        first, last = before + dt.timedelta(days=1), done.dump_date - dt.timedelta(days=1)
        log.warning(
            "%s moved the watermark from %s to %s: %d date(s) missing (%s..%s); "
            "dumpflow backfill --from %s --to %s rebuilds them if they must exist",
            done.key, before, done.dump_date, missing, first, last, first, last,
            extra=dump_fields(done),
        )  # fmt: skip

    def _settle_held(self, done: DumpState, now: dt.datetime) -> DumpState:
        """A new upload that arrived while the dump ran is dated the watermark now: it ends
        SKIPPED_STALE with its identity recorded, so replay or backfill can run it."""
        held = done.pending_upload
        if not held:
            return done
        reason = (
            f"new upload of {done.key} (etag {held['etag']}, {held['size']} bytes) arrived "
            f"while etag {done.etag} ran; dated {done.dump_date}, not after the watermark "
            f"{max(self.store.watermark() or done.dump_date, done.dump_date)}"
        )
        return with_transition(
            done,
            DumpStatus.SKIPPED_STALE,
            now=now,
            note=reason,
            reason=reason,
            etag=str(held["etag"]),
            size=int(held["size"]),
            version_id=held.get("version_id"),
            expected_sha256=None,
            source_key=None,
            pending_upload=None,
        )

    def fail(
        self,
        state: DumpState,
        expected: Collection[DumpStatus],
        *,
        stage: str,
        status: str,
        message: str,
        when: Callable[[DumpState], bool] | None = None,
    ) -> DumpState | None:
        """FAILED with the cause, the failure on the DLQ, the slot freed. DLQ first: never lost."""
        current = self.store.get(state.key)
        if current is None or current.status not in expected or (when and not when(current)):
            log.info(
                "failure of %s at %s: already handled", state.key, stage, extra=dump_fields(state)
            )
            return None
        now = self.ctx.clock()
        self.ctx.failures.send(current, stage=stage, status=status, message=message, at=now)

        def to_failed(fresh: DumpState) -> DumpState | None:
            if fresh.status not in expected or (when and not when(fresh)):
                return None
            note = f"{stage}: {status}"
            held = fresh.pending_upload or {}
            newer: dict[str, object] = {}
            if held:
                # The failed run read the older bytes; the key holds the newer upload now,
                # so the item takes its identity and a replay runs it.
                note += f"; newer upload etag {held['etag']} held: replay runs it"
                newer = {
                    "etag": str(held["etag"]),
                    "size": int(held["size"]),
                    "version_id": held.get("version_id"),
                    "expected_sha256": None,
                    "source_key": None,
                    "pending_upload": None,
                }
            return with_transition(
                fresh,
                DumpStatus.FAILED,
                now=now,
                note=note,
                stage=stage,
                start_token=None,
                last_error={"stage": stage, "message": message, "at": iso(now)},
                **newer,
            )

        failed = self.store.mutate(state.key, to_failed)
        self.release_for(state.key)
        if failed is not None:
            self.ctx.telemetry.count("DumpsFailed")
            log.error(
                "%s failed at stage %s: %s", state.key, stage, message, extra=dump_fields(state)
            )
        return failed

    def close(
        self,
        state: DumpState,
        expected: Collection[DumpStatus],
        to: DumpStatus,
        *,
        reason: str,
        metric: str,
        stage: str = "ingest",
        when: Callable[[DumpState], bool] | None = None,
        checks: list[dict[str, object]] | None = None,
        message: str | None = None,
    ) -> DumpState | None:
        """End a dump that will not run: REJECTED or SKIPPED_*, with the reason recorded
        (``stage`` and ``checks``: where a REJECTED dump was refused, e.g. the quality gate)."""
        now = self.ctx.clock()
        rejected = to is DumpStatus.REJECTED
        error: dict[str, object] | None = None
        if rejected:
            error = {"stage": stage, "message": message or reason, "at": iso(now)}
            if checks is not None:
                error["checks"] = checks
        extra: dict[str, object] = (
            {"stage": stage, "start_token": None} if stage != "ingest" else {}
        )
        closed = self.store.transition(
            state.key,
            expected,
            to,
            now=now,
            note=reason,
            when=when,
            reason=reason,
            last_error=error or without_deferral(state.last_error),
            **extra,
        )
        if closed is not None:
            self.ctx.telemetry.count(metric)
            level = logging.ERROR if to is DumpStatus.REJECTED else logging.INFO
            log.log(level, "%s %s: %s", state.key, to, reason, extra=dump_fields(state))
        return closed

    def release_for(self, key: str) -> None:
        lease = self.store.lease()
        if lease is not None and lease.holder_key == key:
            self.store.release_lease(lease.run_id)
