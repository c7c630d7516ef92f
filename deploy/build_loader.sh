#!/usr/bin/env bash
# build_loader.sh OUT.zip: the loader package Glue imports through --extra-py-files. It holds
# the dumpflow modules the loader imports (with the pinned RDS CA bundle, dumpflow/certs and the
# quality gate's settings), the pinned pymysql and the pinned PyYAML's pure-Python part (its
# optional C extension is left out: it would be built for this machine, not for Glue's Python;
# PyYAML falls back to the pure-Python loader by itself), nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="$(realpath -m "${1:?usage: deploy/build_loader.sh OUT.zip}")"
PYTHON="${PYTHON:-python3}"
case "$PYTHON" in */*) PYTHON="$(realpath -s "$PYTHON")" ;; esac
PYMYSQL_PIN="$(grep -o '"pymysql==[^"]*"' pyproject.toml | tr -d '"')"
PYYAML_PIN="$(grep -o '"PyYAML==[^"]*"' pyproject.toml | head -n 1 | tr -d '"')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/dumpflow"
cp src/dumpflow/__init__.py src/dumpflow/dumps.py src/dumpflow/config.py src/dumpflow/db.py \
  "$WORK/dumpflow/"
cp -R src/dumpflow/loader src/dumpflow/certs "$WORK/dumpflow/"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
  --target "$WORK" "$PYMYSQL_PIN" "$PYYAML_PIN"
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
# zipimport cannot load extension modules anyway: keep yaml/*.py only
find "$WORK/yaml" -type f ! -name '*.py' -delete
rm -f "$OUT"
(cd "$WORK" && "$PYTHON" -m zipfile -c "$OUT" dumpflow pymysql yaml)
