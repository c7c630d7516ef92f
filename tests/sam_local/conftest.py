"""Docker, the stand-in Lambda image and an offline ``sam build`` for the container tests.

``scripts/lambda-image`` starts (or installs) the Docker engine and builds the image when it is
not current. Only when Docker cannot run on this machine (the script's exit 3: no root, no
engine comes up) are the container tests skipped, with the script's reason; CI sets
``DUMPFLOW_REQUIRE_DOCKER=1`` so that there it is a failure too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dumpflow.db import Dsn
from dumpflow.local.container_endpoint import container_endpoint
from dumpflow.local.demo_stack import REPO_ROOT, DemoLayout, demo_runtime
from dumpflow.local.sam_env import local_env_vars, write_env_vars
from dumpflow.local.sam_invoke import SamLocal, local_environment
from dumpflow.local.sample_world import SampleWorld
from dumpflow.local.samples import SAMPLE_STACK_NAME
from sam_local.support import REGION, ContainerWorld, offline

DOCKER_CANNOT_RUN = 3
REQUIRE_DOCKER = "DUMPFLOW_REQUIRE_DOCKER"
SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
SAM_PYTHON = REPO_ROOT / ".venv-sam" / "bin" / "python"


@pytest.fixture(scope="session")
def lambda_image() -> str:
    """The stand-in image, current (built when it is not)."""
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "lambda-image"), "build"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == DOCKER_CANNOT_RUN:
        reason = f"Docker cannot run here: {done.stderr.strip().splitlines()[-1]}"
        if os.environ.get(REQUIRE_DOCKER) == "1":
            pytest.fail(f"{reason} (and {REQUIRE_DOCKER}=1)")
        pytest.skip(reason)
    assert done.returncode == 0, f"scripts/lambda-image failed:\n{done.stderr}"
    return "public.ecr.aws/lambda/python:3.11"


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make sam-build`` into a scratch directory with no network (the wheel cache warmed
    first, as a first ``make sam-build`` does): the built template."""
    assert SAM.exists(), "no SAM CLI in .venv-sam: run make sam-install"
    subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "src"), "lambda-wheels", f"PYTHON={SAM_PYTHON}"],
        check=True,
    )
    build_dir = tmp_path_factory.mktemp("sam-build") / "build"
    done = subprocess.run(
        offline(["make", "-s", "-C", str(REPO_ROOT), "sam-build", f"SAM_BUILD_DIR={build_dir}"]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"offline make sam-build failed:\n{done.stdout}\n{done.stderr}"
    return build_dir / "template.yaml"


@pytest.fixture()
def container_world(
    lambda_image: str, sam_build: Path, mariadb_dsn: Dsn, tmp_path: Path
) -> Iterator[ContainerWorld]:
    """A fresh ``dumpflow-dev`` local stack, its env-vars file, and SAM pointed at both."""
    with (
        demo_runtime(DemoLayout(stack_name=SAMPLE_STACK_NAME), mariadb_dsn) as runtime,
        container_endpoint(REGION) as for_containers,
    ):
        env_vars = write_env_vars(
            tmp_path / "env.json", local_env_vars(runtime.stack, for_containers.url)
        )
        sam = SamLocal(SAM, sam_build, env_vars, REGION, local_environment(REGION))
        yield ContainerWorld(SampleWorld(runtime), sam)
