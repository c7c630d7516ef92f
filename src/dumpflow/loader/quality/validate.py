"""``dumpflow validate-dump --against-previous``: the gate on a dump file, nothing published.

The file is loaded by the real loader into a private shadow on the server, judged against
the published schema named (the load it would follow), and the shadow is dropped: the
published schema is only read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dumpflow.db import Dsn
from dumpflow.dumps import DEFAULT_KEY_PATTERN, NotADumpKey, parse_dump_date
from dumpflow.loader.errors import LoadError
from dumpflow.loader.load import load_dump
from dumpflow.loader.quality.config import QualityConfigError, load_config
from dumpflow.loader.quality.result import GateResult
from dumpflow.loader.quality.step import QualityOptions, QualityRejected, QualityStep
from dumpflow.loader.report import LoadReport
from dumpflow.loader.source import dump_label_for

PRIVATE_PREFIX = "dumpflow_validate_"


@dataclass(frozen=True, slots=True)
class GateRequest:
    """``previous_schema`` None: no previous load (first load, or not asked)."""

    previous_schema: str | None
    dsn: str | None = None
    manifest: Path | None = None
    dump_date: str | None = None
    config: Path | None = None


class _Judged(Exception):
    """Stops the load after the gate ran, so nothing is published."""


def _date(label: str, raw: str | None) -> dt.date:
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError as exc:
            raise LoadError(label, "setup", f"--date {raw!r} is not YYYY-MM-DD") from exc
    try:
        return parse_dump_date("dumps/" + label, DEFAULT_KEY_PATTERN)
    except NotADumpKey as exc:
        raise LoadError(
            label, "setup", f"no business date in the name; pass --date ({exc})"
        ) from exc


def _manifest(label: str, source: str, path: Path | None, day: dt.date) -> object:
    """The manifest's ``max_updated_at_by_table`` (None: no manifest found beside the file)."""
    if path is None:
        if source.startswith("s3://"):
            return None
        beside = Path(source).with_name(f"gghouse_{day:%Y%m%d}.json")
        if not beside.exists():
            return None
        path = beside
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LoadError(label, "setup", f"cannot read the manifest {path}: {exc}") from exc
    return document.get("max_updated_at_by_table") if isinstance(document, dict) else None


def gate_dump(source: str, request: GateRequest) -> GateResult:
    """Load ``source`` privately, run the gate, drop it; raises LoadError when it cannot."""
    label = dump_label_for(source)
    day = _date(label, request.dump_date)
    try:
        config = load_config(request.config) if request.config else None
    except QualityConfigError as exc:
        raise LoadError(label, "setup", str(exc)) from exc
    if request.previous_schema is not None and not re.fullmatch(
        r"[A-Za-z0-9_]{1,48}", request.previous_schema
    ):
        raise LoadError(label, "setup", f"--schema {request.previous_schema!r} is not a name")
    step = QualityStep(
        QualityOptions(
            dump_date=day,
            manifest_max_updated_at=_manifest(label, source, request.manifest, day),
            compare_previous=request.previous_schema is not None,
            previous_schema=request.previous_schema,
            config=config,
        )
    )

    def judge(conn: pymysql.connections.Connection, schema: str, report: LoadReport) -> None:
        with contextlib.suppress(QualityRejected):
            step(conn, schema, report)
        raise _Judged

    private = PRIVATE_PREFIX + uuid.uuid4().hex[:12]
    with contextlib.suppress(_Judged):
        load_dump(source, private, Dsn.from_env(request.dsn), before_publish=judge)
    if step.result is None:
        raise LoadError(label, "quality", "the gate did not run")
    return step.result
