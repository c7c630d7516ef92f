"""``pip install .`` into a fresh virtual environment (runtime dependencies only): every
``dumpflow`` command works, against a real moto server and a real MariaDB, and ``demo``
says what to install instead of a traceback."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from dumpflow.control.state import DumpStatus
from dumpflow.db import Dsn
from mariadb_schemas import drop_schemas_containing
from ops.aws_world import REGION, World, aws_env, provision

pytestmark = [pytest.mark.slow, pytest.mark.mariadb]

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("status", "replay", "backfill", "load-dump", "validate-dump", "sample-dump", "demo")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with ``pip install <checkout>`` (not editable, no extras)."""
    root = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    pip = [str(root / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "pip==24.3.1"], check=True, timeout=600)
    subprocess.run([*pip, "install", "--no-compile", str(REPO)], check=True, timeout=900)
    return root


def dumpflow(
    venv: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "dumpflow"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(venv), "COLUMNS": "100", **(env or {})},
        cwd=venv,
        check=False,
    )


def test_only_runtime_dependencies_are_installed(venv: Path) -> None:
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('moto', 'dbt', 'pytest') if u.find_spec(m)]); "
        # PyYAML is a runtime dependency: the quality gate reads its settings with it, and
        # the settings and the dbt column list are installed as package data
        "from dumpflow.loader.quality import load_config, load_dbt_columns; "
        "print(sorted(load_config().tables) == sorted(load_dbt_columns()))"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["[]", "True"]


def test_help_version_and_every_commands_help(venv: Path) -> None:
    for args in (["--help"], ["--version"], *([c, "--help"] for c in COMMANDS)):
        done = dumpflow(venv, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    assert dumpflow(venv, "--version").stdout.strip() == "dumpflow 0.1.0"


def test_demo_names_what_to_install(venv: Path) -> None:
    done = dumpflow(venv, "demo")
    assert done.returncode == 2 and done.stdout == ""
    assert "pip install 'dumpflow[local]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "moto" in done.stderr


def test_the_pinned_rds_bundle_is_installed(venv: Path) -> None:
    probe = (
        "from dumpflow.db import Dsn, TlsMode; "
        "context = Dsn('h', 1, 'u', '', tls=TlsMode.VERIFY_IDENTITY).ssl_context(); "
        "print(context.cert_store_stats()['x509_ca'])"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "115"


@pytest.fixture()
def deployment(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, dict[str, str]]]:
    """A moto server (this process) with the dumpflow resources; the env that points at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        aws_env(monkeypatch)
        world = provision(monkeypatch, endpoint_url=url)
        names = ("DUMPFLOW_TABLE", "DUMPFLOW_BUCKET", "DUMPFLOW_QUEUE_URL", "DUMPFLOW_DLQ_URL")
        env = {name: os.environ[name] for name in names}
        env |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": url}  # fmt: skip
        yield world, env
    finally:
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=30).close()
        server.stop()


def test_status_replay_and_backfill_against_a_deployment(
    venv: Path, deployment: tuple[World, dict[str, str]]
) -> None:
    world, env = deployment
    day = dt.date(2026, 11, 20)
    failed = world.put_dump(day)
    world.record(failed, DumpStatus.FAILED, error="required table movings is empty")
    world.dead_letter(failed, message="required table movings is empty")
    done = dumpflow(venv, "status", "--json", env=env)
    assert done.returncode == 1, done.stderr
    assert [d["key"] for d in json.loads(done.stdout)["dumps"]] == [failed.key]
    done = dumpflow(venv, "replay", env=env)
    assert done.returncode == 1 and "would send" in done.stdout
    done = dumpflow(venv, "replay", "--all", "--yes", env=env)
    assert done.returncode == 0 and "Sent 1" in done.stdout, done.stderr
    done = dumpflow(
        venv, "backfill", "--from", "2026-11-20", "--to", "2026-11-21", "--dry-run", env=env
    )
    assert done.returncode == 1 and "Missing dumps: 2026-11-21" in done.stdout
    done = dumpflow(venv, "status", "--endpoint-url", "notaurl", env=env)
    assert done.returncode == 2 and "--endpoint-url" in done.stderr


def test_sample_validate_and_load_on_mariadb(venv: Path, mariadb_dsn: Dsn, tmp_path: Path) -> None:
    schema = f"staging_fresh_{uuid.uuid4().hex[:8]}"
    dsn = f"mysql://{mariadb_dsn.user}@{mariadb_dsn.host}:{mariadb_dsn.port}"
    try:
        done = dumpflow(venv, "sample-dump", "--date", "2026-11-20", "--out", str(tmp_path),
                        "--scale", "0.01", "--dsn", dsn)  # fmt: skip
        assert done.returncode == 0, done.stderr
        dump = str(tmp_path / "gghouse_20261120.sql")
        done = dumpflow(venv, "validate-dump", dump)
        assert done.returncode == 0, done.stderr
        done = dumpflow(venv, "load-dump", dump, "--schema", schema, "--dsn", dsn, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["totals"]["rows"] > 0
        # the quality gate from the installed package: the same day judged against itself
        done = dumpflow(venv, "validate-dump", dump, "--against-previous", "--schema", schema,
                        "--dsn", dsn, "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["previous_schema"] == schema
    finally:
        drop_schemas_containing(mariadb_dsn, schema)
