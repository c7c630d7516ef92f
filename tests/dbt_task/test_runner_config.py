"""The runner's reading of the task environment and its refusal rules (no database needed)."""

from __future__ import annotations

import datetime as dt
import logging
from types import ModuleType

import pytest


def test_environment_of_the_ecs_task_is_read(runner: ModuleType) -> None:
    config = runner.RunConfig.from_env(
        {
            "DUMP_DATE": "2026-11-25",
            "DUMP_KEY": "dumps/gghouse_20261125.sql.gz",
            "DBT_TARGET": "prod",
            "DBT_THREADS": "2",
            "DBT_SOURCE_SCHEMA": "staging_backfill",
            "DBT_BACKFILL": "1",
            "DUMPFLOW_BUCKET": "dumpflow-dev",
            "DBT_HOST": "aurora.example",
            "DBT_PORT": "3307",
            "DBT_USER": "dbt",
            "DBT_PASSWORD": "secret",
            "DBT_LOCK_WAIT_TIMEOUT": "20",
        }
    )
    assert config.dump_date == dt.date(2026, 11, 25)
    assert (config.host, config.port, config.user) == ("aurora.example", 3307, "dbt")
    assert config.dbt_vars == {
        "dump_date": "2026-11-25",
        "backfill": True,
        "lock_wait_timeout_seconds": 20,
        "source_schema": "staging_backfill",
    }
    # cautious: no test of a model the backfill does not rebuild (today's int_contracts)
    assert runner.dbt_commands(config) == [
        [
            "build", "--select", "tag:staging", "tag:daily_snapshot",
            "--indirect-selection", "cautious",
        ]
    ]  # fmt: skip
    assert (config.retry_deadline, config.retry_backoff) == (900.0, 5.0)


def test_a_normal_run_seeds_then_builds_everything(runner: ModuleType) -> None:
    config = runner.RunConfig.from_env({"DUMP_DATE": "2026-11-25"})
    assert config.target == "prod" and config.threads == 2 and not config.backfill
    assert "source_schema" not in config.dbt_vars
    assert config.dbt_vars["lock_wait_timeout_seconds"] == 60
    assert runner.dbt_commands(config) == [["seed"], ["build"]]


@pytest.mark.parametrize("raw", ["", "20261125", "2026-02-30"])
def test_a_bad_dump_date_is_refused_naming_the_value(runner: ModuleType, raw: str) -> None:
    with pytest.raises(runner.RunRefused, match="DUMP_DATE"):
        runner.RunConfig.from_env({"DUMP_DATE": raw})


def test_only_a_backfill_may_run_a_date_older_than_the_newest_snapshot(
    runner: ModuleType,
) -> None:
    newest = dt.date(2026, 11, 25)
    older = runner.RunConfig.from_env({"DUMP_DATE": "2026-11-24"})
    with pytest.raises(runner.RunRefused, match="DBT_BACKFILL=1"):
        runner.check_order(older, newest)
    runner.check_order(
        runner.RunConfig.from_env({"DUMP_DATE": "2026-11-24", "DBT_BACKFILL": "1"}), newest
    )
    runner.check_order(runner.RunConfig.from_env({"DUMP_DATE": "2026-11-25"}), newest)
    runner.check_order(older, None)


def test_main_exits_2_without_a_dump_date(
    runner: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DUMP_DATE", raising=False)
    assert runner.main([]) == runner.EXIT_REFUSED


@pytest.mark.parametrize(
    ("status", "ok", "level"),
    [
        ("success", True, logging.INFO),
        ("pass", True, logging.INFO),
        ("warn", True, logging.WARNING),
        ("fail", False, logging.ERROR),
        ("error", False, logging.ERROR),
    ],
)
def test_a_warning_test_is_logged_as_a_warning_and_does_not_count_as_a_failure(
    runner: ModuleType, status: str, ok: bool, level: int
) -> None:
    node = runner.NodeOutcome(
        unique_id="test.dumpflow_warehouse.relationships_stg_tenants_gender_code",
        resource_type="test",
        status=status,
        seconds=0.1,
        message="Got 3 results, configured to warn if != 0" if status == "warn" else None,
        failures=3 if status in ("warn", "fail") else 0,
    )
    assert (node.ok, node.log_level) == (ok, level)


def test_only_lost_lock_waits_are_retried(runner: ModuleType) -> None:
    def node(status: str, message: str | None) -> object:
        return runner.NodeOutcome("model.x.y", "model", status, 1.0, message, None)

    lock = "1205 (HY000): Lock wait timeout exceeded; try restarting transaction"
    step = runner.StepOutcome
    assert step("build", False, [node("error", lock), node("skipped", None)]).lost_a_lock_wait
    assert not step(
        "build", False, [node("error", lock), node("fail", "Got 3 results")]
    ).lost_a_lock_wait
    assert not step("build", False, [node("error", "1292 Incorrect date value")]).lost_a_lock_wait
    assert not step("build", True, [node("success", None)]).lost_a_lock_wait
    assert step("build", False, [], error=f"DbtRuntimeError: {lock}").lost_a_lock_wait
