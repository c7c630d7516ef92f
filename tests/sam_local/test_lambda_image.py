"""The stand-in Lambda base image: what it pins, what it runs, and that it is built once."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata

from dumpflow.local.demo_stack import REPO_ROOT
from sam_local.support import python_in

REQUIREMENTS = REPO_ROOT / "scripts" / "lambda-runtime-requirements.txt"
LAMBDA_IMAGE = REPO_ROOT / "scripts" / "lambda-image"
# What the real python3.11 runtime provides and the Lambda zips therefore do not ship.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six")


def pins() -> dict[str, str]:
    text = REQUIREMENTS.read_text(encoding="utf-8")
    found = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, flags=re.MULTILINE))
    requirements = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert len(requirements) == len(found)
    assert text.count("--hash=sha256:") == len(found), "every wheel is hash-pinned"
    return found


def test_the_image_pins_the_sdk_versions_the_project_tests_with() -> None:
    pinned = pins()
    for name in RUNTIME_SDK:
        assert pinned[name] == metadata.version(name), name
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (boto3,) = [d for d in project["project"]["dependencies"] if d.startswith("boto3==")]
    assert boto3 == f"boto3=={pinned['boto3']}"
    assert "awslambdaric" in pinned


def test_the_image_runs_python311_with_those_packages(lambda_image: str) -> None:
    pinned = pins()
    code = (
        "import sys, importlib.metadata as m; print(sys.version_info[:2]); "
        "print(' '.join(m.version(n) for n in sys.argv[1:]))"
    )
    names = [*RUNTIME_SDK, "awslambdaric"]
    out = python_in(lambda_image, f"import sys; sys.argv[1:] = {names!r}; {code}").splitlines()
    assert out[0] == "(3, 11)"
    assert out[1].split() == [pinned[name] for name in names]
    labels = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}} {{.Config.Env}}",
         lambda_image],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert '"dumpflow.stand-in":"lambda-python3.11"' in labels
    assert "LAMBDA_TASK_ROOT=/var/task" in labels
    bootstrap = python_in(lambda_image, "print(open('/var/runtime/bootstrap').read())")
    assert "-m awslambdaric" in bootstrap


def test_a_current_image_is_not_built_again(lambda_image: str) -> None:
    def image_id() -> str:
        return subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", lambda_image],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    before = image_id()
    again = subprocess.run([str(LAMBDA_IMAGE), "build"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "is current" in again.stderr
    assert image_id() == before
    for tag in ("3.11", "3.11-x86_64"):
        tagged = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}",
             f"public.ecr.aws/lambda/python:{tag}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert tagged == before, tag
