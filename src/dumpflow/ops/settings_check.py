"""Checks of the operator's settings before any AWS call: one line naming the bad one.

Every check raises ``SettingError(name, value, expected)`` (exit code 2 at the CLI), where
``name`` is what the operator typed or exported (``--endpoint-url``, ``DUMPFLOW_DLQ_URL``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from dumpflow import config
from dumpflow.config import SettingError, Settings

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PROFILE_NAME = re.compile(r"[^\s\[\]]{1,128}")


def check_url(name: str, value: str, *, path_required: bool = False) -> str:
    """An http(s) URL with a host (and a valid port); ``path_required`` for queue URLs."""
    expected = (
        "must be an SQS queue URL like https://sqs.<region>.amazonaws.com/<account>/<queue>"
        if path_required
        else "must be an http(s) URL with a host, like http://127.0.0.1:5000"
    )
    if value != value.strip() or any(c.isspace() or ord(c) < 32 for c in value):
        raise SettingError(name, value, expected)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise SettingError(name, value, f"{expected} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError(name, value, expected)
    if port == 0 or (path_required and len(parts.path.strip("/").split("/")) != 2):
        raise SettingError(name, value, expected)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingError(name, value, expected)
    return value


def check_pattern(name: str, value: str, pattern: re.Pattern[str], expected: str) -> str:
    if not pattern.fullmatch(value):
        raise SettingError(name, value, expected)
    return value


def check_region(name: str, value: str) -> str:
    return check_pattern(name, value, REGION, "must be an AWS region like ap-northeast-1")


def check_stack_name(name: str, value: str) -> str:
    return check_pattern(
        name, value, STACK_NAME, "must be a CloudFormation stack name (letters, digits, -)"
    )


def check_profile(name: str, value: str) -> str:
    return check_pattern(name, value, PROFILE_NAME, "must be a profile name from ~/.aws/config")


def check_environment(env: Mapping[str, str]) -> None:
    """The AWS variables boto3 reads that would otherwise fail deep inside botocore."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(name):
            check_region(name, env[name])
    if env.get("AWS_PROFILE"):
        check_profile("AWS_PROFILE", env["AWS_PROFILE"])
    for name in ("AWS_MAX_ATTEMPTS", "AWS_METADATA_SERVICE_NUM_ATTEMPTS"):
        raw = env.get(name)
        if raw and not re.fullmatch(r"[0-9]{1,3}", raw.strip()):
            raise SettingError(name, raw, "must be a whole number")
    mode = env.get("AWS_RETRY_MODE")
    if mode and mode not in ("legacy", "standard", "adaptive"):
        raise SettingError("AWS_RETRY_MODE", mode, "must be legacy, standard or adaptive")


def check_settings(settings: Settings) -> Settings:
    """The names and URLs the operator commands use (values already parsed by from_env)."""
    if settings.table:
        check_pattern(config.ENV_TABLE, settings.table, TABLE_NAME, "must be a DynamoDB table name")
    if settings.bucket:
        check_pattern(config.ENV_BUCKET, settings.bucket, BUCKET_NAME, "must be an S3 bucket name")
    for name, url in ((config.ENV_QUEUE_URL, settings.queue_url),
                      (config.ENV_DLQ_URL, settings.dlq_url)):  # fmt: skip
        if url:
            check_url(name, url, path_required=True)
    return settings
