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
import dumpflow.db
from dumpflow.loader import load_dump, validate_dump
for module in (pymysql, dumpflow.db, sys.modules["dumpflow.loader"]):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
print(".".join(str(part) for part in pymysql.VERSION[:3]))
"""


def test_loader_package_imports_with_nothing_but_the_standard_library(tmp_path: Path) -> None:
    package = tmp_path / "loader.zip"
    subprocess.run(
        [str(ROOT / "deploy" / "build_loader.sh"), str(package)],
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    names = zipfile.ZipFile(package).namelist()
    assert {name.split("/", 1)[0] for name in names} == {"dumpflow", "pymysql"}
    assert not [n for n in names if n.startswith(("dumpflow/cli", "dumpflow/local"))]
    # -S: no site-packages, so the project's own install cannot stand in for the zip.
    imported = subprocess.run(
        [sys.executable, "-S", "-I", "-c", IMPORTS_IN_GLUE, str(package)],
        check=True,
        capture_output=True,
        text=True,
    )
    pin = next(
        line.split("==", 1)[1].strip('",')
        for line in (ROOT / "pyproject.toml").read_text("utf-8").splitlines()
        if '"pymysql==' in line
    )
    assert imported.stdout.strip() == pin
