"""The Lambda zip (src/Makefile, run by sam build) holds everything the handlers import."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from template.stack import ROOT

# What the Lambda python3.11 runtime ships besides the standard library (boto3 and its deps).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six.py")
SHIPPED_DEPENDENCIES = {"aws_lambda_powertools", "aws_xray_sdk"}
HANDLERS = ("ingest", "glue_state", "ecs_state", "sweeper")
IMPORT_HANDLERS = """
import importlib, sys
sys.path[:0] = sys.argv[1:3]
for name in sys.argv[3:]:
    module = importlib.import_module("dumpflow.handlers." + name)
    assert callable(module.handler), name
    assert module.__file__.startswith(sys.argv[1]), module.__file__
"""


def build_code(artifacts: Path, target: str = "lambda-code") -> Path:
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "src"), target, f"ARTIFACTS_DIR={artifacts}"],
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    return artifacts


def lambda_runtime(root: Path) -> Path:
    """A stand-in for the runtime's own packages: boto3 and its dependencies, nothing else."""
    root.mkdir()
    for name in RUNTIME_PROVIDED:
        module = importlib.util.find_spec(name.removesuffix(".py"))
        assert module is not None and module.origin is not None, name
        origin = Path(module.origin)
        (root / name).symlink_to(origin if name.endswith(".py") else origin.parent)
    return root


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_exists(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_artifact_holds_the_handlers_and_everything_they_import(tmp_path: Path) -> None:
    artifact = build_code(tmp_path / "IngestFunction")
    for handler in HANDLERS:
        assert (artifact / "dumpflow" / "handlers" / f"{handler}.py").is_file(), handler
    for source in (artifact / "dumpflow").rglob("*.py"):
        for name in imports_of(source):
            top = name.split(".", 1)[0]
            if top == "dumpflow":
                parent = name.rsplit(".", 1)[0]
                assert module_exists(artifact, name) or module_exists(artifact, parent), (
                    f"{source.relative_to(artifact)} imports {name}, missing from the zip"
                )
            else:
                runtime = {name.removesuffix(".py") for name in RUNTIME_PROVIDED}
                allowed = sys.stdlib_module_names | runtime | SHIPPED_DEPENDENCIES
                assert top in allowed | {"__future__"}, f"{source.name} imports {name}"


def test_built_function_imports_every_handler_with_only_the_lambda_runtime(tmp_path: Path) -> None:
    artifact = build_code(tmp_path / "EcsStateFunction", "build-EcsStateFunction")
    assert not (artifact / "botocore").exists(), "botocore is the runtime's, not the zip's"
    runtime = lambda_runtime(tmp_path / "runtime")
    # -S: no site-packages, so the project's own install cannot stand in for the zip.
    subprocess.run(
        [sys.executable, "-S", "-I", "-c", IMPORT_HANDLERS, str(artifact), str(runtime), *HANDLERS],
        check=True,
    )


def test_artifact_leaves_out_what_lambda_does_not_run(tmp_path: Path) -> None:
    artifact = build_code(tmp_path / "SweeperFunction")
    shipped = {p.name for p in (artifact / "dumpflow").iterdir()}
    assert not shipped & {"cli", "local", "loader", "sample", "ops", "db.py"}
    assert not list(artifact.rglob("__pycache__"))


def test_runtime_dependency_pin_matches_the_project(tmp_path: Path) -> None:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    pins = {
        re.split(r"[\[=]", dep, maxsplit=1)[0]: dep.split("==", 1)[1]
        for dep in project["project"]["dependencies"]
    }
    lines = (ROOT / "src" / "requirements.txt").read_text("utf-8").split()
    (powertools,) = [line for line in lines if line.startswith("aws-lambda-powertools")]
    assert powertools.split("==", 1)[1] == pins["aws-lambda-powertools"]
