"""What ``dumpflow status`` reports: the pipeline's position, its dumps and what needs a human."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dumpflow.control.state import DumpState, DumpStatus, Lease, StateStore
from dumpflow.ops.dlq import DeadLetterQueue, QueueDepth
from dumpflow.ops.reports import ReportKind, read_report, rows_loaded
from dumpflow.ops.serialize import to_jsonable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ATTENTION_STATUSES = frozenset({DumpStatus.FAILED, DumpStatus.REJECTED})


def current_error(state: DumpState) -> str:
    """The error that explains the dump's status now: a FAILED/REJECTED dump's last error or
    reason, a skipped or waiting dump's reason; nothing for a dump that SUCCEEDED or is
    running (an error of an earlier attempt is history, shown with ``status --key``)."""
    if state.status in ATTENTION_STATUSES:
        error = state.last_error or {}
        if error:
            return f"{error.get('stage', '?')}: {error.get('message', '')}"
        return state.reason or ""
    if state.status in (DumpStatus.SUCCEEDED, DumpStatus.LOADING, DumpStatus.TRANSFORMING):
        return ""
    return state.reason or ""


def armed_attempt(state: DumpState) -> int | None:
    """The attempt a replay or backfill armed and that has not started yet."""
    armed = state.replay_armed_attempt
    return armed if armed is not None and armed > state.attempts else None


@dataclass(frozen=True, slots=True)
class DumpLine:
    """One dump as the status table shows it."""

    state: DumpState
    rows_loaded: int | None


@dataclass(frozen=True, slots=True)
class DumpDetail:
    """One dump in full, with the reports its stages wrote."""

    state: DumpState
    load_report: dict[str, Any] | None
    dbt_report: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    lease: Lease | None
    watermark: dt.date | None
    waiting: int
    dlq: QueueDepth | None
    dumps: list[DumpLine]
    gaps: list[dt.date]
    detail: DumpDetail | None = None
    notes: list[str] = field(default_factory=list)
    whole_pipeline: bool = True
    queue: QueueDepth | None = None

    @property
    def needs_attention(self) -> bool:
        """Shown dumps failed or rejected, or asked-for dumps not found; for the whole
        pipeline also days without a success and letters in the DLQ."""
        failed = any(line.state.status in ATTENTION_STATUSES for line in self.dumps)
        if failed or self.notes:
            return True
        return self.whole_pipeline and (bool(self.gaps) or bool(self.dlq and self.dlq.total))

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "lease": to_jsonable(self.lease),
            "watermark": to_jsonable(self.watermark),
            "waiting": self.waiting,
            "dlq_depth": self.dlq.total if self.dlq else None,
            "queue_depth": to_jsonable(self.queue),
            "gaps": to_jsonable(self.gaps),
            "needs_attention": self.needs_attention,
            "dumps": [
                {
                    **to_jsonable(line.state),
                    "load_seconds": line.state.load_seconds,
                    "transform_seconds": line.state.transform_seconds,
                    "rows_loaded": line.rows_loaded,
                    "current_error": current_error(line.state) or None,
                    "armed_attempt": armed_attempt(line.state),
                }
                for line in self.dumps
            ],
            "detail": to_jsonable(self.detail),
            "notes": self.notes,
        }


def date_gaps(states: list[DumpState]) -> list[dt.date]:
    """Days between the first and the newest dump date without a SUCCEEDED dump. A dump that
    succeeded before newer content of its day was skipped as stale still counts: the day's
    data went through."""
    if not states:
        return []
    first = min(s.dump_date for s in states)
    last = max(s.dump_date for s in states)
    done = {
        s.dump_date
        for s in states
        if s.status == DumpStatus.SUCCEEDED
        or (s.status == DumpStatus.SKIPPED_STALE and "succeeded_at" in s.timestamps)
    }
    span = (last - first).days + 1
    days = (first + dt.timedelta(days=n) for n in range(span))
    return [day for day in days if day not in done]


def _own_report(report: dict[str, Any] | None, state: DumpState) -> dict[str, Any] | None:
    """Reports are per date: keep one only if it is about this dump's key (two uploads of a
    date, e.g. .sql and .sql.gz, share the report path)."""
    if report is None:
        return None
    about = report.get("dump_key")
    return report if about in (None, state.key) else None


def build_status(
    store: StateStore,
    s3: S3Client | None,
    bucket: str,
    dlq: DeadLetterQueue | None,
    *,
    limit: int | None = None,
    on_date: dt.date | None = None,
    key: str | None = None,
    statuses: frozenset[DumpStatus] | None = None,
    since: dt.date | None = None,
    queue: Callable[[], QueueDepth] | None = None,
) -> StatusReport:
    """Assemble the report; ``key`` adds the full detail of one dump (its reports included).

    ``statuses`` and ``since`` (dump dates from that day on) narrow the rows shown; gaps are
    always computed over every dump. ``queue`` reads the main queue's depth."""
    everything = store.list_dumps()
    shown = everything
    notes: list[str] = []
    if key is not None:
        shown = [s for s in everything if s.key == key]
        if not shown:
            notes.append(f"no dump {key} in the state table")
    elif on_date is not None:
        shown = [s for s in everything if s.dump_date == on_date]
        if not shown:
            notes.append(f"no dump dated {on_date.isoformat()} in the state table")
    if statuses is not None:
        shown = [s for s in shown if s.status in statuses]
    if since is not None:
        shown = [s for s in shown if s.dump_date >= since]
    if limit is not None:
        shown = shown[:limit]

    def report(kind: ReportKind, state: DumpState) -> dict[str, Any] | None:
        return read_report(s3, bucket, kind, state.dump_date) if s3 and bucket else None

    loads = [_own_report(report("load", s), s) for s in shown]
    lines = [DumpLine(s, rows_loaded(load)) for s, load in zip(shown, loads, strict=True)]
    detail = None
    if key is not None and shown:
        detail = DumpDetail(shown[0], loads[0], _own_report(report("dbt", shown[0]), shown[0]))
    return StatusReport(
        lease=store.lease(),
        watermark=store.watermark(),
        waiting=len(store.waiting()),
        dlq=dlq.depth() if dlq else None,
        dumps=lines,
        gaps=date_gaps(everything),
        detail=detail,
        notes=notes,
        whole_pipeline=key is None and on_date is None and statuses is None and since is None,
        queue=queue() if queue else None,
    )
