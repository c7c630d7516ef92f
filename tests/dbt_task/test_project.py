"""The dbt project's static promises: prod profile and tags parse, labels live only in seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner

PROJECT = Path(__file__).resolve().parents[2] / "dbt_task"


def _ls(tmp_path: Path, *select: str) -> list[str]:
    result = dbtRunner().invoke(
        ["ls", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target", "prod", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), "--resource-type", "model",
         "--output", "name", "--vars", json.dumps({"dump_date": "2026-11-25"}),
         "--no-version-check", "--no-send-anonymous-usage-stats", "--quiet",
         "--select", *select]
    )  # fmt: skip
    assert result.success, result.exception
    assert isinstance(result.result, list)
    return sorted(result.result)


def test_prod_profile_parses_and_backfill_selects_the_date_partitioned_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "DBT_HOST": "aurora.invalid",
        "DBT_USER": "dbt",
        "DBT_PASSWORD": "x",
    }.items():
        monkeypatch.setenv(name, value)
    assert _ls(tmp_path, "tag:daily_snapshot") == [
        "occupancy_daily",
        "occupancy_property_daily",
        "tenant_room_snapshot_daily",
        "tenant_status_daily",
        "tenant_status_history",
    ]
    assert _ls(tmp_path, "tag:staging") == [
        "stg_apartments", "stg_inquiries", "stg_movings", "stg_rooms", "stg_tenants",
    ]  # fmt: skip


def _labels() -> set[str]:
    labels = set()
    for seed in (PROJECT / "seeds").glob("*.csv"):
        with open(seed, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                labels.update(v for k, v in row.items() if k.startswith("label_") and v)
    return labels


def test_no_label_is_spelled_out_in_sql() -> None:
    labels = _labels()
    assert "居住中" in labels and "Moved Out" in labels
    for sql_file in PROJECT.rglob("*.sql"):
        if "target" in sql_file.parts or "dbt_packages" in sql_file.parts:
            continue
        text = sql_file.read_text(encoding="utf-8")
        spelled = sorted(label for label in labels if f"'{label}'" in text)
        assert spelled == [], f"{sql_file.relative_to(PROJECT)} spells out labels {spelled}"


def test_dockerfile_runs_the_runner_as_a_non_root_user_with_pinned_versions() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "FROM python:3.11." in dockerfile and "-slim" in dockerfile
    assert "\nUSER dbt\n" in dockerfile
    requirements = [
        line for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]  # fmt: skip
    assert all("==" in line for line in requirements)
    assert {"dbt-core==1.7.19", "dbt-mysql==1.7.0"} <= set(requirements)
