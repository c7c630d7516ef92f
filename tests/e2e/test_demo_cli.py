"""``dumpflow demo --json`` as ``make demo`` runs it (a separate process), on isolated schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from mariadb_schemas import drop_schemas_containing

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]


def test_demo_json_reports_every_step_and_exits_0(mariadb_dsn: Dsn, tmp_path: Path) -> None:
    suffix = f"_cli_{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable, "-m", "dumpflow.cli.main", "demo", "--json", "--scale", "0.01",
        "--schema-suffix", suffix, "--workdir", str(tmp_path),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=600, env=dict(os.environ), check=False
        )
    finally:
        drop_schemas_containing(mariadb_dsn, suffix)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    assert document["ok"] is True and document["failed_step"] is None
    assert [(s["number"], s["ok"]) for s in document["steps"]] == [(n, True) for n in range(1, 6)]
    dates = document["dates"]
    assert document["watermark"] == dates[2]
    assert [letter["key"] for letter in document["dlq_before_replay"]] == [
        f"dumps/gghouse_{dates[2].replace('-', '')}.sql"
    ]
    assert [r["outcome"] for r in document["replay"]] == ["already resolved"]
    assert document["dlq_after_replay"] == []
    assert [row["snapshot_date"] for row in document["occupancy"]] == dates
    statuses = sorted((d["key"], d["status"]) for d in document["dumps"])
    day1 = dates[0].replace("-", "")
    assert (f"dumps/gghouse_{day1}.sql", "SKIPPED_STALE") in statuses
    assert [s for _, s in statuses].count("SUCCEEDED") == 2
    log = Path(document["log_file"]).read_text()
    assert f"logs: {document['log_file']}" in done.stderr.replace("\n", "")
    assert '"function_name":"dumpflow-demo-ingest"' in log
    assert "ended FAILED" in log
