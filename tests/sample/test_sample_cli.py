"""``dumpflow sample-dump`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.db import Dsn

pytestmark = pytest.mark.mariadb


def test_sample_dump_writes_one_dump_and_manifest_per_day(tmp_path: Path, mariadb_dsn: Dsn) -> None:
    result = CliRunner().invoke(
        app,
        ["sample-dump", "--date", "2026-02-27", "--days", "3", "--scale", "0.01",
         "--gzip", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "gghouse_20260227.json",
        "gghouse_20260227.sql.gz",
        "gghouse_20260228.json",
        "gghouse_20260228.sql.gz",
        "gghouse_20260301.json",
        "gghouse_20260301.sql.gz",
    ]
    manifest = json.loads((tmp_path / "gghouse_20260301.json").read_text())
    assert manifest["dump_key"] == "dumps/gghouse_20260301.sql.gz"


def test_sample_dump_rejects_an_impossible_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sample-dump", "--date", "2026-02-30", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "2026-02-30" in result.output
    assert list(tmp_path.iterdir()) == []


def test_sample_dump_without_a_server_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["sample-dump", "--date", "2026-02-27", "--scale", "0.01", "--out", str(tmp_path),
         "--dsn", "mysql://root@127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "sample-dump" in result.output and "127.0.0.1:1" in result.output
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".sql", ".json")]
