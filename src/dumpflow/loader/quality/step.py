"""The gate as the loader's ``before_publish`` step: judge the shadow, then publish or refuse.

The loader knows nothing of the gate; it calls one step with its admin connection after the
rows are in and before the RENAME. This module turns a gate verdict into that step's outcome:
the ``quality`` section of the report, and a ``QualityRejected`` (stage ``quality``) when a
check failed and no operator accepted it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from dumpflow.loader.errors import LoadError
from dumpflow.loader.publish import shadow_name
from dumpflow.loader.quality.config import GateConfig, QualityConfigError, load_config
from dumpflow.loader.quality.dbt_columns import DbtColumns, DbtColumnsError, load_dbt_columns
from dumpflow.loader.quality.facts import DbConnection
from dumpflow.loader.quality.gate import GateError, run_gate
from dumpflow.loader.quality.result import GateResult
from dumpflow.loader.report import LoadReport

log = logging.getLogger(__name__)

QUALITY_STAGE = "quality"


class QualityRejected(LoadError):
    """The gate failed the dump: nothing was published (the shadow is dropped).

    A verdict on the dump's content, not a failed run: retrying the same bytes fails the same
    way. ``result`` is the gate's table, ``report`` the load as far as it went.
    """

    def __init__(self, dump: str, result: GateResult, report: LoadReport) -> None:
        failed = "; ".join(check.message for check in result.failures)
        super().__init__(dump, QUALITY_STAGE, f"{result.summary()} -- {failed}")
        self.result = result
        self.report = report

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "summary": self.result.summary()}


@dataclass(frozen=True, slots=True)
class QualityOptions:
    """What one load's gate needs besides the schemas.

    ``compare_previous`` False (a backfill): the published schema is not the load this dump
    follows, so only freshness, the manifest and the dbt columns are judged.
    ``accepted_by``: an operator accepted this one dump's quality; a failed gate then
    publishes anyway, and the report says who accepted which failures.
    ``previous_schema``: judge against this schema instead of the load's target
    (``dumpflow validate-dump --against-previous``: a private load, a real predecessor).
    """

    dump_date: dt.date
    manifest_max_updated_at: object = None
    compare_previous: bool = True
    accepted_by: str | None = None
    previous_schema: str | None = None
    config: GateConfig | None = None
    dbt_columns: DbtColumns | None = None


def quality_section(result: GateResult, accepted_by: str | None) -> dict[str, Any]:
    """The report's ``quality``: the gate's table plus the override, when one applied."""
    section = result.to_dict()
    section["accepted_by"] = accepted_by if accepted_by and not result.passed else None
    return section


class QualityStep:
    """``before_publish`` for ``load_dump``: runs the gate on the shadow of ``schema``."""

    def __init__(self, options: QualityOptions) -> None:
        self.options = options
        self.result: GateResult | None = None

    def __call__(self, conn: DbConnection, schema: str, report: LoadReport) -> None:
        opts = self.options
        try:
            config = opts.config or load_config()
            columns = opts.dbt_columns if opts.dbt_columns is not None else load_dbt_columns()
        except (QualityConfigError, DbtColumnsError) as exc:
            raise LoadError(report.dump, "setup", f"quality gate settings: {exc}") from exc
        try:
            result = run_gate(
                conn,
                shadow_schema=shadow_name(schema),
                published_schema=(opts.previous_schema or schema)
                if opts.compare_previous
                else None,
                dump_date=opts.dump_date,
                manifest_max_updated_at=opts.manifest_max_updated_at,
                config=config,
                dbt_columns=columns,
            )
        except GateError as exc:
            raise LoadError(report.dump, "execute", str(exc)) from exc
        self.result = result
        report.quality = quality_section(result, opts.accepted_by)
        if result.passed:
            return
        if opts.accepted_by:
            log.warning(
                "%s: quality gate failed (%s), accepted by %s: publishing",
                report.dump,
                result.summary(),
                opts.accepted_by,
            )
            return
        raise QualityRejected(report.dump, result, report)
