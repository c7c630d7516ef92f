"""``sam local invoke``: one function of the built template, in a container, with one event.

The container runs on Docker's default bridge network; the env-vars file points it at moto's
listener on the bridge (``container_endpoint``). The base image is never pulled
(``--skip-pull-image``): no registry is reachable here, and the local stand-in
(``scripts/lambda-image``) carries AWS's name.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dumpflow.local.moto_server import FAKE_CREDENTIALS

INVOKE_TIMEOUT_SECONDS = 300


class SamInvokeFailed(RuntimeError):
    """SAM could not run the function, or the function raised (the message says which)."""


@dataclass(frozen=True)
class SamInvocation:
    """One finished invocation: what the function returned and everything it printed."""

    function: str
    event: Path
    payload: Any
    seconds: float
    output: str

    @property
    def log_lines(self) -> list[dict[str, Any]]:
        """The function's JSON log lines (Powertools) and metrics (EMF)."""
        lines: list[dict[str, Any]] = []
        for line in self.output.splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return lines


@dataclass(frozen=True)
class SamLocal:
    """How to call ``sam local invoke`` for one built template and env-vars file;
    ``environment`` is the whole environment of the SAM process."""

    sam: Path
    template: Path
    env_vars: Path
    region: str
    environment: Mapping[str, str]

    def command(self, function: str, event: Path) -> list[str]:
        return [
            str(self.sam), "local", "invoke", function,
            "--template", str(self.template),
            "--event", str(event),
            "--env-vars", str(self.env_vars),
            "--region", self.region,
            "--skip-pull-image",
        ]  # fmt: skip

    def invoke(self, function: str, event: Path) -> SamInvocation:
        started = time.monotonic()
        try:
            done = subprocess.run(
                self.command(function, event),
                capture_output=True,
                text=True,
                env={**self.environment, "SAM_CLI_TELEMETRY": "0"},
                timeout=INVOKE_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SamInvokeFailed(
                f"sam local invoke {function} -e {event.name} did not end within "
                f"{INVOKE_TIMEOUT_SECONDS} s"
            ) from exc
        seconds = time.monotonic() - started
        output = done.stderr + done.stdout
        payload = _payload(done.stdout)
        if done.returncode != 0 or payload is _NOTHING:
            raise SamInvokeFailed(
                f"sam local invoke {function} -e {event.name} exited {done.returncode} "
                f"without a response:\n{_tail(output)}"
            )
        if isinstance(payload, dict) and "errorType" in payload:
            raise SamInvokeFailed(
                f"{function} raised {payload['errorType']}: {payload.get('errorMessage')}\n"
                f"{_tail(output)}"
            )
        return SamInvocation(function, event, payload, seconds, output)


_NOTHING = object()


def _payload(stdout: str) -> Any:
    """The function's response: the last line SAM writes to stdout."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return _NOTHING
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return _NOTHING


def _tail(output: str, lines: int = 25) -> str:
    return "\n".join(output.splitlines()[-lines:])


def local_environment(region: str) -> dict[str, str]:
    """This process's environment with fake credentials and no profile: SAM passes its
    credentials into the container, and one pointed at moto must never carry real keys."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    return {**env, **FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}
