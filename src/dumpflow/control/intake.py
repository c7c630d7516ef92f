"""What happens when a queue message arrives: record the dump, validate it, queue it to run.

A dump is identified by bucket, key and ETag. The first message creates the item; later
copies of the same content count as duplicates and only nudge an item that is still RECEIVED
or WAITING (which recovers a first delivery that died half-way). New content under a known
key is evaluated again (or held while the key runs). Replay and backfill messages are
accepted only for the attempt the operator armed.

A message is never left unacknowledged once its dump is recorded: the queue has one message
group (EventBridge sets a static MessageGroupId), so a message retried by SQS would hold every
later dump behind it for up to maxReceiveCount visibility timeouts. A failure after the record
(S3 throttling the manifest read, DynamoDB refusing a later write) is kept on the item
(``last_error``) and the sweeper evaluates the dump again; the pump keeps newer daily dumps
behind it meanwhile, so date order holds. Only a failure to record reaches SQS's retry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from enum import StrEnum

from dumpflow.control.context import ControlContext
from dumpflow.control.manifest import ManifestInvalid
from dumpflow.control.messages import (
    BadMessage,
    DumpMessage,
    KeyKind,
    classify_key,
    manifest_date,
    message_ref,
    parse_message,
)
from dumpflow.control.pipeline import (
    FUTURE_REASON,
    GLUE_BUSY_REASON,
    INGEST_RETRY_LIMIT,
    LEASE_REASON,
    MANIFEST_REASON,
    Pipeline,
    dump_fields,
)
from dumpflow.control.state import (
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    DumpState,
    DumpStatus,
    iso,
    parse_iso,
    with_note,
    with_transition,
    without_deferral,
)
from dumpflow.control.validation import from_the_future, rejection
from dumpflow.dumps import DumpRef, NotADumpKey, normalize_etag, start_of_day_jst

log = logging.getLogger(__name__)

_PENDING = frozenset({DumpStatus.RECEIVED, DumpStatus.WAITING})
_SETTLED = RUNNING_STATUSES | TERMINAL_STATUSES
# The receive on which a message that still cannot be recorded goes to the DLQ (replayable)
# instead of SQS's retry: below the queue's maxReceiveCount (5), which stays the backstop.
FORWARD_AFTER_RECEIVES = 2
# WAITING reasons whose dump is evaluated again (so an evaluation of it can fail and be retried)
_EVALUATED_AGAIN = frozenset({MANIFEST_REASON, FUTURE_REASON})


class Arrival(StrEnum):
    """What one message amounted to (for the handler's log line and the tests)."""

    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    REPLAY_NOT_ARMED = "replay-not-armed"
    MANIFEST_EARLY = "manifest-without-waiting-dump"
    HELD = "new-upload-held-until-the-run-ends"
    EVALUATED = "evaluated"
    DEFERRED = "recorded-evaluation-left-to-the-sweeper"
    FORWARDED = "not-recordable-put-on-the-dlq"


class Intake:
    def __init__(self, ctx: ControlContext, pipeline: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pipeline = pipeline or Pipeline(ctx)

    def receive(self, body: str, *, message_id: str, receive_count: int) -> Arrival:
        """One delivery of a queue message: ``handle`` it. A message that could not be
        recorded is raised for SQS to retry, and on its FORWARD_AFTER_RECEIVES-th receive put
        on the DLQ as it is instead (FORWARDED), so it holds the single message group for one
        visibility timeout at most. BadMessage is raised as it is (never worth a retry)."""
        try:
            return self.handle(body)
        except BadMessage:
            raise
        except Exception as exc:
            if receive_count < FORWARD_AFTER_RECEIVES:
                raise
            self.ctx.failures.forward(body, message_id=message_id)
            self.ctx.telemetry.count("MessagesForwarded")
            log.error(
                "message %s could not be recorded on receive %d (%s): put on the DLQ as it "
                "is; `dumpflow replay` sends it again",
                message_id,
                receive_count,
                exc,
                extra={"stage": "ingest", "body": body[:1000]},
            )
            return Arrival.FORWARDED

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
        if isinstance(state, Arrival):
            arrival = state
        else:
            arrival = Arrival.EVALUATED if self.evaluate_or_defer(state) else Arrival.DEFERRED
        self.pump_or_leave_to_sweeper()
        return arrival

    def pump_or_leave_to_sweeper(self) -> None:
        """Start the next dump; a failure here is the sweeper's to retry (the message that
        brought us here is recorded and must not block the queue)."""
        try:
            self.pipeline.pump()
        except Exception:
            self.ctx.telemetry.count("PumpsDeferred")
            log.exception("starting the next dump failed; the sweeper tries again")

    def evaluate_or_defer(self, state: DumpState) -> bool:
        """Evaluate a recorded dump; on failure the cause is kept on the item for the sweeper
        (False). One whose evaluations keep failing is FAILED at stage ingest with its DLQ
        letter (``_defer``), so it neither stays stuck nor holds newer dumps back for ever."""
        try:
            self.evaluate(state)
            return True
        except Exception as exc:
            cause = f"{type(exc).__name__}: {exc}"
            log.warning(
                "evaluating %s failed (%s); the sweeper evaluates it again",
                state.key,
                cause,
                extra=dump_fields(state),
            )
            try:
                self._defer(state, cause)
            except Exception:
                log.exception("recording the failed evaluation of %s failed", state.key)
            return False

    def _defer(self, state: DumpState, cause: str) -> None:
        """Keep the failure on the item; FAILED (stage ingest) once evaluations have failed
        for INGEST_RETRY_LIMIT: counted from the arrival for a RECEIVED dump, from the first
        failure in a row for one WAITING for its manifest or its day. A dump already ready
        (WAITING for the slot) is not touched: a failed re-evaluation changes nothing."""
        now = self.ctx.clock()
        current = self.store.get(state.key)
        if current is None or current.status not in _PENDING:
            return
        if current.status is DumpStatus.WAITING and current.reason not in _EVALUATED_AGAIN:
            return
        earlier = current.last_error if without_deferral(current.last_error) is None else None
        if current.status is DumpStatus.RECEIVED:
            since = current.at("received_at") or now
        elif earlier and earlier.get("since"):
            since = parse_iso(str(earlier["since"]))
        else:
            since = now
        if now - since >= INGEST_RETRY_LIMIT:
            limit = int(INGEST_RETRY_LIMIT.total_seconds())
            self.pipeline.fail(
                current,
                {current.status},
                stage="ingest",
                status="EVALUATION_FAILED",
                message=f"{current.key} could not be evaluated for {limit} s "
                f"(since {iso(since)}): {cause}",
                when=lambda fresh: fresh.reason == current.reason,
            )
            return
        self.ctx.telemetry.count("EvaluationsDeferred")
        error = {
            "stage": "ingest",
            "message": f"evaluation failed, retried by the sweeper: {cause}",
            "at": iso(now),
            "since": iso(since),
            "retry": "sweeper",
        }

        def note(fresh: DumpState) -> DumpState | None:
            if fresh.status is not current.status or fresh.reason != current.reason:
                return None
            return dataclasses.replace(fresh, last_error=error)

        self.store.mutate(state.key, note)

    # ----- recording -----------------------------------------------------------------------

    def _record(self, message: DumpMessage, ref: DumpRef) -> DumpState | Arrival:
        """The item to evaluate, or what the message amounted to when it changes nothing.

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
            source_key=message.source_key,
            version_id=message.version_id,
        )
        if self.store.create(fresh):
            self.ctx.telemetry.count("DumpsReceived")
            log.info("received %s (%s)", ref.key, note, extra=dump_fields(fresh))
            return fresh
        reopened = self._reopen(message, ref)
        if reopened is not None:
            if reopened.status in RUNNING_STATUSES:
                log.info(
                    "%s: %s", ref.key, reopened.history[-1]["note"], extra=dump_fields(reopened)
                )
                return Arrival.HELD
            self.ctx.telemetry.count("DumpsReceived")
            log.info(
                "received %s again (%s)",
                ref.key,
                reopened.history[-1]["note"],
                extra=dump_fields(reopened),
            )
            return reopened
        return self._duplicate(message, ref)

    def _duplicate(self, message: DumpMessage, ref: DumpRef) -> DumpState | Arrival:
        """A copy of content already recorded: counted, and SKIPPED_DUPLICATE in the history
        unless the dump is still pending (then the copy finishes its evaluation)."""
        if message.is_replay:
            note = f"{message.mode} attempt {message.attempt} is not the armed one: no-op"
        else:
            note = f"delivery of etag {ref.etag} again: SKIPPED_DUPLICATE, nothing runs"
        try:
            current = self.store.count_duplicate(
                ref.key, now=self.ctx.clock(), note=note, settled=_SETTLED
            )
        except Exception:
            # The content is recorded already: losing the count must not send the message
            # back to the queue (it would hold every message behind it).
            log.warning("%s: counting a duplicate delivery failed", ref.key, exc_info=True)
            current = self.store.get(ref.key)
        self.ctx.telemetry.count("DuplicateEvents")
        if current is not None and current.status in _PENDING:
            return current
        log.info(
            "%s (%s): %s",
            ref.key,
            current.status if current else "gone",
            note,
            extra={"dump_key": ref.key, "delivery_outcome": str(DumpStatus.SKIPPED_DUPLICATE)},
        )
        return Arrival.REPLAY_NOT_ARMED if message.is_replay else Arrival.DUPLICATE

    def _reopen(self, message: DumpMessage, ref: DumpRef) -> DumpState | None:
        """An armed replay runs again; new content (a new ETag) under the key is taken in.

        New content replaces a pending or ended dump's identity and is evaluated afresh (a
        date not after the watermark ends SKIPPED_STALE, the earlier outcome stays in the
        history); while a run is in flight it is held on the item until the run ends.
        """
        now = self.ctx.clock()
        if not message.is_replay:
            known = self.store.get(ref.key)
            held = (known.pending_upload or {}) if known else {}
            if known is None or ref.etag in (known.etag, held.get("etag")):
                return None
            if not self._is_current_object(ref):
                return None

        def reopen(current: DumpState) -> DumpState | None:
            acceptance = current.accept_quality if message.is_replay else None
            if acceptance and acceptance.get("attempt") != message.attempt:
                acceptance = None  # an acceptance is for the one attempt it was armed with
            if message.is_replay:
                if current.status not in TERMINAL_STATUSES:
                    return None
                if current.replay_armed_attempt != message.attempt:
                    return None
                note = f"{message.mode} attempt {message.attempt} accepted"
                if message.source_key:
                    note += f", reading {message.source_key}"
            elif current.etag == ref.etag:
                return None
            elif current.status in RUNNING_STATUSES:
                return self._held(current, ref, message.version_id, now)
            else:
                note = f"new upload (etag {ref.etag}) replaces {current.status} etag {current.etag}"
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
                expected_sha256=None,
                glue_run_id=None,
                ecs_task_arn=None,
                start_token=None,
                backfill=False,
                target_schema=self.ctx.settings.target_schema,
                source_key=message.source_key,
                pending_upload=None,
                accept_quality=acceptance,
                version_id=message.version_id
                or (current.version_id if current.etag == ref.etag else None),
                run_token=None,
                next_look_at=None,
            )

        return self.store.mutate(ref.key, reopen)

    @staticmethod
    def _held(
        current: DumpState, ref: DumpRef, version_id: str | None, now: dt.datetime
    ) -> DumpState | None:
        """New content while the dump runs: the run is left alone and the upload is recorded;
        the run's end settles it (SKIPPED_STALE after a success, replayable after a failure)."""
        held = current.pending_upload or {}
        if held.get("etag") == ref.etag:
            return None
        note = (
            f"new upload (etag {ref.etag}, {ref.size} bytes) held until the run of etag "
            f"{current.etag} ends"
        )
        pending = {"etag": ref.etag, "size": ref.size, "at": iso(now), "version_id": version_id}
        return with_note(
            dataclasses.replace(current, pending_upload=pending), current.status, now=now, note=note
        )

    def _is_current_object(self, ref: DumpRef) -> bool:
        """A delayed event of content since overwritten must not take over the key."""
        head = self.ctx.objects.head(ref.bucket, ref.key)
        if head is None:
            return True
        current = normalize_etag(str(head.get("ETag", "")))
        if current == ref.etag:
            return True
        log.info(
            "event for %s names etag %s, the object is now etag %s: outdated",
            ref.key,
            ref.etag,
            current,
            extra={"dump_key": ref.key},
        )
        return False

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
        evaluated = True
        for state in waiting:
            log.info(
                "manifest %s arrived: waking %s", message.key, state.key, extra=dump_fields(state)
            )
            evaluated = self.evaluate_or_defer(state) and evaluated
        self.pump_or_leave_to_sweeper()
        return Arrival.EVALUATED if evaluated else Arrival.DEFERRED

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
        early = from_the_future(ref, now)
        if early:
            self._park(
                state,
                FUTURE_REASON,
                f"{early}: waits for its day",
                next_look_at=start_of_day_jst(ref.dump_date),
            )
            return
        if state.mode == "normal":
            watermark = self.store.watermark()
            if watermark is not None and ref.dump_date <= watermark:
                self.pipeline.close(
                    state,
                    pending,
                    DumpStatus.SKIPPED_STALE,
                    reason=f"{ref.key} (etag {ref.etag}, {ref.size} bytes) is dated "
                    f"{ref.dump_date}, not after the watermark {watermark}",
                    metric="StaleDumps",
                )
                return
            if self.ctx.objects.archived(ref):
                self.pipeline.close(
                    state,
                    pending,
                    DumpStatus.SKIPPED_DUPLICATE,
                    reason=f"{ref.key} is already archived as {ref.processed_key}",
                    metric="DuplicateDumps",
                )
                return
        sha256: str | None = None
        if settings.require_manifest:
            try:
                manifest = self.ctx.manifests.fetch(ref)
                other = manifest.other_upload(ref) if manifest is not None else None
                if manifest is not None and other is not None and state.mode == "normal":
                    self._park(
                        state,
                        MANIFEST_REASON,
                        f"waiting for this upload's manifest: {other}",
                        last_error={"stage": "ingest", "message": other, "at": iso(now)},
                    )
                    return
                if manifest is not None:
                    manifest.check(ref)
            except ManifestInvalid as exc:
                self.pipeline.close(
                    state, pending, DumpStatus.REJECTED, reason=str(exc), metric="RejectedDumps"
                )
                return
            if manifest is None and state.mode == "normal":
                self._park(state, MANIFEST_REASON, f"waiting for {ref.manifest_key}")
                return
            if manifest is None:
                log.info(
                    "%s: %s has no manifest %s (expired?): the %s goes on with the object's "
                    "sha256 metadata",
                    ref.key,
                    state.mode,
                    ref.manifest_key,
                    state.mode,
                    extra=dump_fields(state),
                )
            else:
                sha256 = manifest.dump_sha256
        sha256 = sha256 or self.ctx.objects.metadata_sha256(ref, state.source_key)
        self._park(state, LEASE_REASON, "ready", expected_sha256=sha256)

    def _park(
        self,
        state: DumpState,
        reason: str,
        note: str,
        expected_sha256: str | None = None,
        last_error: dict[str, str] | None = None,
        next_look_at: dt.datetime | None = None,
    ) -> None:
        """RECEIVED -> WAITING(reason), or a WAITING dump's reason changed."""
        now = self.ctx.clock()

        def park(current: DumpState) -> DumpState | None:
            if current.status not in _PENDING:
                return None
            if reason == LEASE_REASON and current.reason == GLUE_BUSY_REASON:
                return None  # ready already, and first in line: it waits on Glue's slot
            sha256 = expected_sha256 or current.expected_sha256
            error = last_error or without_deferral(current.last_error)
            same_error = error == current.last_error
            look = iso(next_look_at) if next_look_at else None
            if current.status is DumpStatus.WAITING and current.reason == reason:
                if sha256 == current.expected_sha256 and same_error:
                    return None
                return dataclasses.replace(current, expected_sha256=sha256, last_error=error)
            return with_transition(
                current,
                DumpStatus.WAITING,
                now=now,
                note=note,
                reason=reason,
                expected_sha256=sha256,
                last_error=error,
                next_look_at=look,
            )

        parked = self.store.mutate(state.key, park)
        if parked is not None and reason == MANIFEST_REASON:
            self.ctx.telemetry.count("ManifestWaits")
            log.info("%s waits for its manifest", state.key, extra=dump_fields(state))
