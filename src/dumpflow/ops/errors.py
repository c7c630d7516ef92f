"""Errors the operator commands report as one line, with the exit code they mean."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

EXIT_OK = 0
EXIT_ATTENTION = 1
EXIT_USAGE = 2


class OpsError(Exception):
    """A usage or access problem: the command cannot do its job (exit code 2)."""

    exit_code = EXIT_USAGE


def describe_aws_error(exc: BotoCoreError | ClientError) -> str:
    """One line an operator can act on, instead of a botocore traceback."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "no usable AWS credentials (default chain): run `aws configure` or `aws sso login`, "
            "set AWS_PROFILE, or pass --profile"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region configured: pass --region or set AWS_DEFAULT_REGION"
    if isinstance(exc, ProfileNotFound):
        return f"{exc}: check ~/.aws/config or pass another --profile"
    if isinstance(exc, EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url")
        return f"cannot reach {endpoint}: is the endpoint (or the local stack) running?"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message", "") or str(exc)
        operation = exc.operation_name
        return f"AWS refused {operation}: {code}: {message}"
    return f"AWS call failed: {exc}"


class DumpStepFailed(OpsError):
    """An AWS call failed for one dump: says which dump, which step, why, and what is safe."""

    def __init__(self, key: str, step: str, cause: BotoCoreError | ClientError, after: str = ""):
        self.key = key
        self.step = step
        detail = f" ({after})" if after else ""
        super().__init__(f"{key}: {step} failed: {describe_aws_error(cause)}{detail}")


class Interrupted(Exception):
    """The operator pressed Ctrl-C: ``partial`` is the result up to there (what was done)."""

    def __init__(self, partial: object) -> None:
        super().__init__("interrupted")
        self.partial = partial
