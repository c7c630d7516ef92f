"""Glue and ECS state-change events: find the dump a run belongs to and end its stage.

Late and duplicate events find no dump in the matching state and change nothing.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from dumpflow.control.context import ControlContext
from dumpflow.control.ecs import outcome_of, started_by, task_family
from dumpflow.control.events import TaskStoppedEvent, parse_glue_event, parse_task_event
from dumpflow.control.glue import ATTEMPT_ARGUMENT, FINAL_RUN_STATES
from dumpflow.control.pipeline import Pipeline, dump_fields
from dumpflow.control.state import DumpState, DumpStatus

log = logging.getLogger(__name__)


class Completion(StrEnum):
    HANDLED = "handled"
    OTHER_JOB = "other-job"
    NOT_FINAL = "not-final"
    UNKNOWN_RUN = "unknown-run"


class Completions:
    def __init__(self, ctx: ControlContext, pipeline: Pipeline | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.pipeline = pipeline or Pipeline(ctx)

    def on_glue_event(self, event: Any) -> Completion:
        """Raises BadEvent when the event lacks its fields."""
        change = parse_glue_event(event)
        if change.job_name != self.ctx.settings.glue_job:
            log.warning(
                "Glue event for job %r, not ours (%r): ignored",
                change.job_name,
                self.ctx.settings.glue_job,
            )
            return Completion.OTHER_JOB
        if change.state not in FINAL_RUN_STATES:
            return Completion.NOT_FINAL
        state = self._dump_of_run(change.run_id)
        if state is None:
            log.info(
                "Glue run %s (%s) belongs to no dump in flight: late or duplicate event",
                change.run_id,
                change.state,
            )
            self.pipeline.pump()
            return Completion.UNKNOWN_RUN
        self.pipeline.load_finished(state, change.run_id, change.state, change.message)
        self.pipeline.pump()
        return Completion.HANDLED

    def on_task_event(self, event: Any) -> Completion:
        """Raises BadEvent when the event lacks its fields."""
        change = parse_task_event(event)
        ours = task_family(self.ctx.settings.task_definition)
        if task_family(change.task_definition_arn) != ours:
            log.warning(
                "ECS event for task family %r, not ours (%r): ignored",
                task_family(change.task_definition_arn),
                ours,
            )
            return Completion.OTHER_JOB
        if change.last_status != "STOPPED":
            return Completion.NOT_FINAL
        state = self._dump_of_task(change)
        if state is None:
            log.info(
                "dbt task %s belongs to no dump in flight: late or duplicate event", change.task_arn
            )
            self.pipeline.pump()
            return Completion.UNKNOWN_RUN
        outcome = outcome_of(change.detail, self.ctx.settings.task_container)
        self.pipeline.transform_finished(state, outcome)
        self.pipeline.pump()
        return Completion.HANDLED

    def _holder(self) -> DumpState | None:
        lease = self.store.lease()
        return self.store.get(lease.holder_key) if lease else None

    def _dump_of_run(self, run_id: str) -> DumpState | None:
        """The dump this run belongs to: the one that recorded it, or the one whose current
        start carries the run's ``--attempt_token`` (its start was not recorded). A run of an
        earlier attempt belongs to no dump in flight."""
        holder = self._holder()
        if holder is not None and holder.glue_run_id == run_id:
            return holder
        run = self.ctx.glue.run(run_id)
        token = run.arguments.get(ATTEMPT_ARGUMENT) if run else None
        if not token:
            return None
        state = holder if holder is not None and holder.run_token == token else None
        state = state or self.store.with_run_token(token)
        if state is None:
            return None
        if state.glue_run_id == run_id:
            return state
        if state.status is DumpStatus.LOADING and state.glue_run_id is None:
            log.warning(
                "adopting Glue run %s for %s (its start was not recorded)",
                run_id,
                state.key,
                extra=dump_fields(state),
            )
            return self.store.amend(
                state.key,
                {DumpStatus.LOADING},
                when=lambda s: s.glue_run_id is None and s.run_token == token,
                glue_run_id=run_id,
            )
        return None

    def _dump_of_task(self, change: TaskStoppedEvent) -> DumpState | None:
        holder = self._holder()
        if holder is not None and holder.ecs_task_arn == change.task_arn:
            return holder
        known = self.store.with_task(change.task_arn)
        if known is not None:
            return known
        if (
            holder is not None
            and holder.status is DumpStatus.TRANSFORMING
            and holder.ecs_task_arn is None
            and change.started_by == started_by(holder)
        ):
            log.warning(
                "adopting dbt task %s for %s (its start was not recorded)",
                change.task_arn,
                holder.key,
                extra=dump_fields(holder),
            )
            wanted = holder.run_token
            return self.store.amend(
                holder.key,
                {DumpStatus.TRANSFORMING},
                when=lambda s: s.ecs_task_arn is None and s.run_token == wanted,
                ecs_task_arn=change.task_arn,
            )
        return None
