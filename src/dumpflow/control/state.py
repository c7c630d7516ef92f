"""The state store: the only code that reads or writes the DynamoDB state table.

One item per dump key (``pk = dump#<key>``), one pipeline lease (``pk = lease``) and one
watermark (``pk = watermark``). Every change of a dump item is a conditional put on the
version it was read at, so concurrent writers serialise and duplicate or late events
become no-ops instead of double starts.

Every write carries a fresh token of its own (kept in ``write_tokens`` on a dump item, ``run_id`` on
the lease). A write whose response was lost is retried by the SDK and the retry fails its
condition; the store then reads the item back and, when it holds the writer's own token,
counts the write as done instead of as a lost race. Changes that span items (a dump's
ending, the watermark, the lease) are one ``TransactWriteItems``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from dumpflow.dumps import DumpRef

log = logging.getLogger(__name__)

DUMP_PREFIX = "dump#"
LEASE_PK = "lease"
WATERMARK_PK = "watermark"
HISTORY_LIMIT = 20
# Tokens of the latest writes kept on a dump item: a writer whose response was lost finds
# its token even when a few other writes landed on top of it before its retry.
TOKEN_LIMIT = 16
_MAX_WRITE_RACES = 64
# A dump RECEIVED (or WAITING) this long has no live handler: the sweeper evaluates it again
# and replay may take it.
STUCK_AFTER = dt.timedelta(minutes=5)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DumpStatus(StrEnum):
    RECEIVED = "RECEIVED"
    WAITING = "WAITING"
    LOADING = "LOADING"
    TRANSFORMING = "TRANSFORMING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED_DUPLICATE = "SKIPPED_DUPLICATE"
    SKIPPED_STALE = "SKIPPED_STALE"
    REJECTED = "REJECTED"


ACTIVE_STATUSES = frozenset(
    {DumpStatus.RECEIVED, DumpStatus.WAITING, DumpStatus.LOADING, DumpStatus.TRANSFORMING}
)
RUNNING_STATUSES = frozenset({DumpStatus.LOADING, DumpStatus.TRANSFORMING})
TERMINAL_STATUSES = frozenset(set(DumpStatus) - ACTIVE_STATUSES)

_TIMESTAMP_OF = {
    DumpStatus.RECEIVED: "received_at",
    DumpStatus.WAITING: "waiting_at",
    DumpStatus.LOADING: "loading_at",
    DumpStatus.TRANSFORMING: "transforming_at",
    DumpStatus.SUCCEEDED: "succeeded_at",
    DumpStatus.FAILED: "failed_at",
    DumpStatus.SKIPPED_DUPLICATE: "skipped_at",
    DumpStatus.SKIPPED_STALE: "skipped_at",
    DumpStatus.REJECTED: "rejected_at",
}


class ReplayRefused(Exception):
    """A replay or backfill was asked for a dump that must not run again now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def parse_iso(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw)


@dataclass(frozen=True, slots=True)
class Lease:
    """The single pipeline slot: which dump holds it, since when, and until when it is trusted."""

    holder_key: str
    run_id: str
    acquired_at: dt.datetime
    expires_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True, slots=True)
class DumpState:
    """Everything recorded about one dump key."""

    key: str
    bucket: str
    etag: str
    size: int
    dump_date: dt.date
    status: DumpStatus
    stage: str | None = None
    reason: str | None = None
    expected_sha256: str | None = None
    glue_run_id: str | None = None
    ecs_task_arn: str | None = None
    attempts: int = 0
    duplicate_events: int = 0
    mode: str = "normal"
    target_schema: str = "staging"
    timestamps: dict[str, str] = field(default_factory=dict)
    last_error: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    replay_armed_attempt: int | None = None
    start_token: str | None = None
    backfill: bool = False
    source_key: str | None = None
    pending_upload: dict[str, Any] | None = None
    #: An operator's acceptance of the quality gate for one armed attempt:
    #: ``{"by": operator, "at": iso time, "attempt": n}`` (``dumpflow replay --accept-quality``).
    accept_quality: dict[str, Any] | None = None
    version_id: str | None = None
    run_token: str | None = None
    next_look_at: str | None = None
    version: int = 0
    write_tokens: tuple[str, ...] = ()

    @property
    def ref(self) -> DumpRef:
        return DumpRef(self.bucket, self.key, self.etag, self.size, self.dump_date)

    @property
    def read_key(self) -> str:
        """Where the bytes are read: the archived copy a backfill names, else the dump key."""
        return self.source_key or self.key

    def at(self, name: str) -> dt.datetime | None:
        raw = self.timestamps.get(name)
        return parse_iso(raw) if raw else None

    def _between(self, start: str, *ends: str) -> float | None:
        began = self.at(start)
        ended = next((moment for moment in map(self.at, ends) if moment), None)
        if began is None or ended is None or ended < began:
            return None
        return (ended - began).total_seconds()

    @property
    def load_seconds(self) -> float | None:
        """Glue time: LOADING until TRANSFORMING (or until the load failed)."""
        if self.stage == "load":
            return self._between("loading_at", "failed_at")
        return self._between("loading_at", "transforming_at")

    @property
    def transform_seconds(self) -> float | None:
        """dbt time: TRANSFORMING until SUCCEEDED (or until the transform failed)."""
        return self._between("transforming_at", "succeeded_at", "failed_at")


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: turn them into int/float recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _decode(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(_deserializer.deserialize(raw)) for name, raw in item.items()}


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(v) for name, v in values.items() if v is not None}


def _state_from_item(item: dict[str, Any]) -> DumpState:
    raw = _decode(item)
    return DumpState(
        key=raw["key"],
        bucket=raw["bucket"],
        etag=raw["etag"],
        size=int(raw["size"]),
        dump_date=dt.date.fromisoformat(raw["dump_date"]),
        status=DumpStatus(raw["status"]),
        stage=raw.get("stage"),
        reason=raw.get("reason"),
        expected_sha256=raw.get("expected_sha256"),
        glue_run_id=raw.get("glue_run_id"),
        ecs_task_arn=raw.get("ecs_task_arn"),
        attempts=int(raw.get("attempts", 0)),
        duplicate_events=int(raw.get("duplicate_events", 0)),
        mode=raw.get("mode", "normal"),
        target_schema=raw.get("target_schema", "staging"),
        timestamps=dict(raw.get("timestamps", {})),
        last_error=raw.get("last_error"),
        history=list(raw.get("history", [])),
        replay_armed_attempt=raw.get("replay_armed_attempt"),
        start_token=raw.get("start_token"),
        backfill=bool(raw.get("backfill", False)),
        source_key=raw.get("source_key"),
        pending_upload=raw.get("pending_upload"),
        accept_quality=raw.get("accept_quality"),
        version_id=raw.get("version_id"),
        run_token=raw.get("run_token"),
        next_look_at=raw.get("next_look_at"),
        version=int(raw.get("version", 0)),
        write_tokens=tuple(raw.get("write_tokens", [])),
    )


def _item_from_state(state: DumpState) -> dict[str, Any]:
    values = {
        "pk": DUMP_PREFIX + state.key,
        "key": state.key,
        "bucket": state.bucket,
        "etag": state.etag,
        "size": state.size,
        "dump_date": state.dump_date.isoformat(),
        "status": str(state.status),
        "stage": state.stage,
        "reason": state.reason,
        "expected_sha256": state.expected_sha256,
        "glue_run_id": state.glue_run_id,
        "ecs_task_arn": state.ecs_task_arn,
        "attempts": state.attempts,
        "duplicate_events": state.duplicate_events,
        "mode": state.mode,
        "target_schema": state.target_schema,
        "timestamps": state.timestamps,
        "last_error": state.last_error,
        "history": state.history,
        "replay_armed_attempt": state.replay_armed_attempt,
        "start_token": state.start_token,
        "backfill": state.backfill,
        "source_key": state.source_key,
        "pending_upload": state.pending_upload,
        "accept_quality": state.accept_quality,
        "version_id": state.version_id,
        "run_token": state.run_token,
        "next_look_at": state.next_look_at,
        "version": state.version,
        "write_tokens": list(state.write_tokens) or None,
    }
    return _encode(values)


def _lease_from_item(item: dict[str, Any]) -> Lease:
    raw = _decode(item)
    return Lease(
        holder_key=raw["holder_key"],
        run_id=raw["run_id"],
        acquired_at=parse_iso(raw["acquired_at"]),
        expires_at=parse_iso(raw["expires_at"]),
    )


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _transaction_failed(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    return code in ("TransactionCanceledException", "TransactionConflictException")


def new_token() -> str:
    return uuid.uuid4().hex


Mutation = Callable[[DumpState], DumpState | None]


class StateStore:
    """Typed access to the state table; every write is conditional."""

    def __init__(self, table_name: str, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb")
        return self._client

    # ----- reads -------------------------------------------------------------------------

    def get(self, key: str) -> DumpState | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": DUMP_PREFIX + key}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _state_from_item(item) if item else None

    def _scan_dumps(self) -> Iterator[DumpState]:
        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": DUMP_PREFIX}},
        )
        for page in pages:
            for item in page.get("Items", []):
                yield _state_from_item(item)

    def list_dumps(self, limit: int | None = None) -> list[DumpState]:
        """Every dump, newest date first (then key)."""
        dumps = sorted(self._scan_dumps(), key=lambda s: (s.dump_date, s.key), reverse=True)
        return dumps if limit is None else dumps[:limit]

    def _oldest_first(self, *statuses: DumpStatus) -> list[DumpState]:
        found = [s for s in self._scan_dumps() if s.status in statuses]
        return sorted(found, key=lambda s: (s.dump_date, s.key))

    def waiting(self) -> list[DumpState]:
        """Dumps in WAITING, oldest date first."""
        return self._oldest_first(DumpStatus.WAITING)

    def pending(self) -> list[DumpState]:
        """Dumps in RECEIVED or WAITING, oldest date first: what the pump chooses among."""
        return self._oldest_first(DumpStatus.RECEIVED, DumpStatus.WAITING)

    def for_date(self, dump_date: dt.date) -> list[DumpState]:
        return [s for s in self._scan_dumps() if s.dump_date == dump_date]

    def with_run_token(self, token: str) -> DumpState | None:
        return next((s for s in self._scan_dumps() if s.run_token == token), None)

    def with_task(self, task_arn: str) -> DumpState | None:
        return next((s for s in self._scan_dumps() if s.ecs_task_arn == task_arn), None)

    def lease(self) -> Lease | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": LEASE_PK}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _lease_from_item(item) if item else None

    def watermark(self) -> dt.date | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": WATERMARK_PK}}, ConsistentRead=True
        )
        item = response.get("Item")
        return dt.date.fromisoformat(item["dump_date"]["S"]) if item else None

    # ----- dump items --------------------------------------------------------------------

    def create(self, state: DumpState) -> bool:
        """Insert the first item for a key; False when an item already exists (not ours)."""
        token = new_token()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_item_from_state(dataclasses.replace(state, version=1, write_tokens=(token,))),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return self._written_by(state.key, token)
            raise
        return True

    def _written_by(self, key: str, token: str) -> bool:
        """Whether the item holds the write carrying ``token`` (its response was lost)."""
        current = self.get(key)
        if current is not None and token in current.write_tokens:
            log.info("state item %s: a write's response was lost, but the write is ours", key)
            return True
        return False

    def mutate(self, key: str, change: Mutation) -> DumpState | None:
        """Apply ``change`` to the current item and write it back if nobody wrote in between.

        ``change`` returns the new state, or None to leave the item alone (the caller's
        precondition no longer holds). On a lost race it is re-applied to the fresh item.
        Returns the written state, or None when nothing was written.
        """

        def put(current: DumpState, updated: DumpState) -> None:
            self.client.put_item(**self._versioned_put(current, updated))

        return self._write_versioned(key, change, put)

    def _write_versioned(
        self, key: str, change: Mutation, write: Callable[[DumpState, DumpState], None]
    ) -> DumpState | None:
        """The optimistic loop of every item write: read, apply ``change``, stamp a fresh
        version and write token, ``write(current, updated)``. A failed condition whose item
        holds our token was our own write with its response lost (counts as done); any other
        failed condition is a lost race, and ``change`` is applied again to the fresh item."""
        for _ in range(_MAX_WRITE_RACES):
            current = self.get(key)
            if current is None:
                return None
            updated = change(current)
            if updated is None:
                return None
            token = new_token()
            updated = dataclasses.replace(
                updated,
                version=current.version + 1,
                write_tokens=(*current.write_tokens, token)[-TOKEN_LIMIT:],
            )
            try:
                write(current, updated)
            except ClientError as exc:
                if _transaction_failed(exc) or _condition_failed(exc):
                    if self._written_by(key, token):
                        return updated
                    continue
                raise
            return updated
        raise RuntimeError(f"state item {key!r}: gave up after {_MAX_WRITE_RACES} write races")

    def _versioned_put(self, current: DumpState, updated: DumpState) -> dict[str, Any]:
        """The item's put, on condition that nobody wrote since ``current`` was read."""
        return {
            "TableName": self.table_name,
            "Item": _item_from_state(updated),
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": {"N": str(current.version)}},
        }

    def transition(
        self,
        key: str,
        expected: Collection[DumpStatus],
        to: DumpStatus,
        *,
        now: dt.datetime,
        note: str = "",
        when: Callable[[DumpState], bool] | None = None,
        **changes: Any,
    ) -> DumpState | None:
        """Move a dump from one of ``expected`` to ``to``; None when it is elsewhere by now."""

        def change(current: DumpState) -> DumpState | None:
            if current.status not in expected or (when is not None and not when(current)):
                return None
            return with_transition(current, to, now=now, note=note, **changes)

        return self.mutate(key, change)

    def amend(
        self,
        key: str,
        expected: Collection[DumpStatus],
        *,
        when: Callable[[DumpState], bool] | None = None,
        **changes: Any,
    ) -> DumpState | None:
        """Change fields of a dump in one of ``expected`` without moving it."""

        def change(current: DumpState) -> DumpState | None:
            if current.status not in expected or (when is not None and not when(current)):
                return None
            return dataclasses.replace(current, **changes)

        return self.mutate(key, change)

    def count_duplicate(
        self,
        key: str,
        *,
        now: dt.datetime | None = None,
        note: str = "duplicate delivery",
        settled: Collection[DumpStatus] = (),
    ) -> DumpState | None:
        """Count one more delivery of known content. While the dump is in one of ``settled``
        the delivery's own outcome, SKIPPED_DUPLICATE, goes into the history (the dump's
        status stays): an operator sees that the copy arrived and that nothing ran."""

        def count(current: DumpState) -> DumpState:
            counted = dataclasses.replace(current, duplicate_events=current.duplicate_events + 1)
            if current.status not in settled:
                return counted
            return with_note(counted, DumpStatus.SKIPPED_DUPLICATE, now=now or utc_now(), note=note)

        return self.mutate(key, count)

    def arm_replay(
        self,
        key: str,
        *,
        mode: str,
        force: bool,
        note: str,
        accepted_by: str | None = None,
        now: dt.datetime | None = None,
    ) -> int:
        """Allow one more run of ``key``; the replay message must carry the returned attempt.
        A dump stuck RECEIVED/WAITING is accepted too: the message evaluates it again.

        ``accepted_by``: that attempt publishes even if the quality gate fails (recorded with
        the operator and the time in the history and on the item).
        """
        armed: list[int] = []
        moment = now or utc_now()

        def change(current: DumpState) -> DumpState:
            if current.status in ACTIVE_STATUSES and not _stuck(current, moment):
                raise ReplayRefused(f"{key} is {current.status}: it is still being processed")
            if current.status is DumpStatus.SUCCEEDED and not force:
                raise ReplayRefused(f"{key} already SUCCEEDED; force it to run again")
            attempt = max(current.attempts, current.replay_armed_attempt or 0) + 1
            armed[:] = [attempt]
            at = iso(moment)
            accepted = f", quality accepted by {accepted_by}" if accepted_by else ""
            entry = {
                "from": str(current.status),
                "to": str(current.status),
                "at": at,
                "note": f"{mode} armed (attempt {attempt}{accepted}){': ' + note if note else ''}",
            }
            acceptance = current.accept_quality
            if accepted_by:
                acceptance = {"by": accepted_by, "at": at, "attempt": attempt}
            return dataclasses.replace(
                current,
                replay_armed_attempt=attempt,
                accept_quality=acceptance,
                history=[*current.history, entry][-HISTORY_LIMIT:],
            )

        if self.mutate(key, change) is None:
            return 1
        return armed[0]

    # ----- lease -------------------------------------------------------------------------

    def acquire_lease(self, holder_key: str, *, now: dt.datetime, seconds: int) -> Lease | None:
        """Take the free pipeline slot for ``holder_key``; None when someone holds it."""
        lease = Lease(
            holder_key=holder_key,
            run_id=new_token(),
            acquired_at=now,
            expires_at=now + dt.timedelta(seconds=seconds),
        )
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_encode(
                    {
                        "pk": LEASE_PK,
                        "holder_key": lease.holder_key,
                        "run_id": lease.run_id,
                        "acquired_at": iso(lease.acquired_at),
                        "expires_at": iso(lease.expires_at),
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                held = self.lease()
                return lease if held is not None and held.run_id == lease.run_id else None
            raise
        return lease

    def release_lease(self, run_id: str) -> bool:
        """Free the slot if it is still held under ``run_id`` (never someone else's). False
        when it was not held so, which after a lost response means this very call freed it."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": LEASE_PK}},
                ConditionExpression="run_id = :r",
                ExpressionAttributeValues={":r": {"S": run_id}},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def extend_lease(self, run_id: str, expires_at: dt.datetime) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": LEASE_PK}},
                UpdateExpression="SET expires_at = :e",
                ConditionExpression="run_id = :r",
                ExpressionAttributeValues={":r": {"S": run_id}, ":e": {"S": iso(expires_at)}},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # ----- watermark ---------------------------------------------------------------------

    def advance_watermark(self, dump_date: dt.date) -> bool:
        """Move the watermark forward to ``dump_date``; never backwards (False then)."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_encode({"pk": WATERMARK_PK, "dump_date": dump_date.isoformat()}),
                ConditionExpression="attribute_not_exists(pk) OR dump_date < :d",
                ExpressionAttributeValues={":d": {"S": dump_date.isoformat()}},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    # ----- multi-item transitions --------------------------------------------------------

    def commit(
        self,
        key: str,
        change: Mutation,
        *,
        release_lease: bool = False,
        watermark: Callable[[DumpState], dt.date | None] | None = None,
    ) -> DumpState | None:
        """``mutate`` plus, in the same ``TransactWriteItems``, freeing the slot when ``key``
        holds it and moving the watermark to ``watermark(new state)`` when that is later.

        All or nothing: a crash or a concurrent writer never leaves the watermark on a day
        whose item did not reach the new state, nor the slot freed by a dump still running.
        """

        def transact(current: DumpState, updated: DumpState) -> None:
            items: list[dict[str, Any]] = [{"Put": self._versioned_put(current, updated)}]
            lease = self.lease() if release_lease else None
            if lease is not None and lease.holder_key == key:
                items.append(
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": LEASE_PK}},
                            "ConditionExpression": "run_id = :r",
                            "ExpressionAttributeValues": {":r": {"S": lease.run_id}},
                        }
                    }
                )
            target = watermark(updated) if watermark is not None else None
            mark = self.watermark() if target is not None else None
            if target is not None and (mark is None or mark < target):
                items.append(self._watermark_put(target, mark))
            self.client.transact_write_items(TransactItems=items)

        return self._write_versioned(key, change, transact)

    def _watermark_put(self, target: dt.date, read: dt.date | None) -> dict[str, Any]:
        """The watermark moved to ``target`` if it still holds the value read (or none)."""
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _encode({"pk": WATERMARK_PK, "dump_date": target.isoformat()}),
        }
        if read is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "dump_date = :d"
            put["ExpressionAttributeValues"] = {":d": {"S": read.isoformat()}}
        return {"Put": put}


def _stuck(state: DumpState, now: dt.datetime) -> bool:
    """RECEIVED (or WAITING for the slot or a manifest) for STUCK_AFTER: a replay message
    evaluates it again (the handler that should have died, its message may be on the DLQ)."""
    if state.status is DumpStatus.RECEIVED:
        since = state.at("received_at")
    elif state.status is DumpStatus.WAITING:
        since = state.at("waiting_at")
    else:
        return False
    return since is None or now - since >= STUCK_AFTER


def with_transition(
    state: DumpState, to: DumpStatus, *, now: dt.datetime, note: str = "", **changes: Any
) -> DumpState:
    """``state`` moved to ``to`` at ``now``: timestamp and history entry included.

    A move back to RECEIVED starts a new attempt, so the stage timestamps (and the durations
    derived from them) restart; the earlier attempt stays in the history, and ``succeeded_at``
    is kept because the day did succeed once (status reports do not flag it as a gap).
    """
    entry = {"from": str(state.status), "to": str(to), "at": iso(now), "note": note}
    earlier = state.timestamps
    if to == DumpStatus.RECEIVED:
        earlier = {k: v for k, v in state.timestamps.items() if k == "succeeded_at"}
    timestamps = {**earlier, _TIMESTAMP_OF[to]: iso(now)}
    return dataclasses.replace(
        state,
        status=to,
        timestamps=timestamps,
        history=[*state.history, entry][-HISTORY_LIMIT:],
        **changes,
    )


def without_deferral(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A deferred evaluation's error (``retry: sweeper``) is history once an evaluation went
    through: it is not shown as the dump's current error."""
    if error and error.get("retry") == "sweeper":
        return None
    return error


def with_note(state: DumpState, outcome: DumpStatus, *, now: dt.datetime, note: str) -> DumpState:
    """A history entry for something that happened to ``state`` without moving it
    (``to`` is the outcome of that event, e.g. a delivery skipped as a duplicate)."""
    entry = {"from": str(state.status), "to": str(outcome), "at": iso(now), "note": note}
    return dataclasses.replace(state, history=[*state.history, entry][-HISTORY_LIMIT:])


def table_definition(table_name: str) -> dict[str, Any]:
    """``create_table`` arguments for the state table (tests and the local stack)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
