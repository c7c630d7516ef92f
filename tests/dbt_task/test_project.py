"""The dbt project's static promises: prod profile and tags parse, labels live only in seeds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
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


def _model_docs(folder: Path) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for yml in folder.glob("*.yml"):
        for entry in yaml.safe_load(yml.read_text(encoding="utf-8")).get("models") or []:
            entries[entry["name"]] = entry
    return entries


def _grain(entry: dict[str, Any]) -> list[str]:
    """The model's grain columns: a unique_grain test, else the column tested unique."""
    for test in entry.get("tests") or []:
        if isinstance(test, dict) and "unique_grain" in test:
            return list(test["unique_grain"]["columns"])
    return [
        column["name"]
        for column in entry.get("columns") or []
        if "unique" in (column.get("tests") or [])
    ]


def test_every_model_is_documented_beside_it_with_its_grain_unique_and_not_null() -> None:
    models = sorted((PROJECT / "models").rglob("*.sql"))
    assert len(models) == 14
    for sql_file in models:
        entry = _model_docs(sql_file.parent).get(sql_file.stem)
        assert entry is not None, f"{sql_file.stem} has no YAML entry in {sql_file.parent.name}/"
        assert entry.get("description"), f"{sql_file.stem} has no description"
        grain = _grain(entry)
        assert grain, f"{sql_file.stem} has no grain uniqueness test"
        not_null = {
            column["name"]
            for column in entry.get("columns") or []
            for test in column.get("tests") or []
            if test == "not_null" or (isinstance(test, dict) and "not_null" in test)
        }
        assert set(grain) <= not_null, f"{sql_file.stem}: grain {grain} not all not_null"


def test_every_code_column_of_the_tenants_is_checked_against_its_seed_as_a_warning() -> None:
    stg_tenants = _model_docs(PROJECT / "models" / "staging")["stg_tenants"]
    seeds = {}
    for column in stg_tenants["columns"]:
        for test in column.get("tests") or []:
            if isinstance(test, dict) and "relationships" in test:
                # source-data quality: counted in the report, never a failed run
                assert test["relationships"]["config"]["severity"] == "warn", column["name"]
                seeds[column["name"]] = test["relationships"]["to"]
    assert seeds == {
        "current_moving_id": "ref('stg_movings')",
        "status_code": "ref('code_tenant_status')",
        "contract_type_code": "ref('code_contract_type')",
        "moveout_reason_code": "ref('code_moveout_reason')",
        "gender_code": "ref('code_gender')",
        "affiliation_type_code": "ref('code_affiliation_type')",
        "personal_identity_code": "ref('code_personal_identity')",
    }


def test_every_seed_is_documented_with_a_unique_not_null_code() -> None:
    documented = {
        entry["name"]: entry
        for entry in yaml.safe_load((PROJECT / "seeds" / "_seeds.yml").read_text())["seeds"]
    }
    assert set(documented) == {path.stem for path in (PROJECT / "seeds").glob("*.csv")}
    for name, entry in documented.items():
        assert entry.get("description"), f"seed {name} has no description"
        code = next(column for column in entry["columns"] if column["name"] == "code")
        assert {"unique", "not_null"} <= set(code["tests"]), name


def _tests_of(entry: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for test in entry.get("tests") or []:
        found.append((test, {}) if isinstance(test, str) else next(iter(test.items())))
    for column in entry.get("columns") or []:
        for test in column.get("tests") or []:
            found.append((test, {}) if isinstance(test, str) else next(iter(test.items())))
    return found


def test_relationships_are_source_warnings_and_only_on_staging() -> None:
    """A relationships test compares with the source: a warning, and only where the source
    is read (a downstream copy would scan history and fail on an old dump's staging)."""
    for folder in ("staging", "silver", "gold"):
        for name, entry in _model_docs(PROJECT / "models" / folder).items():
            for test, args in _tests_of(entry):
                if test == "relationships":
                    assert folder == "staging", f"{name}: relationships outside staging"
                    assert args["config"]["severity"] == "warn", name


def test_date_partitioned_models_test_only_the_dump_dates_partition() -> None:
    """Flat daily cost: every test of a daily_snapshot model is scoped by __dump_date__."""
    daily = {"tenant_room_snapshot_daily", "tenant_status_daily", "tenant_status_history",
             "occupancy_property_daily", "occupancy_daily"}  # fmt: skip
    seen = set()
    for folder in ("silver", "gold"):
        for name, entry in _model_docs(PROJECT / "models" / folder).items():
            if name not in daily:
                continue
            seen.add(name)
            for test, args in _tests_of(entry):
                where = (args.get("config") or {}).get("where", "")
                assert "__dump_date__" in where, f"{name}: {test} scans every date"
    assert seen == daily
    for singular in (PROJECT / "tests").glob("*.sql"):
        text = singular.read_text(encoding="utf-8")
        if any(f"ref('{model}')" in text for model in daily):
            assert "dump_date" in text, f"{singular.name} is not scoped to the dump date"


def test_occupying_has_one_definition_the_seed() -> None:
    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    assert "occupying_tenant_statuses" not in (project.get("vars") or {})
    with open(PROJECT / "seeds" / "code_tenant_status.csv", encoding="utf-8") as handle:
        active = {
            int(row["code"]) for row in csv.DictReader(handle) if row["is_active_lease"] == "1"
        }
    assert active == {4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15}  # SOURCE_SCHEMA.md's rule
    for sql_file in PROJECT.rglob("*.sql"):
        assert "occupying_tenant_statuses" not in sql_file.read_text(encoding="utf-8")


def test_staging_models_have_a_source_and_a_renamed_cte() -> None:
    for sql_file in sorted((PROJECT / "models" / "staging").glob("*.sql")):
        text = sql_file.read_text(encoding="utf-8")
        assert "source as (" in text and "renamed as (" in text, sql_file.name
        assert text.rstrip().endswith("select * from renamed"), sql_file.name
