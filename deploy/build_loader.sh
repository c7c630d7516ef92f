#!/usr/bin/env bash
# build_loader.sh OUT.zip: the loader package Glue imports through --extra-py-files. It holds
# the dumpflow modules the loader imports (with the pinned RDS CA bundle, dumpflow/certs) and
# the pinned pymysql (pure Python), nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="$(realpath -m "${1:?usage: deploy/build_loader.sh OUT.zip}")"
PYTHON="${PYTHON:-python3}"
case "$PYTHON" in */*) PYTHON="$(realpath -s "$PYTHON")" ;; esac
PYMYSQL_PIN="$(grep -o '"pymysql==[^"]*"' pyproject.toml | tr -d '"')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/dumpflow"
cp src/dumpflow/__init__.py src/dumpflow/dumps.py src/dumpflow/config.py src/dumpflow/db.py \
  "$WORK/dumpflow/"
cp -R src/dumpflow/loader src/dumpflow/certs "$WORK/dumpflow/"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps \
  --target "$WORK" "$PYMYSQL_PIN"
find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
rm -f "$OUT"
(cd "$WORK" && "$PYTHON" -m zipfile -c "$OUT" dumpflow pymysql)
