"""Starting the load job and asking Glue about its runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from dumpflow.control.errors import RetryLater, StartRejected
from dumpflow.control.state import DumpState

ATTEMPT_ARGUMENT = "--attempt_token"
FINAL_RUN_STATES = frozenset({"SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"})
# Refusals: Glue answered and started nothing; the start is simply tried again later.
_REFUSED_FOR_NOW = frozenset(
    {
        "ThrottlingException",
        "ConcurrentRunsExceededException",
        "ResourceNumberLimitExceededException",
    }
)
# Server-side errors and timeouts: the run may have been created before the answer was lost.
_OUTCOME_UNKNOWN = frozenset(
    {"InternalServiceException", "OperationTimeoutException", "ServiceUnavailableException"}
)


class GlueBusy(RetryLater):
    """Glue refused the start for now (throttled, concurrent-run limit): retry later."""


class GlueStartUnknown(RetryLater):
    """The start's answer is an error that does not say nothing started (a timeout, a 5xx, a
    lost connection): the retry must first look for a run carrying the attempt's token."""


class GlueStartRejected(StartRejected):
    """Glue refused the start for good (job missing, bad arguments)."""


@dataclass(frozen=True, slots=True)
class GlueRun:
    run_id: str
    state: str
    message: str
    arguments: dict[str, str]
    started_on: dt.datetime | None


def glue_arguments(state: DumpState) -> dict[str, str]:
    """The job arguments of a dump, as docs/ARCHITECTURE.md fixes them; ``--dump_key`` is
    where the bytes are (a backfill of an expired dump reads its copy under processed/),
    ``--dump_version_id`` the object version the event announced (the archive copies that
    very version) and ``--attempt_token`` the start the run belongs to: adoption and the
    completion event match a run by it, never by the other arguments."""
    args = {
        "--dump_bucket": state.bucket,
        "--dump_key": state.read_key,
        "--dump_date": state.dump_date.isoformat(),
        "--target_schema": state.target_schema,
    }
    if state.expected_sha256:
        args["--expected_sha256"] = state.expected_sha256
    if state.backfill:
        args["--backfill"] = "true"  # the published load is not this dump's predecessor
    accepted = state.accept_quality or {}  # kept by intake only for the attempt it armed
    if accepted.get("by"):
        args["--accept_quality"] = f"{accepted['by']} at {accepted.get('at', '?')}"
    if state.version_id and state.source_key is None:
        args["--dump_version_id"] = state.version_id
    if state.run_token:
        args[ATTEMPT_ARGUMENT] = state.run_token
    return args


def _run(raw: dict[str, Any]) -> GlueRun:
    return GlueRun(
        run_id=raw["Id"],
        state=raw.get("JobRunState", ""),
        message=raw.get("ErrorMessage", ""),
        arguments=dict(raw.get("Arguments") or {}),
        started_on=raw.get("StartedOn"),
    )


class GlueJob:
    def __init__(self, client: Any, job_name: str) -> None:
        self.client = client
        self.job_name = job_name

    def start(self, state: DumpState) -> str:
        try:
            response = self.client.start_job_run(
                JobName=self.job_name, Arguments=glue_arguments(state)
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REFUSED_FOR_NOW:
                raise GlueBusy(f"Glue {code}: {exc}") from exc
            if code in _OUTCOME_UNKNOWN:
                raise GlueStartUnknown(f"Glue {code}: {exc}") from exc
            raise GlueStartRejected(f"Glue {code}: {exc}") from exc
        except (ReadTimeoutError, ConnectionClosedError, EndpointConnectionError) as exc:
            raise GlueStartUnknown(f"Glue did not answer: {exc}") from exc
        return str(response["JobRunId"])

    def run(self, run_id: str) -> GlueRun | None:
        try:
            response = self.client.get_job_run(JobName=self.job_name, RunId=run_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
                return None
            raise
        return _run(response["JobRun"])

    def find_run(self, state: DumpState, since: dt.datetime) -> GlueRun | None:
        """The run started under this attempt's token (recovering a start whose id was not
        recorded); a run of an earlier attempt, with the same arguments, is never taken. The
        token is unique to the start, so ``since`` only bounds how far back runs are read
        (Glue lists the newest first)."""
        if not state.run_token:
            return None
        paginator = self.client.get_paginator("get_job_runs")
        for page in paginator.paginate(JobName=self.job_name):
            for raw in page.get("JobRuns", []):
                run = _run(raw)
                if run.arguments.get(ATTEMPT_ARGUMENT) == state.run_token:
                    return run
        return None
