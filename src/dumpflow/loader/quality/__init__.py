"""The load quality gate: is the loaded shadow schema the content its date promises?

Freshness against the business date, agreement with the manifest, progress against the
previous published load and schema drift against what dbt reads (docs/QUALITY_GATE.md).
"""

from dumpflow.loader.quality.config import GateConfig, QualityConfigError, TableRule, load_config
from dumpflow.loader.quality.dbt_columns import DbtColumns, DbtColumnsError, load_dbt_columns
from dumpflow.loader.quality.gate import GateError, run_gate
from dumpflow.loader.quality.result import Check, ColumnChange, GateResult, Verdict
from dumpflow.loader.quality.step import (
    QUALITY_STAGE,
    QualityOptions,
    QualityRejected,
    QualityStep,
    quality_section,
)

__all__ = [
    "QUALITY_STAGE",
    "Check",
    "ColumnChange",
    "DbtColumns",
    "DbtColumnsError",
    "GateConfig",
    "GateError",
    "GateResult",
    "QualityConfigError",
    "QualityOptions",
    "QualityRejected",
    "QualityStep",
    "TableRule",
    "Verdict",
    "load_config",
    "load_dbt_columns",
    "quality_section",
    "run_gate",
]
