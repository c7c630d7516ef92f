"""A load the quality gate refused: read from the run's own load report, never guessed.

The Glue job writes ``reports/load/<date>.json`` before it fails; when that report is of the
same run (``glue_run_id``) and says ``status: REJECTED`` with ``error.stage = "quality"``,
the dump's content was judged, not the run broken: the dump ends REJECTED (no retry, no DLQ).
Anything else (no report, another run's, unreadable) leaves the ordinary failure path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from dumpflow.control.state import DumpState

log = logging.getLogger(__name__)

QUALITY_REASON = "quality"
LOAD_REPORT_PREFIX = "reports/load/"
_MAX_REPORT_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class QualityRejection:
    """What the dump's REJECTED reason and last error record."""

    summary: str
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return f"{QUALITY_REASON}: {self.summary}"


def _failed_checks(quality: object) -> list[dict[str, Any]]:
    checks = quality.get("checks") if isinstance(quality, dict) else None
    failed = []
    for check in checks if isinstance(checks, list) else []:
        if isinstance(check, dict) and check.get("verdict") == "fail":
            failed.append(
                {name: check.get(name) for name in ("check", "table", "value", "limit", "message")}
            )
    return failed


def quality_rejection(s3: Any, state: DumpState, run_id: str) -> QualityRejection | None:
    """The gate's refusal of run ``run_id`` of ``state``, or None when it was not one."""
    key = f"{LOAD_REPORT_PREFIX}{state.dump_date.isoformat()}.json"
    try:
        body = s3.get_object(Bucket=state.bucket, Key=key)["Body"].read(_MAX_REPORT_BYTES + 1)
        report = json.loads(body) if len(body) <= _MAX_REPORT_BYTES else None
    except Exception as exc:  # any trouble reading it: the ordinary failure path
        log.warning(
            "%s: load report %s unreadable (%s): not a quality rejection", state.key, key, exc
        )
        return None
    if not isinstance(report, dict) or report.get("glue_run_id") != run_id:
        return None
    error = report.get("error")
    if report.get("status") != "REJECTED" or not isinstance(error, dict):
        return None
    if error.get("stage") != QUALITY_REASON:
        return None
    quality = report.get("quality")
    summary = quality.get("summary") if isinstance(quality, dict) else None
    summary = summary or error.get("summary") or error.get("cause") or "failed checks"
    return QualityRejection(str(summary)[:500], _failed_checks(quality))
