"""The story ``dumpflow demo`` tells: six steps through the real flow, each checked.

1. Day 1 (dump + manifest) goes RECEIVED -> LOADING -> TRANSFORMING -> SUCCEEDED.
2. Day 2 SUCCEEDS; EventBridge delivers its event once more: that delivery is
   SKIPPED_DUPLICATE (duplicate count 1), nothing runs.
3. Day 1 is exported again under the same key with new content (a new ETag): SKIPPED_STALE,
   the watermark stays day 2 and the earlier SUCCEEDED stays in its history.
4. Day 3 arrives corrupt (the manifest's digest does not match): FAILED at load, its message
   on the DLQ, staging still exactly day 2.
5. Day 2's file is uploaded again as day 3 (a stale copy, its manifest honest about the
   bytes): it loads, and the quality gate refuses its content (``stale content``): REJECTED
   with reason quality, no DLQ message, staging still exactly day 2; the gate's table is kept.
6. A good day 3 is uploaded over it and runs: SUCCEEDED; the operator's replay then finds the
   DLQ entry resolved and deletes it, so the DLQ is empty.

Every step reads its outcome from where an operator would (state table, queues, MariaDB)
and the scenario stops at the first step that did not end as listed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from dumpflow.control.state import DumpState, DumpStatus, StateStore
from dumpflow.dumps import dump_key_for, manifest_key_for, today_jst
from dumpflow.local.demo_stack import DemoRuntime
from dumpflow.ops.dlq import DeadLetter, DeadLetterQueue
from dumpflow.ops.replay import Outcome, Replayer
from dumpflow.sample import SampleDump, write_sample_dumps

log = logging.getLogger(__name__)

_ASCII_LETTERS = frozenset(string.ascii_letters)
STEPS = 6
RUN_ORDER = (
    DumpStatus.RECEIVED,
    DumpStatus.LOADING,
    DumpStatus.TRANSFORMING,
    DumpStatus.SUCCEEDED,
)


class Mismatch(Exception):
    """What a step observed differs from what it should have (the message says both)."""


class StepFailed(RuntimeError):
    """One scenario step did not end as listed; the message names the step and the cause."""

    def __init__(self, step: int, title: str, cause: str) -> None:
        super().__init__(f"step {step} ({title}): {cause}")
        self.step = step
        self.title = title
        self.cause = cause


@dataclass
class StepResult:
    """What one step expected, what it saw, and how long it took."""

    number: int
    title: str
    expected: str
    observed: str = ""
    ok: bool = False
    seconds: float = 0.0


@dataclass
class ScenarioResult:
    """Everything the demo prints at the end (and ``--json`` emits)."""

    dates: list[dt.date]
    steps: list[StepResult] = field(default_factory=list)
    dumps: list[DumpState] = field(default_factory=list)
    dlq_before_replay: list[dict[str, Any]] = field(default_factory=list)
    dlq_after_replay: list[dict[str, Any]] = field(default_factory=list)
    watermark: dt.date | None = None
    staging_rows: dict[str, int] = field(default_factory=dict)
    occupancy: list[dict[str, Any]] = field(default_factory=list)
    replay_outcomes: list[dict[str, Any]] = field(default_factory=list)
    #: The quality gate's section of the stale copy's load report (step 5).
    rejected_quality: dict[str, Any] | None = None
    failed: StepFailed | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None and len(self.steps) == STEPS and all(s.ok for s in self.steps)


def _history_statuses(state: DumpState) -> list[str]:
    return [str(entry.get("to")) for entry in state.history]


def _ran_in_order(state: DumpState) -> bool:
    """RECEIVED, LOADING, TRANSFORMING, SUCCEEDED appear in this order in the history."""
    seen = iter(_history_statuses(state))
    return all(str(status) in seen for status in RUN_ORDER)


class DemoScenario:
    """Plays the six steps against a running demo stack."""

    def __init__(
        self,
        runtime: DemoRuntime,
        workdir: Path,
        *,
        scale: float = 0.05,
        on_step: Callable[[StepResult], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.workdir = workdir
        self.scale = scale
        self.on_step = on_step or (lambda _step: None)
        self.on_progress = on_progress or (lambda _text: None)
        self.s3 = runtime.stack.client("s3")
        self.sqs = runtime.stack.client("sqs")
        self.store = StateStore(runtime.settings.table, client=runtime.stack.client("dynamodb"))
        self.dlq = DeadLetterQueue(self.sqs, runtime.settings.dlq_url, runtime.settings.key_pattern)
        start = today_jst() - dt.timedelta(days=3)
        self.dates = [start + dt.timedelta(days=n) for n in range(3)]
        self.samples: dict[dt.date, SampleDump] = {}

    # ----- inputs --------------------------------------------------------------------------

    def write_dumps(self) -> None:
        """Three consecutive days from ``dumpflow sample-dump`` (real mariadb-dump output)."""
        self.on_progress(f"writing sample dumps for {self.dates[0]}..{self.dates[-1]}")
        written = write_sample_dumps(
            self.workdir / "dumps", self.dates[0], days=3, scale=self.scale, dsn=self.runtime.dsn
        )
        self.samples = {sample.dump_date: sample for sample in written}

    def _upload(self, key: str, path: Path) -> str:
        with path.open("rb") as body:
            response = self.s3.put_object(Bucket=self.runtime.bucket, Key=key, Body=body)
        log.info("uploaded %s (%d bytes)", key, path.stat().st_size)
        return str(response["ETag"]).strip('"')

    def _upload_day(self, day: dt.date, body: Path | None = None) -> str:
        """The producer's order: the dump, then the manifest vouching for it."""
        sample = self.samples[day]
        etag = self._upload(dump_key_for(day), body or sample.path)
        self._upload(manifest_key_for(day), sample.manifest_path)
        return etag

    def _corrupt_copy(self, day: dt.date) -> Path:
        """Bit rot in one row: one letter of a string value changes case. Same size (the
        manifest's size check passes), still valid SQL and no key collides (collations are
        case-insensitive), so only the digest the manifest vouches for can tell."""
        good = self.samples[day].path
        corrupt = self.workdir / f"corrupt_{good.name}"
        data = bytearray(good.read_bytes())
        quote = data.find(b"'", max(data.rfind(b"INSERT INTO"), 0))
        letters = (i for i in range(quote + 1, len(data)) if chr(data[i]) in _ASCII_LETTERS)
        letter = next(letters, -1) if quote >= 0 else -1
        if letter < 0:
            raise Mismatch(f"{good.name} has no string value to corrupt")
        data[letter] = ord(chr(data[letter]).swapcase())
        corrupt.write_bytes(bytes(data))
        return corrupt

    def _reexport(self, day: dt.date) -> Path:
        """The day exported once more: the same dump with a later export note, so new bytes
        (a new ETag) under the same key."""
        source = self.samples[day].path
        target = self.workdir / f"reexport_{source.name}"
        note = f"-- re-exported {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC\n".encode()
        target.write_bytes(source.read_bytes() + note)
        return target

    # ----- observations --------------------------------------------------------------------

    def _state(self, key: str) -> DumpState:
        state = self.store.get(key)
        if state is None:
            raise Mismatch(f"no state item for {key}")
        return state

    def dead_letters(self) -> list[dict[str, Any]]:
        """The DLQ's messages (read, then released untouched)."""
        letters: list[DeadLetter] = self.dlq.receive()
        self.dlq.release(letters)
        return [
            {
                "key": letter.key,
                "failure": letter.failure,
                "message_id": letter.message_id,
                "problem": letter.problem,
            }
            for letter in letters
        ]

    def _connect(self) -> pymysql.connections.Connection:
        return pymysql.connect(**self.runtime.dsn.connect_kwargs())

    def staging_fingerprint(self) -> dict[str, tuple[int, int]]:
        """Per base table of the target schema: rows and CHECKSUM TABLE (what "exactly" means)."""
        schema = self.runtime.settings.target_schema
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
                    (schema,),
                )
                tables = [str(row[0]) for row in cur.fetchall()]
                result: dict[str, tuple[int, int]] = {}
                for table in tables:
                    cur.execute(f"SELECT COUNT(*) FROM `{schema}`.`{table}`")
                    (rows,) = cur.fetchone() or (0,)
                    cur.execute(f"CHECKSUM TABLE `{schema}`.`{table}`")
                    checksum_row = cur.fetchone()
                    result[table] = (int(rows), int((checksum_row or (None, 0))[1] or 0))
                return result
        finally:
            conn.close()

    def occupancy(self) -> list[dict[str, Any]]:
        """Gold: portfolio occupancy per snapshot date, for the demo's dates."""
        gold = self.runtime.layout.schema("gold")
        conn = self._connect()
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(
                    f"SELECT snapshot_date, room_count, occupied_room_count, occupancy_rate "
                    f"FROM `{gold}`.`occupancy_daily` "
                    f"WHERE snapshot_date BETWEEN %s AND %s ORDER BY snapshot_date",
                    (self.dates[0], self.dates[-1]),
                )
                return [
                    {
                        "snapshot_date": row["snapshot_date"],
                        "room_count": int(row["room_count"]),
                        "occupied_room_count": int(row["occupied_room_count"]),
                        "occupancy_rate": (
                            None if row["occupancy_rate"] is None else float(row["occupancy_rate"])
                        ),
                    }
                    for row in cur.fetchall()
                ]
        finally:
            conn.close()

    # ----- steps ---------------------------------------------------------------------------

    def _step(self, result: ScenarioResult, number: int, title: str, expected: str,
              body: Callable[[], str]) -> None:  # fmt: skip
        step = StepResult(number, title, expected)
        started = time.monotonic()
        self.on_progress(f"step {number}: {title}")
        try:
            step.observed = body()
            step.ok = True
        except Mismatch as exc:
            step.observed = str(exc)
            raise StepFailed(number, title, str(exc)) from exc
        except Exception as exc:
            log.exception("step %d (%s) crashed", number, title)
            step.observed = f"{type(exc).__name__}: {exc}"
            raise StepFailed(number, title, step.observed) from exc
        finally:
            step.seconds = time.monotonic() - started
            result.steps.append(step)
            self.on_step(step)

    def _settle(self) -> None:
        self.runtime.flow.settle()

    def run(self) -> ScenarioResult:
        """Play every step; stops at the first that fails (``result.failed`` names it)."""
        result = ScenarioResult(dates=list(self.dates))
        if not self.samples:
            self.write_dumps()
        d1, d2, d3 = self.dates
        steps: list[tuple[str, str, Callable[[], str]]] = [
            (f"day 1 ({d1}) uploaded", "RECEIVED -> LOADING -> TRANSFORMING -> SUCCEEDED",
             lambda: self._first_day(d1)),
            (f"day 2 ({d2}) uploaded, then its event delivered again",
             "SUCCEEDED; the second delivery SKIPPED_DUPLICATE (duplicate count 1)",
             lambda: self._second_day(d2)),
            (f"day 1 ({d1}) uploaded again with new content (same key)",
             "SKIPPED_STALE (not after the watermark, day 2)", lambda: self._stale_day(d1, d2)),
            (f"day 3 ({d3}) uploaded with a corrupt body",
             "FAILED at load, message on the DLQ, staging still exactly day 2",
             lambda: self._corrupt_day(d3, result)),
            (f"day 2's dump uploaded again as day 3 ({d3}): a stale copy",
             "REJECTED by the quality gate (reason quality: stale content), no DLQ message, "
             "staging still exactly day 2", lambda: self._stale_copy_day(d3, d2, result)),
            (f"good day 3 ({d3}) replaces it and the DLQ is replayed",
             "SUCCEEDED; the DLQ entry already resolved and deleted; DLQ empty; watermark day 3",
             lambda: self._replayed_day(d3, result)),
        ]  # fmt: skip
        try:
            for number, (title, expected, body) in enumerate(steps, start=1):
                self._step(result, number, title, expected, body)
        except StepFailed as failed:
            result.failed = failed
        result.dumps = self.store.list_dumps()
        result.watermark = self.store.watermark()
        result.staging_rows = {t: rows for t, (rows, _) in self.staging_fingerprint().items()}
        if result.failed is None:
            result.occupancy = self.occupancy()
        return result

    def _first_day(self, day: dt.date) -> str:
        self._upload_day(day)
        self._settle()
        state = self._state(dump_key_for(day))
        if state.status != DumpStatus.SUCCEEDED:
            raise Mismatch(f"{state.key} is {state.status} ({self._why(state)})")
        if not _ran_in_order(state):
            raise Mismatch(f"{state.key} went {' -> '.join(_history_statuses(state))}")
        return " -> ".join(_history_statuses(state))

    def _second_day(self, day: dt.date) -> str:
        self._upload_day(day)
        self._settle()
        key = dump_key_for(day)
        state = self._state(key)
        if state.status != DumpStatus.SUCCEEDED:
            raise Mismatch(f"{key} is {state.status} ({self._why(state)})")
        runs_before = len(self.runtime.flow.glue.outcomes)
        self._redeliver(key)
        self._settle()
        again = self._state(key)
        if again.duplicate_events != 1:
            raise Mismatch(f"{key} counts {again.duplicate_events} duplicate events, not 1")
        if again.status != DumpStatus.SUCCEEDED or len(self.runtime.flow.glue.outcomes) != (
            runs_before
        ):
            raise Mismatch(f"the second delivery of {key} ran the dump again")
        delivery = again.history[-1]
        if delivery.get("to") != DumpStatus.SKIPPED_DUPLICATE:
            raise Mismatch(f"the second delivery of {key} left no SKIPPED_DUPLICATE: {delivery}")
        return (
            "SUCCEEDED; second delivery SKIPPED_DUPLICATE (duplicate count 1, no new run): "
            + str(delivery.get("note"))
        )

    def _redeliver(self, key: str) -> None:
        """EventBridge delivers at least once: the same S3 event, once more, to the rules."""
        original = next(
            d.event
            for d in reversed(self.runtime.flow.bus.deliveries)
            if d.rules
            and d.event.get("detail-type") == "Object Created"
            and d.event.get("detail", {}).get("object", {}).get("key") == key
        )
        self.runtime.flow.bus.publish(json.loads(json.dumps(original)))

    def _stale_day(self, day: dt.date, watermark: dt.date) -> str:
        runs_before = len(self.runtime.flow.glue.outcomes)
        key = dump_key_for(day)
        before = self._state(key)
        etag = self._upload(key, self._reexport(day))
        if etag == before.etag:
            raise Mismatch(f"the new upload of {key} has the old ETag {etag}")
        self._settle()
        state = self._state(key)
        if state.status != DumpStatus.SKIPPED_STALE:
            raise Mismatch(f"{key} is {state.status} ({self._why(state)})")
        if state.etag != etag:
            raise Mismatch(f"{key} records etag {state.etag}, not the new upload's {etag}")
        went = _history_statuses(state)
        if DumpStatus.SUCCEEDED not in went or went.index(DumpStatus.SUCCEEDED) > went.index(
            DumpStatus.SKIPPED_STALE
        ):
            raise Mismatch(f"{key} history lost its earlier SUCCEEDED: {' -> '.join(went)}")
        if self.store.watermark() != watermark:
            raise Mismatch(f"watermark is {self.store.watermark()}, not {watermark}")
        if len(self.runtime.flow.glue.outcomes) != runs_before:
            raise Mismatch(f"{key} started a load")
        return f"SKIPPED_STALE: {state.reason}"

    def _corrupt_day(self, day: dt.date, result: ScenarioResult) -> str:
        before = self.staging_fingerprint()
        self._upload_day(day, body=self._corrupt_copy(day))
        self._settle()
        key = dump_key_for(day)
        state = self._state(key)
        if state.status != DumpStatus.FAILED or state.stage != "load":
            raise Mismatch(f"{key} is {state.status} at {state.stage} ({self._why(state)})")
        letters = self.dead_letters()
        result.dlq_before_replay = letters
        if [letter["key"] for letter in letters] != [key]:
            raise Mismatch(f"the DLQ holds {[x['key'] for x in letters]}, not [{key!r}]")
        if (letters[0]["failure"] or {}).get("stage") != "load":
            raise Mismatch(f"the DLQ message's failure is {letters[0]['failure']}")
        after = self.staging_fingerprint()
        if after != before or not after:
            raise Mismatch(f"staging changed: {before} -> {after}")
        return f"FAILED at load: {self._why(state)}; DLQ: 1 message; staging unchanged"

    def _stale_copy(self, day: dt.date, source: dt.date) -> tuple[Path, Path]:
        """``source``'s file under ``day``'s name, with a manifest that vouches for exactly
        those bytes (size, digest, and the content's own max_updated_at_by_table): only the
        content shows that the source stopped changing."""
        old = self.samples[source]
        dump = self.workdir / f"stale_{dump_key_for(day).rsplit('/', 1)[-1]}"
        dump.write_bytes(old.path.read_bytes())
        manifest = {**old.manifest, "dump_key": dump_key_for(day), "dump_date": f"{day:%Y%m%d}"}
        manifest_path = self.workdir / f"stale_gghouse_{day:%Y%m%d}.json"
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return dump, manifest_path

    def _stale_copy_day(self, day: dt.date, source: dt.date, result: ScenarioResult) -> str:
        before = self.staging_fingerprint()
        letters_before = len(self.dead_letters())
        runs_before = len(self.runtime.flow.glue.outcomes)
        dump, manifest = self._stale_copy(day, source)
        self._upload(manifest_key_for(day), manifest)
        self._upload(dump_key_for(day), dump)
        self._settle()
        key = dump_key_for(day)
        state = self._state(key)
        error = state.last_error or {}
        if state.status != DumpStatus.REJECTED or error.get("stage") != "quality":
            raise Mismatch(f"{key} is {state.status} at {error.get('stage')} ({self._why(state)})")
        if not (state.reason or "").startswith("quality: stale content"):
            raise Mismatch(f"{key} was rejected for {state.reason!r}, not stale content")
        if len(self.runtime.flow.glue.outcomes) != runs_before + 1:
            raise Mismatch(f"{key} was not loaded once before the gate judged it")
        letters = len(self.dead_letters())
        if letters != letters_before:
            raise Mismatch(f"the DLQ went from {letters_before} to {letters} messages")
        after = self.staging_fingerprint()
        if after != before or not after:
            raise Mismatch(f"staging changed: {before} -> {after}")
        body = self.s3.get_object(
            Bucket=self.runtime.bucket, Key=f"reports/load/{day.isoformat()}.json"
        )["Body"].read()
        quality = json.loads(body).get("quality")
        if not isinstance(quality, dict) or quality.get("verdict") != "fail":
            raise Mismatch(f"the load report of {key} has no failed quality gate: {quality}")
        result.rejected_quality = quality
        return f"REJECTED ({state.reason}); no DLQ message; staging unchanged"

    def _replayed_day(self, day: dt.date, result: ScenarioResult) -> str:
        key = dump_key_for(day)
        runs_before = len(self.runtime.flow.glue.outcomes)
        # the day's own manifest again first (step 5 left the stale copy's), then the dump
        self._upload(manifest_key_for(day), self.samples[day].manifest_path)
        self._upload(key, self.samples[day].path)
        self._settle()
        state = self._state(key)
        if state.status != DumpStatus.SUCCEEDED:
            raise Mismatch(f"{key} is {state.status} ({self._why(state)})")
        replayer = Replayer(
            self.store, self.dlq, self.sqs, self.runtime.settings.queue_url,
            note="dumpflow demo: replay after the good upload",
        )  # fmt: skip
        replay = replayer.run(None)
        result.replay_outcomes = [
            {"key": i.key, "outcome": i.outcome.value, "reason": i.reason} for i in replay.items
        ]
        if [(i.key, i.outcome) for i in replay.items] != [(key, Outcome.RESOLVED)]:
            raise Mismatch(f"replay did not find {key} resolved: {result.replay_outcomes}")
        self._settle()
        result.dlq_after_replay = self.dead_letters()
        if result.dlq_after_replay:
            raise Mismatch(f"the DLQ still holds {result.dlq_after_replay}")
        loads = len(self.runtime.flow.glue.outcomes) - runs_before
        if loads != 1:
            raise Mismatch(f"{key} was loaded {loads} times, not once")
        if self.store.watermark() != day:
            raise Mismatch(f"watermark is {self.store.watermark()}, not {day}")
        return (
            f"SUCCEEDED; DLQ entry already resolved ({replay.items[0].reason}) and deleted; "
            f"DLQ empty; watermark {day.isoformat()}"
        )

    @staticmethod
    def _why(state: DumpState) -> str:
        error = state.last_error or {}
        return str(error.get("message") or state.reason or "no reason recorded")
