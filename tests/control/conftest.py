"""Fixtures of the control-plane tests: a moto deployment, and dynalite for real atomicity."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws
from moto.moto_api import state_manager

from control.aws_world import World, create_deployment, fake_credentials
from control.faulty_world import faulty_world

REPO = Path(__file__).resolve().parents[2]
DYNALITE = REPO / "node_modules" / ".bin" / "dynalite"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)


@pytest.fixture()
def world(aws_environment: None) -> Iterator[World]:
    with mock_aws():
        yield World(create_deployment())


@pytest.fixture()
def faulty(aws_environment: None) -> Iterator[World]:
    """A deployment whose state table, S3, Glue and ECS clients can be made to misbehave."""
    with faulty_world() as world:
        yield world


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """A dynalite server (in-memory, atomic conditional writes) for this test session."""
    if not DYNALITE.exists() or shutil.which("node") is None:
        pytest.fail(f"dynalite is not installed at {DYNALITE}: run `make install`")
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(DYNALITE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dynalite did not start on port {port}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture()
def glue_runs_stay_running() -> Iterator[None]:
    """Glue runs stay RUNNING (so MaxConcurrentRuns applies) until the test ends them."""
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 10**6})
    yield
    state_manager.unset_transition("glue::job_run")
