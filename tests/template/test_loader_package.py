"""The loader package Glue gets through --extra-py-files stands on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from template.stack import ROOT

IMPORTS_IN_GLUE = """
import sys
sys.path.insert(0, sys.argv[1])
import pymysql
import yaml
import dumpflow.db
from dumpflow.loader import load_dump, validate_dump
from dumpflow.loader.quality import QualityStep, load_config, load_dbt_columns
gate = sys.modules["dumpflow.loader.quality"]
for module in (pymysql, yaml, dumpflow.db, sys.modules["dumpflow.loader"], gate):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
# the settings and the dbt column list are package data read from inside the zip
assert "rooms" in load_config().tables and "rooms" in load_dbt_columns()
print(".".join(str(part) for part in pymysql.VERSION[:3]), yaml.__version__)
"""


def test_loader_package_imports_with_nothing_but_the_standard_library(tmp_path: Path) -> None:
    package = tmp_path / "loader.zip"
    subprocess.run(
        [str(ROOT / "deploy" / "build_loader.sh"), str(package)],
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    names = zipfile.ZipFile(package).namelist()
    assert {name.split("/", 1)[0] for name in names} == {"dumpflow", "pymysql", "yaml"}
    yaml_files = [n for n in names if n.startswith("yaml/") and not n.endswith("/")]
    assert yaml_files and all(n.endswith(".py") for n in yaml_files)
    assert not [n for n in names if n.startswith(("dumpflow/cli", "dumpflow/local"))]
    # -S: no site-packages, so the project's own install cannot stand in for the zip.
    imported = subprocess.run(
        [sys.executable, "-S", "-I", "-c", IMPORTS_IN_GLUE, str(package)],
        check=True,
        capture_output=True,
        text=True,
    )
    lines = (ROOT / "pyproject.toml").read_text("utf-8").splitlines()
    pins = [
        next(line.split("==", 1)[1].strip('",') for line in lines if f'"{name}==' in line)
        for name in ("pymysql", "PyYAML")
    ]
    assert imported.stdout.split() == pins
