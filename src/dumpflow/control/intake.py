"""What happens when a queue message arrives: record the dump, validate it, queue it to run.

Every copy of a message goes through here: the first creates the item; later copies count
as duplicates and only nudge an item that is still RECEIVED or WAITING (which recovers a
first delivery that died half-way). Replay and backfill messages are accepted only for the
attempt the operator armed.
"""

from __future__ import annotations

import dataclasses
import logging
from enum import StrEnum

from dumpflow.control.context import ControlContext
from dumpflow.control.manifest import ManifestInvalid
from dumpflow.control.messages import (
    DumpMessage,
    KeyKind,
    classify_key,
    manifest_date,
    message_ref,
    parse_message,
)
from dumpflow.control.pipeline import LEASE_REASON, MANIFEST_REASON, Pipeline, dump_fields
from dumpflow.control.state import (
    TERMINAL_STATUSES,
    DumpState,
    DumpStatus,
    iso,
    with_transition,
)
from dumpflow.control.validation import rejection
from dumpflow.dumps import DumpRef, NotADumpKey

log = logging.getLogger(__name__)

_PENDING = frozenset({DumpStatus.RECEIVED, DumpStatus.WAITING})


class Arrival(StrEnum):
    """What one message amounted to (for the handler's log line and the tests)."""

    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    REPLAY_NOT_ARMED = "replay-not-armed"
    MANIFEST_EARLY = "manifest-without-waiting-dump"
    EVALUATED = "evaluated"


class Intake:
    def __init__(self, ctx: ControlContext, pipeline: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pipeline = pipeline or Pipeline(ctx)

    def handle(self, body: str) -> Arrival:
        """Process one queue body; raises BadMessage for bodies that can never be processed."""
        message = parse_message(body)
        kind = classify_key(message.key, self.ctx.settings.key_pattern)
        if kind is KeyKind.MANIFEST:
            return self._manifest_arrived(message)
        if kind is KeyKind.OTHER:
            self.ctx.telemetry.count("IgnoredKeys")
            log.info("ignoring %s: not a dump key", message.key, extra={"dump_key": message.key})
            return Arrival.IGNORED
        try:
            ref = message_ref(message, self.ctx.settings.key_pattern)
        except NotADumpKey as exc:
            self.ctx.telemetry.count("IgnoredKeys")
            log.warning("ignoring %s: %s", message.key, exc, extra={"dump_key": message.key})
            return Arrival.IGNORED
        state = self._record(message, ref)
        if state is None:
            self.pipeline.pump()
            return Arrival.REPLAY_NOT_ARMED if message.is_replay else Arrival.DUPLICATE
        self.evaluate(state)
        return Arrival.EVALUATED

    # ----- recording -----------------------------------------------------------------------

    def _record(self, message: DumpMessage, ref: DumpRef) -> DumpState | None:
        """The item to evaluate, or None when this message changes nothing.

        A copy that finds its dump still RECEIVED/WAITING evaluates it again: that is how a
        first delivery that died half-way is finished (the writes are all conditional).
        """
        now = self.ctx.clock()
        note = f"{message.mode} attempt {message.attempt}" if message.is_replay else "received"
        fresh = DumpState(
            key=ref.key,
            bucket=ref.bucket,
            etag=ref.etag,
            size=ref.size,
            dump_date=ref.dump_date,
            status=DumpStatus.RECEIVED,
            mode=message.mode,
            target_schema=self.ctx.settings.target_schema,
            timestamps={"received_at": iso(now)},
            history=[{"from": "", "to": str(DumpStatus.RECEIVED), "at": iso(now), "note": note}],
        )
        if self.store.create(fresh):
            self.ctx.telemetry.count("DumpsReceived")
            log.info("received %s (%s)", ref.key, note, extra=dump_fields(fresh))
            return fresh
        reopened = self._reopen(message, ref)
        if reopened is not None:
            self.ctx.telemetry.count("DumpsReceived")
            log.info(
                "received %s again (%s)",
                ref.key,
                reopened.history[-1]["note"],
                extra=dump_fields(reopened),
            )
            return reopened
        self.store.count_duplicate(ref.key)
        self.ctx.telemetry.count("DuplicateEvents")
        current = self.store.get(ref.key)
        if current is not None and current.status in _PENDING:
            return current
        if message.is_replay:
            log.info(
                "%s attempt %s of %s is not the armed one: no-op",
                message.mode,
                message.attempt,
                ref.key,
                extra={"dump_key": ref.key},
            )
            return None
        log.info(
            "duplicate event for %s (%s): no-op",
            ref.key,
            current.status if current else "gone",
            extra={"dump_key": ref.key},
        )
        return None

    def _reopen(self, message: DumpMessage, ref: DumpRef) -> DumpState | None:
        """An armed replay, or a new upload over a FAILED/REJECTED dump, runs again."""
        now = self.ctx.clock()

        def reopen(current: DumpState) -> DumpState | None:
            if current.status not in TERMINAL_STATUSES:
                return None
            if message.is_replay:
                if current.replay_armed_attempt != message.attempt:
                    return None
                note = f"{message.mode} attempt {message.attempt} accepted"
            elif current.etag != ref.etag and current.status in (
                DumpStatus.FAILED,
                DumpStatus.REJECTED,
            ):
                note = f"new upload (etag {ref.etag}) replaces {current.status} etag {current.etag}"
            else:
                return None
            return with_transition(
                current,
                DumpStatus.RECEIVED,
                now=now,
                note=note,
                bucket=ref.bucket,
                etag=ref.etag,
                size=ref.size,
                mode=message.mode,
                replay_armed_attempt=None,
                stage=None,
                reason=None,
                glue_run_id=None,
                ecs_task_arn=None,
                start_token=None,
                backfill=False,
                target_schema=self.ctx.settings.target_schema,
            )

        return self.store.mutate(ref.key, reopen)

    def _manifest_arrived(self, message: DumpMessage) -> Arrival:
        try:
            date = manifest_date(message.key)
        except NotADumpKey as exc:
            self.ctx.telemetry.count("IgnoredKeys")
            log.warning("ignoring %s: %s", message.key, exc, extra={"dump_key": message.key})
            return Arrival.IGNORED
        waiting = [
            s
            for s in self.store.for_date(date)
            if s.status is DumpStatus.WAITING and s.reason == MANIFEST_REASON
        ]
        if not waiting:
            log.info(
                "manifest %s arrived with no dump waiting for it",
                message.key,
                extra={"dump_date": date.isoformat()},
            )
            return Arrival.MANIFEST_EARLY
        for state in waiting:
            log.info(
                "manifest %s arrived: waking %s", message.key, state.key, extra=dump_fields(state)
            )
            self.evaluate(state)
        return Arrival.EVALUATED

    # ----- validation ----------------------------------------------------------------------

    def evaluate(self, state: DumpState) -> None:
        """Validate a RECEIVED/WAITING dump and either end it, park it, or queue it to run."""
        ref, now = state.ref, self.ctx.clock()
        settings = self.ctx.settings
        pending = set(_PENDING)
        cause = rejection(ref, min_bytes=settings.min_dump_bytes, now=now)
        if cause:
            self.pipeline.close(
                state, pending, DumpStatus.REJECTED, reason=cause, metric="RejectedDumps"
            )
            return
        if state.mode == "normal":
            if self.ctx.objects.archived(ref):
                self.pipeline.close(
                    state,
                    pending,
                    DumpStatus.SKIPPED_DUPLICATE,
                    reason=f"{ref.key} is already archived as {ref.processed_key}",
                    metric="DuplicateDumps",
                )
                return
            watermark = self.store.watermark()
            if watermark is not None and ref.dump_date <= watermark:
                self.pipeline.close(
                    state,
                    pending,
                    DumpStatus.SKIPPED_STALE,
                    reason=f"{ref.key} is dated {ref.dump_date}, "
                    f"not after the watermark {watermark}",
                    metric="StaleDumps",
                )
                return
        sha256: str | None = None
        if settings.require_manifest:
            try:
                manifest = self.ctx.manifests.fetch(ref)
                if manifest is not None:
                    manifest.check(ref)
            except ManifestInvalid as exc:
                self.pipeline.close(
                    state, pending, DumpStatus.REJECTED, reason=str(exc), metric="RejectedDumps"
                )
                return
            if manifest is None:
                self._park(state, MANIFEST_REASON, f"waiting for {ref.manifest_key}")
                return
            sha256 = manifest.dump_sha256
        sha256 = sha256 or self.ctx.objects.metadata_sha256(ref)
        self._park(state, LEASE_REASON, "ready", expected_sha256=sha256)
        self.pipeline.pump()

    def _park(
        self, state: DumpState, reason: str, note: str, expected_sha256: str | None = None
    ) -> None:
        """RECEIVED -> WAITING(reason), or a WAITING dump's reason changed."""
        now = self.ctx.clock()

        def park(current: DumpState) -> DumpState | None:
            if current.status not in _PENDING:
                return None
            sha256 = expected_sha256 or current.expected_sha256
            if current.status is DumpStatus.WAITING and current.reason == reason:
                if sha256 == current.expected_sha256:
                    return None
                return dataclasses.replace(current, expected_sha256=sha256)
            return with_transition(
                current,
                DumpStatus.WAITING,
                now=now,
                note=note,
                reason=reason,
                expected_sha256=sha256,
            )

        parked = self.store.mutate(state.key, park)
        if parked is not None and reason == MANIFEST_REASON:
            self.ctx.telemetry.count("ManifestWaits")
            log.info("%s waits for its manifest", state.key, extra=dump_fields(state))
