"""``dumpflow demo`` as ``make demo`` runs it (a separate process), on isolated schemas: twice
in a row on the same schemas, on MySQL, and stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from dumpflow.db import Dsn
from mariadb_schemas import drop_schemas_containing

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]


def demo(*args: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dumpflow.cli.main", "demo", "--json", "--scale", "0.01",
               "--workdir", str(workdir), *args]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=dict(os.environ), check=False
    )


def assert_every_step_ok(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict[str, Any] = json.loads(done.stdout)
    assert document["ok"] is True and document["failed_step"] is None
    assert document["interrupted"] is False
    assert [(s["number"], s["ok"]) for s in document["steps"]] == [(n, True) for n in range(1, 7)]
    return document


def interrupted_demo(suffix: str, workdir: Path, after: str) -> tuple[int, str]:
    """Run the demo until a line starting with ``after`` appears, then press Ctrl-C."""
    command = [sys.executable, "-m", "dumpflow.cli.main", "demo", "--scale", "0.01",
               "--schema-suffix", suffix, "--workdir", str(workdir)]  # fmt: skip
    lines: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"},
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        deadline = time.monotonic() + 600
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(after) or time.monotonic() > deadline:
                break
        time.sleep(1.5)  # inside the next step: a load or a dbt run (dbt swallows Ctrl-C)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=300)
        lines.append(rest)
    output = "".join(lines)
    assert any(line.startswith(after) for line in lines), output[-3000:]
    return proc.returncode, output


def test_ctrl_c_is_reported_as_interrupted_and_the_next_run_passes_on_the_same_schemas(
    mariadb_dsn: Dsn, tmp_path: Path
) -> None:
    """Ctrl-C after step 2 leaves silver holding day 2, newer than day 1 of the next run on
    the same schemas, which used to fail its step 1; the demo starts from empty schemas."""
    suffix = f"_cli_{uuid.uuid4().hex[:8]}"
    try:
        code, output = interrupted_demo(suffix, tmp_path / "stopped", after="ok step 2")
        done = demo("--schema-suffix", suffix, workdir=tmp_path / "again")
    finally:
        drop_schemas_containing(mariadb_dsn, suffix)
    assert code == 130, output[-3000:]
    flat = output.replace("\n", " ")
    assert "demo interrupted (Ctrl-C)" in flat and "not a failed step" in flat
    assert "demo failed" not in flat
    assert not [line for line in output.splitlines() if line.startswith("FAILED step")]

    document = assert_every_step_ok(done)
    stderr = done.stderr.replace("\n", "")
    assert f"dropped what an earlier run left: staging{suffix}" in stderr
    assert f"silver{suffix}" in stderr
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


def test_demo_on_mysql(mysql_dsn: Dsn, tmp_path: Path) -> None:
    """``make demo DEMO_ARGS="--engine mysql"``: the six steps on the real MySQL."""
    suffix = f"_mysql_{uuid.uuid4().hex[:8]}"
    try:
        done = demo("--engine", "mysql", "--schema-suffix", suffix, workdir=tmp_path)
    finally:
        drop_schemas_containing(mysql_dsn, suffix)
    document = assert_every_step_ok(done)
    assert document["watermark"] == document["dates"][2]
    assert [row["snapshot_date"] for row in document["occupancy"]] == document["dates"]
    assert f"MySQL at {mysql_dsn.redacted()}" in done.stderr.replace("\n", "")
    assert "DBT_TARGET=local_mysql" in done.stderr.replace("\n", "")
