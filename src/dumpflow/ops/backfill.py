"""Re-running a range of dates: find each date's dump in S3 and enqueue it, oldest first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from dumpflow.config import Settings
from dumpflow.control.state import ACTIVE_STATUSES, DumpState, DumpStatus, ReplayRefused, StateStore
from dumpflow.dumps import PROCESSED_PREFIX, DumpRef, NotADumpKey, normalize_etag, parse_dump_date
from dumpflow.ops.enqueue import Enqueued, enqueue
from dumpflow.ops.errors import DumpStepFailed, Interrupted, OpsError
from dumpflow.ops.serialize import to_jsonable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

MAX_RANGE_DAYS = 3660


class Action(StrEnum):
    ENQUEUED = "enqueued"
    WOULD_ENQUEUE = "would enqueue"
    SKIPPED = "skipped"
    REFUSED = "refused"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class FoundDump:
    """A date's dump: its identity (key under the dump prefix) and where its bytes lie now.

    The dump prefix expires after the retention period; then only the archived copy under
    ``processed/`` is left and ``source_key`` names it.
    """

    ref: DumpRef
    source_key: str

    @property
    def archived(self) -> bool:
        return self.source_key != self.ref.key


@dataclass(slots=True)
class BackfillItem:
    day: dt.date
    found: FoundDump | None
    state: DumpState | None = None
    action: Action = Action.MISSING
    reason: str = ""
    enqueued: Enqueued | None = None


@dataclass(slots=True)
class BackfillResult:
    items: list[BackfillItem] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def missing(self) -> list[dt.date]:
        return [item.day for item in self.items if item.action == Action.MISSING]

    @property
    def needs_attention(self) -> bool:
        return any(item.action in (Action.MISSING, Action.REFUSED) for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: one entry per date of the range."""
        return {
            "dates": [
                {
                    "date": item.day.isoformat(),
                    "key": item.found.ref.key if item.found else None,
                    "source_key": item.found.source_key if item.found else None,
                    "status": to_jsonable(item.state.status) if item.state else None,
                    "action": item.action.value,
                    "reason": item.reason,
                    "enqueued": to_jsonable(item.enqueued),
                }
                for item in self.items
            ],
            "summary": {action.value: self.count(action) for action in Action},
            "missing": to_jsonable(self.missing),
            "needs_attention": self.needs_attention,
        }


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every day from ``start`` to ``end`` inclusive; a reversed or huge range is a usage error."""
    if end < start:
        raise OpsError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise OpsError(f"a range of {days} days is longer than the {MAX_RANGE_DAYS} allowed")
    return [start + dt.timedelta(days=n) for n in range(days)]


def _listed(s3: S3Client, bucket: str, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield obj["Key"], obj["LastModified"]


def _dump_date(key: str, settings: Settings) -> dt.date | None:
    """The date of a dump key or of its archived copy (``processed/<name>``)."""
    as_dump = key
    if key.startswith(PROCESSED_PREFIX):
        as_dump = settings.dump_prefix + key[len(PROCESSED_PREFIX) :]
    try:
        return parse_dump_date(as_dump, settings.key_pattern)
    except NotADumpKey:
        return None


def find_dumps(
    s3: S3Client, settings: Settings, start: dt.date, end: dt.date
) -> dict[dt.date, FoundDump]:
    """For each date in range the dump to use: a fresh upload under the dump prefix wins over
    the archived copy, and among several the newest wins (a corrected upload)."""
    candidates: dict[dt.date, tuple[bool, dt.datetime, str]] = {}
    for prefix, archived in ((settings.dump_prefix, False), (PROCESSED_PREFIX, True)):
        for key, modified in _listed(s3, settings.bucket, prefix):
            day = _dump_date(key, settings)
            if day is None or not start <= day <= end:
                continue
            rank = (not archived, modified, key)
            if day not in candidates or rank > candidates[day]:
                candidates[day] = rank
    found: dict[dt.date, FoundDump] = {}
    for day, (_, _, source_key) in sorted(candidates.items()):
        head = s3.head_object(Bucket=settings.bucket, Key=source_key)
        key = settings.dump_prefix + source_key.rsplit("/", 1)[-1]
        etag, size = normalize_etag(head["ETag"]), int(head["ContentLength"])
        found[day] = FoundDump(DumpRef(settings.bucket, key, etag, size, day), source_key)
    return found


class Backfiller:
    """Plans and enqueues a date range; the state store guards every dump (arm_replay)."""

    def __init__(
        self,
        store: StateStore,
        s3: S3Client,
        sqs: SQSClient,
        settings: Settings,
        *,
        force: bool = False,
        note: str = "dumpflow backfill",
    ) -> None:
        self.store = store
        self.s3 = s3
        self.sqs = sqs
        self.settings = settings
        self.force = force
        self.note = note

    def plan(self, start: dt.date, end: dt.date) -> list[BackfillItem]:
        days = date_range(start, end)
        found = find_dumps(self.s3, self.settings, start, end)
        items = []
        for day in days:
            item = BackfillItem(day, found.get(day))
            if item.found is None:
                item.reason = "no dump in dumps/ or processed/"
            else:
                item.state = self.store.get(item.found.ref.key)
                item.action, item.reason = self._decide(item.state)
                if item.found.archived:
                    item.reason += f"; only {item.found.source_key} is left"
                if item.state and item.found.archived:
                    item.found = self._as_recorded(item.found, item.state)
            items.append(item)
        return items

    def run(
        self,
        items: list[BackfillItem],
        *,
        on_item: Callable[[BackfillItem], None] | None = None,
    ) -> BackfillResult:
        """Arm and enqueue the planned dumps in date order; stops at the first AWS error.

        Ctrl-C raises Interrupted with the result so far (the dates still "would enqueue"
        were not sent)."""
        try:
            for item in items:
                if item.action == Action.WOULD_ENQUEUE and item.found is not None:
                    self._enqueue(item, item.found)
                if on_item:
                    on_item(item)
        except KeyboardInterrupt:
            raise Interrupted(BackfillResult(items)) from None
        return BackfillResult(items)

    def _decide(self, state: DumpState | None) -> tuple[Action, str]:
        if state is None:
            return Action.WOULD_ENQUEUE, "never ingested"
        if state.status in ACTIVE_STATUSES:
            return Action.REFUSED, f"is {state.status}: still being processed"
        if state.status == DumpStatus.SUCCEEDED and not self.force:
            return Action.SKIPPED, "already SUCCEEDED"
        return Action.WOULD_ENQUEUE, f"was {state.status}"

    @staticmethod
    def _as_recorded(found: FoundDump, state: DumpState) -> FoundDump:
        """An archived copy keeps the identity the state table knows (a copy's ETag differs)."""
        return FoundDump(
            dataclasses.replace(found.ref, etag=state.etag, size=state.size), found.source_key
        )

    def _enqueue(self, item: BackfillItem, found: FoundDump) -> None:
        key = found.ref.key
        try:
            attempt = self.store.arm_replay(key, mode="backfill", force=self.force, note=self.note)
        except ReplayRefused as refused:
            item.action, item.reason = Action.REFUSED, str(refused)
            return
        except (BotoCoreError, ClientError) as exc:
            raise DumpStepFailed(key, "arming the backfill", exc, "nothing sent") from exc
        try:
            item.enqueued = enqueue(
                self.sqs,
                self.settings.queue_url,
                found.ref,
                mode="backfill",
                attempt=attempt,
                force=self.force,
                source_key=found.source_key,
            )
        except (BotoCoreError, ClientError) as exc:
            after = "nothing sent; run the backfill again from this date"
            raise DumpStepFailed(key, "sending to the queue", exc, after) from exc
        item.action = Action.ENQUEUED
        log.info("backfill enqueued %s attempt %d", key, attempt)
