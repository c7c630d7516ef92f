"""The runner's own deadline: a hung dbt is stopped, reported as timeout, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from dumpflow.db import Dsn

# Runs the real runner's main in a child process whose dbt step never returns (a dbt hung on
# the warehouse); the report goes to a file instead of S3.
_HUNG_RUN = """
import importlib.util, json, sys, threading
spec = importlib.util.spec_from_file_location("dbt_task_runner", sys.argv[1])
runner = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = runner
spec.loader.exec_module(runner)

def hung_dbt(command, config, work_dir):
    threading.Event().wait()

def report_to_file(config, report):
    with open(sys.argv[2], "w") as out:
        json.dump(report, out, default=str)

runner.run_dbt = hung_dbt
runner.write_report = report_to_file
sys.exit(runner.main([]))
"""


def test_a_hung_dbt_is_stopped_at_the_deadline_with_a_timeout_report(
    runner: ModuleType, mariadb_dsn: Dsn, warehouse_suffix: str, tmp_path: Path
) -> None:
    report_path = tmp_path / "report.json"
    env = {
        **os.environ,
        "DBT_TARGET": "local",
        "DBT_HOST": mariadb_dsn.host,
        "DBT_PORT": str(mariadb_dsn.port),
        "DBT_USER": mariadb_dsn.user,
        "DBT_PASSWORD": mariadb_dsn.password,
        "DBT_SCHEMA_SUFFIX": warehouse_suffix,
        "DUMP_DATE": "2026-11-25",
        "DUMP_KEY": "dumps/gghouse_20261125.sql",
        "DBT_TASK_DEADLINE_MINUTES": "0.02",  # 1.2 s
    }
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _HUNG_RUN, runner.__file__, str(report_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - began < 110  # stopped by its own deadline, not by the timeout
    report = json.loads(report_path.read_text())
    assert report["status"] == "timeout"
    assert report["dump_key"] == "dumps/gghouse_20261125.sql"
    assert "timeout" in report["error"] and "DBT_TASK_DEADLINE_MINUTES" in report["error"]


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "soon"])
def test_a_bad_deadline_is_refused_naming_it(runner: ModuleType, raw: str) -> None:
    with pytest.raises(runner.RunRefused, match="DBT_TASK_DEADLINE_MINUTES"):
        runner.RunConfig.from_env({"DUMP_DATE": "2026-11-25", "DBT_TASK_DEADLINE_MINUTES": raw})


def test_the_deadline_is_read_in_minutes(runner: ModuleType) -> None:
    config = runner.RunConfig.from_env(
        {"DUMP_DATE": "2026-11-25", "DBT_TASK_DEADLINE_MINUTES": "60"}
    )
    assert config.deadline_seconds == 3600
    assert runner.RunConfig.from_env({"DUMP_DATE": "2026-11-25"}).deadline_seconds == 0
