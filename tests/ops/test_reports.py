"""What status shows of the reports the Glue job and the dbt task write (their real shapes)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

from dumpflow.loader import LoadError
from dumpflow.loader.report import LoadReport, TableStats
from dumpflow.ops.reports import dbt_facts, load_facts, rows_loaded

RUNNER_PATH = Path(__file__).resolve().parents[2] / "dbt_task" / "runner.py"


def dbt_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ops_dbt_task_runner", RUNNER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_load_report_shows_rows_per_table_and_the_total() -> None:
    report = LoadReport(
        source="s3://b/dumps/gghouse_20261120.sql",
        dump="gghouse_20261120.sql",
        schema="staging",
        previous_schema="staging__previous",
        sha256="0" * 64,
        gzip=False,
        stored_bytes=10,
        sql_bytes=10,
        statements=3,
        seconds=41.5,
        workers=2,
        tables={"movings": TableStats(rows=17000), "tenants": TableStats(rows=12000)},
    )
    body = {"status": "SUCCEEDED", **report.to_dict()}
    facts = dict(load_facts(body))
    assert rows_loaded(body) == 29000
    assert facts["rows"] == "29,000"
    assert facts["tables"] == "movings=17,000, tenants=12,000"
    assert (facts["status"], facts["schema"]) == ("SUCCEEDED", "staging")


def test_a_failed_load_report_shows_its_error_and_no_rows() -> None:
    error = LoadError("dumps/gghouse_20261120.sql", "validate", "required table tenants is empty")
    body = {"dump_key": "dumps/gghouse_20261120.sql", "status": "FAILED", "error": error.to_dict()}
    assert rows_loaded(body) is None
    assert dict(load_facts(body)) == {"status": "FAILED", "error": str(error)}


def test_a_dbt_summary_shows_counts_and_the_failing_nodes() -> None:
    runner = dbt_runner()
    config = runner.RunConfig(dump_date=dt.date(2026, 11, 20), backfill=True)
    step = runner.StepOutcome(
        command="build",
        success=False,
        nodes=[
            runner.NodeOutcome("model.dumpflow.stg_tenants", "model", "success", 0.4, None, None),
            runner.NodeOutcome(
                "test.dumpflow.unique_rooms_id", "test", "fail", 0.1, "Got 3 results", 3
            ),
        ],
    )
    summary = runner._report(config, "FAILED", time.monotonic(), [step], "1 test failed")
    facts = dbt_facts(summary)
    assert ("nodes", "fail=1, success=1") in facts
    assert ("fail", "test.dumpflow.unique_rooms_id: Got 3 results") in facts
    assert ("backfill", "True") in facts and ("error", "1 test failed") in facts
