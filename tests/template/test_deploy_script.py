"""make deploy's script, run against recording stand-ins for aws, docker, git and sam."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from template.stack import ROOT

ACCOUNT = "210987654321"
REVISION = "0123456789ab"

# Each stand-in appends its argv (one JSON list per line) to $CALLS and answers like the tool.
STAND_IN = """
import json, os, pathlib, sys
tool, args = pathlib.Path(sys.argv[0]).name, sys.argv[1:]
with open(os.environ["CALLS"], "a", encoding="utf-8") as calls:
    calls.write(json.dumps([tool, *args]) + "\\n")
head = " ".join([tool, *args[:2]])
if head == "aws sts get-caller-identity":
    print(os.environ["STAND_IN_ACCOUNT"])
elif head == "aws ecr describe-images":
    sys.exit(254)
elif head == "aws s3 cp":
    sys.exit(0 if pathlib.Path(args[-2]).stat().st_size > 0 else 1)
elif head == "git rev-parse --short=12":
    print(os.environ["STAND_IN_REVISION"])
elif head == "git status --porcelain":
    print(os.environ["DIRTY"], end="")
"""


def run_deploy(tmp_path: Path, env_name: str, dirty: str = "") -> tuple[int, list[list[str]]]:
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for tool in ("aws", "docker", "git", "sam"):
        script = stand_ins / tool
        script.write_text(f"#!{sys.executable}\n{STAND_IN}")
        script.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{stand_ins}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "DIRTY": dirty,
        "STAND_IN_ACCOUNT": ACCOUNT,
        "STAND_IN_REVISION": REVISION,
        "PYTHON": sys.executable,
        "SAM": str(stand_ins / "sam"),
    }
    done = subprocess.run([str(ROOT / "deploy" / "deploy.sh"), env_name], env=env, check=False)
    lines = calls.read_text("utf-8").splitlines() if calls.exists() else []
    return done.returncode, [json.loads(line) for line in lines]


@pytest.mark.parametrize("env_name", ["dev", "prod"])
def test_deploy_publishes_image_and_loader_then_deploys_with_their_locations(
    tmp_path: Path, env_name: str
) -> None:
    code, calls = run_deploy(tmp_path, env_name)
    assert code == 0
    config = tomllib.loads((ROOT / "samconfig.toml").read_text("utf-8"))[env_name]
    region = config["deploy"]["parameters"]["region"]
    prefix = config["deploy"]["parameters"]["s3_prefix"]
    bucket = f"dumpflow-artifacts-{ACCOUNT}-{region}"
    image = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/dumpflow-dbt:{REVISION}"
    loader_key = f"{prefix}/loader/dumpflow-loader-{REVISION}.zip"

    docker = [c[1:] for c in calls if c[0] == "docker"]
    assert ["build", "--platform", "linux/amd64", "-t", image, "dbt_task"] in docker
    assert ["push", image] in docker
    uploads = [c for c in calls if c[:3] == ["aws", "s3", "cp"]]
    assert [c[-1] for c in uploads] == [f"s3://{bucket}/{loader_key}"]

    sam = [c[1:] for c in calls if c[0] == "sam"]
    assert [c[0] for c in sam] == ["build", "deploy"]
    deploy = sam[1]
    assert deploy[deploy.index("--config-env") + 1] == env_name
    assert deploy[deploy.index("--s3-bucket") + 1] == bucket
    overrides = dict(
        item.split("=", 1) for item in deploy[deploy.index("--parameter-overrides") + 1].split()
    )
    for item in config["deploy"]["parameters"]["parameter_overrides"]:
        name, value = item.split("=", 1)
        assert overrides[name] == value
    assert overrides["ArtifactBucketName"] == bucket
    assert overrides["LoaderPackageKey"] == loader_key
    assert overrides["DbtImageUri"] == image


def test_deploy_refuses_uncommitted_code_before_publishing_anything(tmp_path: Path) -> None:
    code, calls = run_deploy(tmp_path, "dev", dirty=" M src/dumpflow/control/pipeline.py")
    assert code != 0
    assert not [c for c in calls if c[0] in ("docker", "sam") or c[:3] == ["aws", "s3", "cp"]]


def test_deploy_refuses_an_unknown_environment(tmp_path: Path) -> None:
    code, calls = run_deploy(tmp_path, "staging")
    assert code != 0
    assert not [c for c in calls if c[0] in ("docker", "sam")]
