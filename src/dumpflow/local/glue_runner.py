"""The Glue service, played locally: run each started job run's script, then announce the end.

For every run the control plane started in moto, the job's entry script
(``glue/load_dump_job.py``) runs in this process with the run's arguments in the order Glue
passes them, the run's state in moto follows (RUNNING, then SUCCEEDED or FAILED), and the
"Glue Job State Change" event AWS emits goes to the event bus, which hands it to the
function the template's rule targets.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.glue.models import glue_backends

from dumpflow.local.event_bus import EventBus, make_event
from dumpflow.local.moto_stack import LocalStack
from dumpflow.local.template import ACCOUNT_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlueRunOutcome:
    """How one job run ended, as the state change event reports it."""

    job_name: str
    run_id: str
    arguments: dict[str, str]
    state: str
    message: str
    seconds: float


def glue_argv(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    """``sys.argv[1:]`` as Glue builds it: its own ids first, then ``--name value`` pairs."""
    argv = ["--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for name, value in arguments.items():
        argv += [name, value]
    return argv


def _load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"glue_job_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"Glue script {path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module


class GlueRunner:
    """Finds started job runs of the template's Glue jobs and executes them one at a time."""

    def __init__(self, stack: LocalStack, bus: EventBus, script: Path) -> None:
        self.stack = stack
        self.bus = bus
        self.script = script
        self.glue = stack.client("glue")
        self.seen: set[str] = set()
        self.outcomes: list[GlueRunOutcome] = []
        self.jobs = [stack.physical[i].ref for i in stack.resources_of_type("AWS::Glue::Job")]

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        """Runs moto holds in STARTING that this runner has not executed yet, oldest first."""
        found: list[tuple[str, dict[str, Any]]] = []
        for job in self.jobs:
            runs = self.glue.get_job_runs(JobName=job).get("JobRuns", [])
            for run in sorted(runs, key=lambda r: r["StartedOn"]):
                if run["Id"] not in self.seen and run["JobRunState"] in ("STARTING", "RUNNING"):
                    found.append((job, run))
        return found

    def run_pending(self) -> list[GlueRunOutcome]:
        finished = [self.execute(job, run) for job, run in self.pending()]
        return finished

    def execute(self, job_name: str, run: dict[str, Any]) -> GlueRunOutcome:
        run_id = run["Id"]
        self.seen.add(run_id)
        arguments = {str(k): str(v) for k, v in (run.get("Arguments") or {}).items()}
        self._set_state(job_name, run_id, "RUNNING")
        log.info("Glue run %s of %s started: %s", run_id[:12], job_name, arguments)
        started = time.monotonic()
        state, message = "SUCCEEDED", "Job run succeeded"
        try:
            main: Callable[[list[str]], Any] = _load_script(self.script).main
            code = main(glue_argv(job_name, run_id, arguments))
            if isinstance(code, int) and code != 0:
                state, message = "FAILED", f"{self.script.name} exited with status {code}"
        except SystemExit as exc:
            if exc.code not in (0, None):
                state, message = "FAILED", f"{self.script.name} exited: {exc.code}"
        except Exception as exc:
            state, message = "FAILED", f"{type(exc).__name__}: {exc}"
            log.warning("Glue run %s failed: %s", run_id[:12], message, exc_info=True)
        outcome = GlueRunOutcome(
            job_name, run_id, arguments, state, message, time.monotonic() - started
        )
        self._set_state(job_name, run_id, state)
        self.outcomes.append(outcome)
        self.bus.publish(
            make_event(
                source="aws.glue",
                detail_type="Glue Job State Change",
                detail={
                    "jobName": job_name,
                    "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
                    "state": state,
                    "jobRunId": run_id,
                    "message": message,
                },
                region=self.stack.endpoint.region,
            )
        )
        return outcome

    def _set_state(self, job_name: str, run_id: str, state: str) -> None:
        """Keep moto's view of the run in step, so GetJobRun tells the sweeper the truth."""
        backend = glue_backends[ACCOUNT_ID][self.stack.endpoint.region]
        for job_run in backend.jobs[job_name].job_runs:
            if job_run.job_run_id == run_id:
                job_run.status = state
