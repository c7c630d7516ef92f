#!/usr/bin/env bash
# make deploy ENV=dev|prod: publish the dbt image and the Glue loader package, then
# sam build && sam deploy --config-env ENV with the published locations added to the
# parameters samconfig.toml holds. Needs AWS credentials, docker and the bootstrap of
# docs/deploy.md (artifact bucket, ECR repository, SSM parameters, Aurora secret).
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_NAME="${1:?usage: deploy/deploy.sh dev|prod}"
SAM="$(realpath -s "${SAM:-.venv-sam/bin/sam}")"
PYTHON="$(realpath -s "${PYTHON:-.venv-sam/bin/python}")"
export PYTHON  # src/Makefile (sam build) and build_loader.sh install with its pip
REPOSITORY="${DBT_REPOSITORY:-dumpflow-dbt}"
export SAM_CLI_TELEMETRY=0

setting() {  # setting <key>: a value of [ENV.deploy.parameters] in samconfig.toml
  "$PYTHON" - "$ENV_NAME" "$1" <<'PY'
import sys, tomllib
env, key = sys.argv[1], sys.argv[2]
with open("samconfig.toml", "rb") as handle:
    section = tomllib.load(handle).get(env, {}).get("deploy", {}).get("parameters", {})
if key not in section:
    sys.exit(f"samconfig.toml has no {key} for environment {env!r}")
value = section[key]
print(" ".join(value) if isinstance(value, list) else value)
PY
}

REGION="$(setting region)"
PREFIX="$(setting s3_prefix)"
OVERRIDES="$(setting parameter_overrides)"
ACCOUNT="$(aws sts get-caller-identity --query Account --output text)"
ARTIFACT_BUCKET="dumpflow-artifacts-${ACCOUNT}-${REGION}"
REGISTRY="${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com"
REVISION="$(git rev-parse --short=12 HEAD)"
if [ -n "$(git status --porcelain -- src glue dbt_task)" ]; then
  echo "refusing to deploy uncommitted changes under src/, glue/ or dbt_task/" >&2
  exit 1
fi

echo "== dbt image ${REPOSITORY}:${REVISION}"
IMAGE="${REGISTRY}/${REPOSITORY}:${REVISION}"
if ! aws ecr describe-images --region "$REGION" --repository-name "$REPOSITORY" \
    --image-ids "imageTag=${REVISION}" >/dev/null 2>&1; then
  aws ecr get-login-password --region "$REGION" \
    | docker login --username AWS --password-stdin "$REGISTRY"
  docker build --platform linux/amd64 -t "$IMAGE" dbt_task
  docker push "$IMAGE"
fi

echo "== loader package for Glue"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
deploy/build_loader.sh "$WORK/loader.zip"
LOADER_KEY="${PREFIX}/loader/dumpflow-loader-${REVISION}.zip"
aws s3 cp --region "$REGION" "$WORK/loader.zip" "s3://${ARTIFACT_BUCKET}/${LOADER_KEY}"

echo "== sam build && sam deploy --config-env ${ENV_NAME}"
"$SAM" build --region "$REGION"
"$SAM" deploy --config-env "$ENV_NAME" --s3-bucket "$ARTIFACT_BUCKET" --parameter-overrides \
  "$OVERRIDES ArtifactBucketName=${ARTIFACT_BUCKET} LoaderPackageKey=${LOADER_KEY} DbtImageUri=${IMAGE}"
