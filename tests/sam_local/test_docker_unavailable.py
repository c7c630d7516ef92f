"""Where Docker cannot run, the scripts say why and exit 3 (the container tests then skip
with that reason, or fail under DUMPFLOW_REQUIRE_DOCKER=1 as in CI)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dumpflow.local.demo_stack import REPO_ROOT

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("command", [["docker-engine", "start"], ["lambda-image", "build"]])
def test_no_engine_and_no_root_is_exit_3_with_the_reason(
    command: list[str], tmp_path: Path
) -> None:
    as_user = NOBODY if os.geteuid() == 0 else []
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    script = str(REPO_ROOT / "scripts" / command[0])
    done = subprocess.run([*as_user, script, command[1]], env=env, capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert "Docker cannot run here: no engine answers and starting dockerd needs root" in (
        done.stderr
    )
