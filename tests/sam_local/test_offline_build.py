"""``make sam-build`` reaches no registry once the wheel cache is warm (issue 14).

The build of the ``sam_build`` fixture runs in a network namespace with no network at all; this
module shows that namespace really has none, that a cold cache fails there, and what the
offline build produced.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dumpflow.local.demo_stack import REPO_ROOT
from sam_local.support import offline

FUNCTIONS = ("IngestFunction", "GlueStateFunction", "EcsStateFunction", "SweeperFunction")


def test_the_offline_namespace_has_no_network() -> None:
    probe = "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"
    done = subprocess.run(offline([sys.executable, "-c", probe]), capture_output=True, text=True)
    assert done.returncode != 0
    assert "socket.gaierror" in done.stderr or "OSError" in done.stderr


def test_without_the_cache_the_offline_build_fails(tmp_path: Path) -> None:
    done = subprocess.run(
        offline(["make", "-s", "-C", str(REPO_ROOT / "src"), "lambda-deps",
                 f"ARTIFACTS_DIR={tmp_path / 'artifact'}", f"LAMBDA_WHEELS={tmp_path / 'empty'}",
                 f"PYTHON={sys.executable}"]),
        capture_output=True, text=True, env={**os.environ, "PIP_RETRIES": "0"},
    )  # fmt: skip
    assert done.returncode != 0
    assert "downloading the Lambda wheels" in done.stderr


def test_offline_sam_build_built_every_function(sam_build: Path) -> None:
    build = sam_build.parent
    assert "CodeUri: IngestFunction" in sam_build.read_text(encoding="utf-8")
    for function in FUNCTIONS:
        artifact = build / function
        assert (artifact / "dumpflow" / "handlers" / "ingest.py").is_file(), function
        assert (artifact / "aws_lambda_powertools").is_dir(), function
        assert not (artifact / "botocore").exists(), "the runtime provides botocore"
