"""Queue message bodies: parsing what arrives on the dump queue, building DLQ failure bodies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dumpflow.dumps import MANIFEST_PREFIX, PROCESSED_PREFIX, DumpRef, NotADumpKey, dump_ref

MODES = ("normal", "replay", "backfill")
_MANIFEST_KEY = re.compile(rf"^{re.escape(MANIFEST_PREFIX)}gghouse_(?P<date>\d{{8}})\.json$")


class BadMessage(ValueError):
    """A queue body that can never be processed (not JSON, fields missing or malformed)."""


class KeyKind(StrEnum):
    DUMP = "dump"
    MANIFEST = "manifest"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DumpMessage:
    """One queue message: an object's identity, plus replay fields when the CLI sent it."""

    bucket: str
    key: str
    etag: str
    size: int
    mode: str = "normal"
    attempt: int | None = None
    force: bool = False
    source_key: str | None = None
    version_id: str | None = None

    @property
    def is_replay(self) -> bool:
        return self.mode != "normal"


def _require_str(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadMessage(f"field {name!r} is missing or not a non-empty string")
    return value


def _identity_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The transformed body as documented, or a whole EventBridge S3 'Object Created' event."""
    if payload.get("source") == "aws.s3" and isinstance(payload.get("detail"), dict):
        detail = payload["detail"]
        obj, bucket = detail.get("object") or {}, detail.get("bucket") or {}
        if not isinstance(obj, dict) or not isinstance(bucket, dict):
            raise BadMessage("an S3 event whose detail.object or detail.bucket is not an object")
        return {
            "bucket": bucket.get("name"),
            "key": obj.get("key"),
            "etag": obj.get("etag"),
            "size": obj.get("size"),
            "version_id": obj.get("version-id"),
        }
    return payload


def _version_id(fields: dict[str, Any]) -> str | None:
    """The object version the event announced; none for an unversioned bucket (the input
    transformer then writes an empty string or null)."""
    raw = fields.get("version_id")
    if raw is None or raw == "" or raw == "null":
        return None
    if not isinstance(raw, str):
        raise BadMessage(f"field 'version_id' is not a string: {raw!r}")
    return raw


def parse_message(body: str) -> DumpMessage:
    """Parse a queue body; raises BadMessage saying what is wrong."""
    try:
        payload = json.loads(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadMessage(f"body is not JSON: {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadMessage(f"body is JSON {type(payload).__name__}, expected an object")
    fields = _identity_fields(payload)
    bucket, key, etag = (_require_str(fields, n) for n in ("bucket", "key", "etag"))
    raw_size = fields.get("size")
    try:
        if isinstance(raw_size, bool) or not isinstance(raw_size, int | str):
            raise TypeError(type(raw_size).__name__)
        size = int(raw_size)
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"field 'size' is missing or not a number: {raw_size!r}") from exc
    if size < 0:
        raise BadMessage(f"field 'size' is negative: {size}")
    mode = payload.get("mode", "normal")
    if mode not in MODES:
        raise BadMessage(f"field 'mode' is {mode!r}, expected one of {', '.join(MODES)}")
    attempt = payload.get("attempt")
    if mode != "normal" and (not isinstance(attempt, int) or isinstance(attempt, bool)):
        raise BadMessage(f"a {mode} message needs an integer 'attempt' (got {attempt!r})")
    source_key = _source_key(payload, mode)
    return DumpMessage(
        bucket=bucket,
        key=key,
        etag=etag,
        size=size,
        mode=mode,
        attempt=attempt if mode != "normal" else None,
        force=payload.get("force") is True,
        source_key=source_key,
        version_id=_version_id(fields),
    )


def _source_key(payload: dict[str, Any], mode: str) -> str | None:
    """The archived copy a replay/backfill reads when the dump prefix's object expired."""
    if "source_key" not in payload:
        return None
    source_key = _require_str(payload, "source_key")
    if mode == "normal":
        raise BadMessage("field 'source_key' is only allowed in a replay or backfill message")
    if not source_key.startswith(PROCESSED_PREFIX):
        raise BadMessage(f"field 'source_key' is {source_key!r}, expected a {PROCESSED_PREFIX} key")
    return source_key


def classify_key(key: str, pattern: str) -> KeyKind:
    if _MANIFEST_KEY.match(key):
        return KeyKind.MANIFEST
    return KeyKind.DUMP if re.match(pattern, key) else KeyKind.OTHER


def manifest_date(key: str) -> dt.date:
    """The business date of a manifest key (``dumps-manifest/gghouse_YYYYMMDD.json``)."""
    match = _MANIFEST_KEY.match(key)
    if not match:
        raise NotADumpKey(f"{key!r} is not a manifest key")
    try:
        return dt.datetime.strptime(match.group("date"), "%Y%m%d").date()
    except ValueError as exc:
        raise NotADumpKey(f"{key!r} carries an impossible date") from exc


def message_ref(message: DumpMessage, pattern: str) -> DumpRef:
    return dump_ref(message.bucket, message.key, message.etag, message.size, pattern)


def key_tag(key: str) -> str:
    """Eight hex digits of the key's SHA-256 for FIFO deduplication ids: two keys of one date
    (``.sql`` and ``.sql.gz``) must never share an id, or SQS would drop the second message."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def dump_body(ref: DumpRef) -> dict[str, str]:
    """The queue body of a dump, exactly as the EventBridge input transformer writes it."""
    return {"bucket": ref.bucket, "key": ref.key, "etag": ref.etag, "size": str(ref.size)}


def failure_body(
    ref: DumpRef,
    *,
    stage: str,
    status: str,
    message: str,
    at: dt.datetime,
    glue_run_id: str | None = None,
    ecs_task_arn: str | None = None,
    source_key: str | None = None,
    version_id: str | None = None,
) -> str:
    """The DLQ body: the dump's queue body plus the failure context (and where the run read
    the bytes, so a replay reads the same place)."""
    failure: dict[str, Any] = {"stage": stage, "status": status, "message": message}
    if glue_run_id:
        failure["glue_run_id"] = glue_run_id
    if ecs_task_arn:
        failure["ecs_task_arn"] = ecs_task_arn
    if source_key:
        failure["source_key"] = source_key
    failure["at"] = at.astimezone(dt.UTC).isoformat(timespec="seconds")
    body: dict[str, Any] = {**dump_body(ref), "failure": failure}
    if version_id:
        body["version_id"] = version_id
    return json.dumps(body, ensure_ascii=False)
