"""Moving failed dumps from the DLQ back to the FIFO queue, at most one new run per dump.

Per dump: arm the state (``arm_replay`` hands out the attempt number and refuses while a run
is in flight), send the armed message, and only then delete the DLQ copies. A crash between
the send and the delete leaves a DLQ copy behind; replaying it again arms a newer attempt, and
the ingest handler runs only the attempt that is armed, so the dump still runs once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dumpflow.control.messages import manifest_date
from dumpflow.control.state import DumpState, DumpStatus, ReplayRefused, StateStore
from dumpflow.dumps import NotADumpKey
from dumpflow.ops.dlq import DeadLetter, DeadLetterQueue
from dumpflow.ops.enqueue import MESSAGE_GROUP, Enqueued, Mode, enqueue
from dumpflow.ops.errors import DumpStepFailed, Interrupted, OpsError
from dumpflow.ops.serialize import to_jsonable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    WOULD_SEND = "would send"
    RESOLVED = "already resolved"
    REFUSED = "refused"
    NEEDS_FORCE = "needs --force"
    UNREADABLE = "unreadable"
    NOT_SELECTED = "not selected"


@dataclass(slots=True)
class ReplayItem:
    """One dump found in the DLQ (all its copies) and what replay did with it."""

    letters: list[DeadLetter]
    state: DumpState | None = None
    mode: Mode | None = None
    outcome: Outcome = Outcome.NOT_SELECTED
    reason: str = ""
    enqueued: Enqueued | None = None

    @property
    def first(self) -> DeadLetter:
        return self.letters[0]

    @property
    def key(self) -> str | None:
        return self.first.key

    @property
    def dump_date(self) -> dt.date | None:
        if self.first.manifest_key:
            try:
                return manifest_date(self.first.manifest_key)
            except NotADumpKey:
                return None
        return self.first.dump.dump_date if self.first.dump else None

    @property
    def last_error(self) -> str:
        """The failure the state remembers, else the one the DLQ message carries."""
        error = (self.state and self.state.last_error) or self.first.failure or {}
        stage, message = error.get("stage"), error.get("message")
        if not stage and not message:
            return ""
        return f"{stage or '?'}: {message or ''}".strip()

    @property
    def needs_attention(self) -> bool:
        """Refused, unreadable, or (when only listed) a failed dump still waiting on the DLQ."""
        return self.outcome in (
            Outcome.REFUSED,
            Outcome.NEEDS_FORCE,
            Outcome.UNREADABLE,
            Outcome.WOULD_SEND,
        )


@dataclass(slots=True)
class ReplayResult:
    items: list[ReplayItem] = field(default_factory=list)
    missing_keys: list[str] = field(default_factory=list)
    unread: int = 0

    @property
    def needs_attention(self) -> bool:
        """The exit code's and the JSON's ``needs_attention``: one rule for both."""
        if self.missing_keys or self.unread:
            return True
        return any(i.needs_attention for i in self.items)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome == outcome)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: one entry per dump found in the DLQ."""
        return {
            "dumps": [
                {
                    "key": item.key,
                    "dump_date": to_jsonable(item.dump_date),
                    "status": to_jsonable(item.state.status) if item.state else None,
                    "attempts": item.state.attempts if item.state else None,
                    "mode": item.mode,
                    "outcome": item.outcome.value,
                    "reason": item.reason,
                    "last_error": item.last_error,
                    "dlq_messages": [letter.message_id for letter in item.letters],
                    "enqueued": to_jsonable(item.enqueued),
                    "problem": item.first.problem,
                }
                for item in self.items
            ],
            "missing_keys": self.missing_keys,
            "unread": self.unread,
            "needs_attention": self.needs_attention,
        }


def replay_mode(dump_date: dt.date, watermark: dt.date | None) -> Mode:
    """A dump not newer than the watermark would move current models back: run it as backfill."""
    return "backfill" if watermark is not None and dump_date <= watermark else "replay"


def group_letters(letters: list[DeadLetter]) -> list[ReplayItem]:
    """One item per dump key (copies together), oldest date first; unreadable ones apart."""
    by_key: dict[str, ReplayItem] = {}
    unreadable: list[ReplayItem] = []
    for letter in letters:
        if letter.key is None:
            unreadable.append(
                ReplayItem([letter], outcome=Outcome.UNREADABLE, reason=letter.problem or "")
            )
        elif letter.key in by_key:
            by_key[letter.key].letters.append(letter)
        else:
            by_key[letter.key] = ReplayItem([letter])
    ordered = sorted(by_key.values(), key=lambda i: (i.dump_date or dt.date.min, i.key or ""))
    return ordered + unreadable


def _matches(item: ReplayItem, wanted: Collection[str] | None) -> bool:
    if wanted is None:
        return True
    dump = item.first.dump
    return dump is not None and (dump.key in wanted or dump.name in wanted)


class Replayer:
    """Runs the replay protocol for a selection of DLQ dumps."""

    def __init__(
        self,
        store: StateStore,
        dlq: DeadLetterQueue,
        sqs: SQSClient,
        queue_url: str,
        *,
        force: bool = False,
        note: str = "dumpflow replay",
    ) -> None:
        self.store = store
        self.dlq = dlq
        self.sqs = sqs
        self.queue_url = queue_url
        self.force = force
        self.note = note

    def run(
        self,
        keys: Collection[str] | None,
        *,
        dry_run: bool = False,
    ) -> ReplayResult:
        """``keys`` None means every dump in the DLQ; repeats rounds until nothing new comes."""
        result = ReplayResult()
        seen: set[str] = set()
        sent: dict[str, Enqueued] = {}
        watermark = self.store.watermark()
        again: list[DeadLetter] = []
        items: list[ReplayItem] = []
        try:
            while True:
                received = self.dlq.receive()
                again = [x for x in received if x.message_id in seen]
                items = group_letters([x for x in received if x.message_id not in seen])
                seen.update(x.message_id for i in items for x in i.letters)
                result.items.extend(items)
                for item in items:
                    self._handle(item, keys, watermark, sent, dry_run=dry_run)
                kept = [x for i in items if not _gone(i, dry_run) for x in i.letters]
                self.dlq.release(again + kept)
                progressed = any(_gone(i, dry_run) for i in items)
                again, items = [], []
                if dry_run or not progressed:
                    break
        except KeyboardInterrupt:
            self._release_after_interrupt(again, items, dry_run)
            raise Interrupted(result) from None
        found = {i.key for i in result.items} | {
            i.first.dump.name for i in result.items if i.first.dump
        }
        result.missing_keys = sorted(set(keys or ()) - found)
        result.unread = max(self.dlq.depth().total - self._still_held(result, dry_run), 0)
        return result

    def _handle(
        self,
        item: ReplayItem,
        keys: Collection[str] | None,
        watermark: dt.date | None,
        sent: dict[str, Enqueued],
        *,
        dry_run: bool,
    ) -> None:
        if item.key in sent and not dry_run:
            self._drop_copies(item, sent[item.key])
            return
        self._prepare(item, watermark, selected=_matches(item, keys))
        if not dry_run and item.outcome == Outcome.WOULD_SEND and item.first.manifest_key:
            self._send_manifest(item)
        elif not dry_run and item.outcome == Outcome.WOULD_SEND:
            self._send(item)
        if not dry_run and item.outcome == Outcome.RESOLVED:
            self._drop_resolved(item)
        if item.enqueued and item.key:
            sent[item.key] = item.enqueued

    def _prepare(self, item: ReplayItem, watermark: dt.date | None, *, selected: bool) -> None:
        if item.outcome == Outcome.UNREADABLE or item.key is None or item.dump_date is None:
            if not selected:
                item.outcome = Outcome.NOT_SELECTED
            return
        if item.first.manifest_key:
            item.outcome = Outcome.WOULD_SEND if selected else Outcome.NOT_SELECTED
            item.reason = "a manifest's event: sent again, it wakes the dumps waiting for it"
            return
        item.state = self.store.get(item.key)
        item.mode = replay_mode(item.dump_date, watermark)
        resolution = _resolution(item)
        if not selected:
            item.outcome = Outcome.NOT_SELECTED
        elif resolution and not self.force:
            item.outcome, item.reason = Outcome.RESOLVED, resolution
        elif item.state and item.state.status == DumpStatus.SUCCEEDED and not self.force:
            item.outcome, item.reason = Outcome.NEEDS_FORCE, "already SUCCEEDED"
        else:
            item.outcome = Outcome.WOULD_SEND

    def _send(self, item: ReplayItem) -> None:
        """Arm, send, then delete the DLQ copies; an AWS error names the dump and the step."""
        dump = item.first.dump
        if dump is None or item.mode is None:
            return
        try:
            attempt = self.store.arm_replay(
                dump.key, mode=item.mode, force=self.force, note=self.note
            )
        except ReplayRefused as refused:
            item.outcome, item.reason = Outcome.REFUSED, str(refused)
            return
        except (BotoCoreError, ClientError) as exc:
            raise DumpStepFailed(dump.key, "arming the replay", exc, "nothing sent") from exc
        source_key, letter_etag = item.first.source_key, dump.etag
        if item.state is not None:
            # A new upload may have replaced the failed object since: the state table follows
            # uploads, the DLQ message does not, and the load reads the key's current bytes.
            dump = item.state.ref
            source_key = item.state.source_key or (
                source_key if item.state.etag == letter_etag else None
            )
        try:
            item.enqueued = enqueue(
                self.sqs,
                self.queue_url,
                dump,
                mode=item.mode,
                attempt=attempt,
                force=self.force,
                source_key=source_key,
            )
        except (BotoCoreError, ClientError) as exc:
            after = "the DLQ copy stays; replay again"
            raise DumpStepFailed(dump.key, "sending to the queue", exc, after) from exc
        log.info("replayed %s as %s attempt %d", dump.key, item.mode, attempt)
        try:
            for letter in item.letters:
                self.dlq.delete(letter)
        except (BotoCoreError, ClientError) as exc:
            after = (
                f"sent as attempt {attempt}; the DLQ copy reappears and a second replay "
                "cannot run the dump twice"
            )
            raise DumpStepFailed(dump.key, "deleting the DLQ copy", exc, after) from exc
        item.outcome = Outcome.SENT

    def _send_manifest(self, item: ReplayItem) -> None:
        """A manifest's event back on the queue (its body as it was), then the DLQ copies
        deleted: the ingest wakes the dumps of that date waiting for it."""
        letter = item.first
        key = letter.manifest_key or letter.message_id
        try:
            response = self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=letter.body,
                MessageGroupId=MESSAGE_GROUP,
                MessageDeduplicationId=f"manifest-{letter.message_id}"[:128],
            )
        except (BotoCoreError, ClientError) as exc:
            raise DumpStepFailed(key, "sending to the queue", exc, "the DLQ copy stays") from exc
        try:
            for copy in item.letters:
                self.dlq.delete(copy)
        except (BotoCoreError, ClientError) as exc:
            after = "the DLQ copy reappears; sending a manifest event twice is harmless"
            raise DumpStepFailed(key, "deleting the DLQ copy", exc, after) from exc
        item.outcome = Outcome.SENT
        log.info("sent manifest event %s again as %s", key, response.get("MessageId"))

    def _drop_copies(self, item: ReplayItem, replacement: Enqueued) -> None:
        """Older copies of a dump already back on the queue this run: the queue has it."""
        for letter in item.letters:
            self.dlq.delete(letter)
        item.outcome, item.enqueued = Outcome.SENT, replacement
        item.reason = f"older DLQ copy; sent as attempt {replacement.attempt}"

    def _drop_resolved(self, item: ReplayItem) -> None:
        """The dump succeeded after these failures: their letters are history, not work."""
        key = item.key or item.first.message_id
        try:
            for letter in item.letters:
                self.dlq.delete(letter)
        except (BotoCoreError, ClientError) as exc:
            after = "the DLQ copy reappears; replay again to drop it"
            raise DumpStepFailed(key, "deleting a resolved DLQ copy", exc, after) from exc
        log.info("dropped %d resolved DLQ copies of %s: %s", len(item.letters), key, item.reason)

    def _release_after_interrupt(
        self, again: list[DeadLetter], items: list[ReplayItem], dry_run: bool
    ) -> None:
        """Stopped by the operator: what was not deleted becomes visible again now, so a
        resumed replay finds it at once (a second Ctrl-C leaves it to the hold timeout)."""
        kept = [x for i in items if not _gone(i, dry_run) for x in i.letters]
        try:
            self.dlq.release(again + kept)
        except (BotoCoreError, ClientError):
            log.warning("could not release %d held DLQ message(s)", len(again + kept))

    def _still_held(self, result: ReplayResult, dry_run: bool) -> int:
        return sum(len(i.letters) for i in result.items if not _gone(i, dry_run))


def _gone(item: ReplayItem, dry_run: bool) -> bool:
    """The item's DLQ copies were deleted in this run."""
    return item.outcome == Outcome.SENT or (item.outcome == Outcome.RESOLVED and not dry_run)


def _resolution(item: ReplayItem) -> str:
    """Why the item's letters are stale ("" when they are not): the dump SUCCEEDED with the
    very content that failed, or SUCCEEDED after every failure the letters record (a
    corrected upload ran). A letter about other content, with no failure time to compare
    (SQS redrove it unchanged), is never called resolved."""
    state = item.state
    if state is None or state.status != DumpStatus.SUCCEEDED:
        return ""
    succeeded_at = state.at("succeeded_at")
    for letter in item.letters:
        if letter.dump is not None and letter.dump.etag == state.etag:
            continue
        failed_at = _failure_time(letter.failure)
        if succeeded_at is None or failed_at is None or failed_at >= succeeded_at:
            return ""
    when = f" at {succeeded_at.isoformat(timespec='seconds')}" if succeeded_at else ""
    return f"{state.key} SUCCEEDED{when} (etag {state.etag}) after this failure"


def _failure_time(failure: dict[str, Any] | None) -> dt.datetime | None:
    raw = (failure or {}).get("at")
    if not isinstance(raw, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


OPERATOR_NAME = re.compile(r"^[\w.@+-][\w .@+-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One dump re-run with the quality gate's verdict accepted by an operator."""

    key: str
    operator: str
    mode: Mode
    attempt: int | None
    enqueued: Enqueued | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "operator": self.operator,
            "mode": self.mode,
            "attempt": self.attempt,
            "enqueued": to_jsonable(self.enqueued),
            "reason": self.reason,
        }


def check_operator(raw: str | None) -> str:
    """The operator's name as recorded in the dump's history (untrusted: plain text only)."""
    name = (raw or "").strip()
    if not OPERATOR_NAME.match(name):
        raise OpsError(
            "--operator must name who accepts (letters, digits, space . @ + - _; at most 64)"
            + (f", got {raw!r}" if raw else "")
        )
    return name


def accept_quality(
    store: StateStore,
    sqs: SQSClient,
    queue_url: str,
    key: str,
    operator: str,
    *,
    dry_run: bool = False,
) -> Acceptance:
    """Re-run ``key``, REJECTED by the quality gate, once with the gate's verdict accepted.

    Arms one attempt carrying the acceptance (who, when: kept in the dump's history) and
    sends it to the queue; the load of that attempt publishes even if the gate fails again.
    Raises OpsError when the dump is not a quality rejection, DumpStepFailed on AWS errors.
    """
    operator = check_operator(operator)
    state = store.get(key)
    if state is None:
        raise OpsError(f"{key}: no such dump in the state table")
    stage = (state.last_error or {}).get("stage")
    if state.status is not DumpStatus.REJECTED or stage != "quality":
        raise OpsError(
            f"{key} is {state.status}"
            + (f" ({stage})" if stage else "")
            + ": only a dump REJECTED by the quality gate can have its quality accepted"
        )
    mode = replay_mode(state.dump_date, store.watermark())
    reason = state.reason or "quality"
    if dry_run:
        return Acceptance(key, operator, mode, None, None, reason)
    try:
        attempt = store.arm_replay(
            key, mode=mode, force=False, note=f"rejected for {reason}", accepted_by=operator
        )
    except ReplayRefused as refused:
        raise OpsError(str(refused)) from refused
    except (BotoCoreError, ClientError) as exc:
        raise DumpStepFailed(key, "arming the replay", exc, "nothing sent") from exc
    try:
        sent = enqueue(
            sqs,
            queue_url,
            state.ref,
            mode=mode,
            attempt=attempt,
            force=False,
            source_key=state.source_key,
        )
    except (BotoCoreError, ClientError) as exc:
        after = "armed but not sent; run the same command again"
        raise DumpStepFailed(key, "sending to the queue", exc, after) from exc
    log.info("replayed %s as %s attempt %d, quality accepted by %s", key, mode, attempt, operator)
    return Acceptance(key, operator, mode, attempt, sent, reason)
