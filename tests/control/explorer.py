"""A small fault explorer: a few dumps through the real handlers on moto, with seeded faults.

The model of AWS delivery: an SQS message whose handler raised (or died) is received again, up
to maxReceiveCount (5) times, then it is on the DLQ; a Glue/ECS event whose handler raised is
retried twice (Lambda async), then it is lost; the sweeper runs every 15 minutes. Glue runs
and dbt tasks end when the explorer says so (exit 0, or a failure now and then), and their
STOPPED/state events are delivered late, twice or (after the handler died) not at all.

The operator and the uploader act too, between steps: a dump may be uploaded without its
manifest (the manifest and its own event come some steps later, maybe after the wait is over);
an operator replays a FAILED dump (``Replayer``, the code ``dumpflow replay`` runs) or a
REJECTED one (``arm_replay`` and ``enqueue``, the calls ``replay``/``accept-quality`` make), or
backfills a date not after the watermark (``Backfiller``, the code of ``dumpflow backfill``).
Their queue messages go through the same faulty SQS model as the uploads' events.

Faults, chosen by the seed: before a handler runs, one AWS call of it may be armed to lose its
response after committing (the SDK's retry is sent), or to kill the handler right before or
right after it took effect. After every step the invariants are checked; every time the pump
asks for the slot, the dump it asks for is checked against the start rule (start_rule.py); at
the end, with the faults off and the sweeper running, every dump must settle.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from control.aws_world import World, dump_bytes, force_glue_state
from control.faults import Fault, FaultyClient, HandlerKilled
from control.start_rule import Snapshot, candidates, must_start
from dumpflow.control.completion import Completions
from dumpflow.control.glue import ATTEMPT_ARGUMENT
from dumpflow.control.state import (
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    DumpState,
    DumpStatus,
    Lease,
    StateStore,
)
from dumpflow.dumps import DumpRef
from dumpflow.ops.backfill import Action, Backfiller
from dumpflow.ops.dlq import DeadLetterQueue
from dumpflow.ops.enqueue import enqueue
from dumpflow.ops.replay import Outcome, Replayer, replay_mode

MAX_RECEIVES = 5
EVENT_ATTEMPTS = 3
SWEEP_EVERY = dt.timedelta(minutes=15)
LATE_MANIFEST_RATE = 0.25  # an upload whose manifest comes some steps after it
MANIFEST_DELAY_STEPS = (2, 40)  # 1-90 s a step, 15 min a sweep: some come after the wait
OPERATOR_RATE = 0.12  # an operator replays or backfills before this step
LATER_DAYS = 2  # daily dumps of later dates that arrive while the exploration runs
NEW_DAY_RATE = 0.08

# (client, operation, faults that make sense there)
FAULT_POINTS: list[tuple[str, str, tuple[Fault, ...]]] = [
    ("ddb", "put_item", (Fault.LOSE_RESPONSE, Fault.KILL_BEFORE, Fault.KILL_AFTER)),
    ("ddb", "transact_write_items", (Fault.LOSE_RESPONSE, Fault.KILL_BEFORE, Fault.KILL_AFTER)),
    ("ddb", "delete_item", (Fault.LOSE_RESPONSE, Fault.KILL_AFTER)),
    ("s3", "copy", (Fault.KILL_BEFORE, Fault.KILL_AFTER)),
    ("s3", "get_object", (Fault.KILL_BEFORE,)),
    ("glue", "start_job_run", (Fault.KILL_BEFORE, Fault.KILL_AFTER)),
    ("ecs", "run_task", (Fault.KILL_BEFORE, Fault.KILL_AFTER)),
    ("sqs", "send_message", (Fault.KILL_BEFORE, Fault.KILL_AFTER)),
]


@dataclass
class Delivery:
    """Something the explorer will hand to a handler: a queue body or an event."""

    kind: str  # "sqs" | "glue" | "ecs"
    payload: Any
    tries: int = 0


@dataclass
class Exploration:
    seed: int
    steps: int = 0
    faults_fired: int = 0
    kills: int = 0
    dlq: list[str] = field(default_factory=list)
    lost_events: int = 0
    replays: int = 0  # operator messages sent for a FAILED or REJECTED dump
    backfills: int = 0  # operator messages sent for a date not after the watermark
    late_manifests: int = 0  # manifests uploaded (with their event) after their dump
    starts_checked: int = 0  # slot requests checked against the start rule
    contested_starts: int = 0  # of which a daily dump and a backfill date were both ready
    violations: list[str] = field(default_factory=list)


class Explorer:
    def __init__(
        self,
        world: World,
        seed: int,
        *,
        dumps: int = 3,
        fault_rate: float = 0.5,
        operator_rate: float = OPERATOR_RATE,
    ):
        self.world = world
        self.rng = random.Random(seed)
        self.report = Exploration(seed)
        self.fault_rate = fault_rate
        self.operator_rate = operator_rate
        self.clients: dict[str, FaultyClient] = {
            "ddb": _wrap(world.store, "_client"),
            "s3": _wrap(world.ctx.objects, "s3"),
            "glue": _wrap(world.ctx.glue, "client"),
            "ecs": _wrap(world.ctx.dbt, "client"),
            "sqs": _wrap(world.ctx.failures, "sqs"),
        }
        world.ctx.manifests.s3 = self.clients["s3"]
        offsets = list(range(-dumps - LATER_DAYS, -LATER_DAYS))
        self.rng.shuffle(offsets)  # out-of-order arrivals
        self.days = [world.day(n) for n in offsets]
        self.later_days = [world.day(n) for n in range(-LATER_DAYS, 0)]
        self.pending: list[Delivery] = []
        self.refs: dict[str, DumpRef] = {}
        self.bytes_of: dict[str, bytes] = {}  # version id -> bytes uploaded
        self.seen_runs: set[str] = set()
        self.seen_tasks: set[str] = set()
        self.watermarks: list[dt.date] = []
        self.reuploads = 0
        self.late: list[tuple[int, DumpRef]] = []  # (step due, dump) manifests still to come
        self.succeeded_at: dict[str, str] = {}  # key -> its latest succeeded_at seen
        self.succeeded_run: dict[str, str] = {}  # key -> the Glue run of that success
        self.reader = StateStore(world.settings.table, world.dynamodb)  # never faulted
        _watch_slot_requests(world.store, self._check_start)

    # ----- the world's moves ----------------------------------------------------------------

    def upload(self, day: dt.date, rows: int = 40) -> None:
        body = dump_bytes(day, rows=rows)
        late = self.rng.random() < LATE_MANIFEST_RATE
        ref = self.world.put_dump(day, body=body, manifest=not late)
        if late:
            self.late.append((self.report.steps + self.rng.randint(*MANIFEST_DELAY_STEPS), ref))
        self.refs[ref.key] = ref
        self.bytes_of[self.world.versions[(ref.key, ref.etag)]] = body
        self.pending.append(Delivery("sqs", self.world.body(ref)))
        if self.rng.random() < 0.3:  # a duplicate delivery of the same event
            self.pending.append(Delivery("sqs", self.world.body(ref)))

    def upload_late_manifests(self, *, all_now: bool = False) -> None:
        """The manifests whose step has come: uploaded, and their own S3 event queued."""
        due = [(at, ref) for at, ref in self.late if all_now or at <= self.report.steps]
        for entry in due:
            self.late.remove(entry)
            ref = entry[1]
            key = self.world.put_manifest(ref)
            head = self.world.s3.head_object(Bucket=ref.bucket, Key=key)
            event = {
                "bucket": ref.bucket,
                "key": key,
                "etag": head["ETag"].strip('"'),
                "size": str(head["ContentLength"]),
                "version_id": head.get("VersionId"),
            }
            self.report.late_manifests += 1
            self.pending.append(Delivery("sqs", json.dumps(event)))

    # ----- the operator's moves -------------------------------------------------------------

    def operate(self) -> None:
        """An operator replays a FAILED or REJECTED dump, or backfills a date the watermark
        has reached; what they send goes through the faulty queue like any upload's event."""
        states = self.world.store.list_dumps()
        replayable = [s for s in states if s.status in (DumpStatus.FAILED, DumpStatus.REJECTED)]
        mark = self.world.store.watermark()
        old_days = sorted({d for d in self.days if mark is not None and d <= mark})
        moves: list[Callable[[], int]] = []
        if replayable:
            moves.append(lambda: self.replay(self.rng.choice(replayable)))
        if old_days:
            picked = sorted(self.rng.choices(old_days, k=2))
            moves.append(lambda: self.backfill(picked[0], picked[1]))
        if moves:
            self.rng.choice(moves)()
            self.take_queue()

    def replay(self, state: DumpState) -> int:
        """``dumpflow replay`` for a FAILED dump (its DLQ letter); arm + enqueue for a REJECTED
        one, which has no letter. Returns the messages sent."""
        world = self.world
        if state.status is DumpStatus.FAILED:
            settings = world.settings
            dlq = DeadLetterQueue(world.sqs, settings.dlq_url, settings.key_pattern)
            result = Replayer(world.store, dlq, world.sqs, settings.queue_url).run([state.key])
            sent = result.count(Outcome.SENT)
        else:
            mode = replay_mode(state.dump_date, world.store.watermark())
            attempt = world.store.arm_replay(
                state.key, mode=mode, force=False, note="explorer", now=world.clock()
            )
            enqueue(
                world.sqs,
                world.settings.queue_url,
                state.ref,
                mode=mode,
                attempt=attempt,
                force=False,
                source_key=state.source_key,
            )
            sent = 1
        self.report.replays += sent
        return sent

    def backfill(self, start: dt.date, end: dt.date) -> int:
        """``dumpflow backfill --from start --to end`` (forced now and then: SUCCEEDED dates
        rebuilt). Returns the messages sent."""
        world = self.world
        backfiller = Backfiller(
            world.store, world.s3, world.sqs, world.settings, force=self.rng.random() < 0.5
        )
        result = backfiller.run(backfiller.plan(start, end))
        sent = result.count(Action.ENQUEUED)
        self.report.backfills += sent
        return sent

    def take_queue(self) -> None:
        """What the operator sent to the dump queue, handed to the faulty delivery model."""
        while True:
            got = self.world.sqs.receive_message(
                QueueUrl=self.world.settings.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not got:
                return
            for message in got:
                self.pending.append(Delivery("sqs", message["Body"]))
                self.world.sqs.delete_message(
                    QueueUrl=self.world.settings.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def finish_runs(self) -> None:
        """Glue runs and dbt tasks that started end now; their events are queued."""
        for run in self.world.glue_runs():
            if run["Id"] in self.seen_runs:
                continue
            self.seen_runs.add(run["Id"])
            state = "SUCCEEDED" if self.rng.random() < 0.85 else "FAILED"
            force_glue_state(self.world, run["Id"], state)
            self._queue_event("glue", self.world.glue_event(run["Id"], state, "explorer"))
        for task in self.world.tasks():
            if task["taskArn"] in self.seen_tasks:
                continue
            self.seen_tasks.add(task["taskArn"])
            code = 0 if self.rng.random() < 0.85 else 1
            self._queue_event("ecs", self.world.stopped(task["taskArn"], code))

    def _queue_event(self, kind: str, event: Any) -> None:
        roll = self.rng.random()
        if roll < 0.1:
            self.report.lost_events += 1  # EventBridge never delivers it: the sweeper must
            return
        self.pending.append(Delivery(kind, event))
        if roll > 0.85:
            self.pending.append(Delivery(kind, event))  # delivered twice

    # ----- one step -------------------------------------------------------------------------

    def step(self, *, faults: bool) -> None:
        self.report.steps += 1
        if not self.pending:
            self.world.clock.advance(seconds=SWEEP_EVERY.total_seconds())
            if self._run(lambda: self.world.sweep(), faults=faults):
                self._check_slot_tended()  # the sweeper always pumps
            return
        delivery = self.pending.pop(self.rng.randrange(len(self.pending)))
        delivery.tries += 1
        self.world.clock.advance(seconds=self.rng.randint(1, 90))
        ok = self._run(lambda: self._hand(delivery), faults=faults)
        if ok:
            return
        limit = MAX_RECEIVES if delivery.kind == "sqs" else EVENT_ATTEMPTS
        if delivery.tries < limit:
            self.pending.append(delivery)
        elif delivery.kind == "sqs":
            self.report.dlq.append(str(delivery.payload))
        else:
            self.report.lost_events += 1

    def _hand(self, delivery: Delivery) -> None:
        completions = Completions(self.world.ctx)
        if delivery.kind == "sqs":
            self.world.deliver_body(str(delivery.payload))
        elif delivery.kind == "glue":
            completions.on_glue_event(delivery.payload)
        else:
            completions.on_task_event(delivery.payload)

    def _run(self, handler: Callable[[], object], *, faults: bool) -> bool:
        rules = self._arm() if faults else []
        try:
            handler()
        except HandlerKilled:
            self.report.kills += 1
            return False
        finally:
            for client in self.clients.values():
                client.rules.clear()
            self.report.faults_fired += sum(1 for rule in rules if rule.fired)
            self.check()
        return True

    def _arm(self) -> list[Any]:
        """Maybe one fault in this handler: at its n-th AWS call among the fault points (the
        points share one counter, so any side effect of the handler can be the one)."""
        if self.rng.random() >= self.fault_rate:
            return []
        target = self.rng.randrange(8)
        seen = [0]
        rules = []
        for client, operation, kinds in FAULT_POINTS:
            fault = self.rng.choice(kinds)

            def nth(_kwargs: dict[str, Any]) -> bool:
                seen[0] += 1
                return seen[0] == target + 1

            rules.append(self.clients[client].arm(operation, fault, when=nth))
        return rules

    # ----- invariants -----------------------------------------------------------------------

    def _check_start(self, holder_key: str) -> None:
        """The pump asks for the slot for ``holder_key``: it must be the dump the start rule
        picks from the table as it is now (oldest daily first, backfills their share, no
        overtaking of an older normal dump waiting for its manifest)."""
        snapshot = Snapshot(
            self.reader.list_dumps(),
            self.reader.watermark(),
            self.world.settings.daily_starts_per_backfill,
            now=self.world.clock(),
        )
        self.report.starts_checked += 1
        daily, backfills = candidates(snapshot)
        self.report.contested_starts += bool(daily and backfills)
        expected, why = must_start(snapshot)
        if expected is None or expected.key != holder_key:
            waiting = [
                (s.key, s.mode, s.reason, str(s.dump_date))
                for s in snapshot.dumps
                if s.status is DumpStatus.WAITING
            ]
            self._violate(
                f"step {self.report.steps}: the pump took the slot for {holder_key}, the rule "
                f"starts {expected.key if expected else None} ({why}); watermark "
                f"{snapshot.watermark}, waiting {waiting}"
            )

    def _check_slot_tended(self) -> None:
        """After a pump that ran to its end no final dump holds the slot (a kill between the
        FAILED write and the release leaves it so; the next pump must free it). Checked after
        sweeps only: intake does not pump when it rejects, skips or parks a dump."""
        lease = self.reader.lease()
        if lease is None:
            self._check_nothing_ready()
            return
        holder = self.reader.get(lease.holder_key)
        if holder is None or holder.status in TERMINAL_STATUSES:
            status = holder.status if holder else "no item"
            self._violate(f"step {self.report.steps}: {lease.holder_key} ({status}) holds the slot")

    def _check_nothing_ready(self) -> None:
        """The slot is free after a pump: no dump the start rule would start is waiting."""
        snapshot = Snapshot(
            self.reader.list_dumps(),
            self.reader.watermark(),
            self.world.settings.daily_starts_per_backfill,
            now=self.world.clock(),
        )
        expected, why = must_start(snapshot)
        if expected is not None:
            self._violate(
                f"step {self.report.steps}: the slot is free after a sweep and "
                f"{expected.key} waits ({why})"
            )

    def _note_successes(self, states: list[DumpState]) -> None:
        """Remember the Glue run of each success: its object version is what processed/ must
        hold (a later backfill that fails leaves the earlier archive in place)."""
        for state in states:
            moment = state.timestamps.get("succeeded_at")
            if moment and self.succeeded_at.get(state.key) != moment:
                self.succeeded_at[state.key] = moment
                if state.glue_run_id:
                    self.succeeded_run[state.key] = state.glue_run_id

    def check(self) -> None:
        world = self.world
        states = world.store.list_dumps()
        self._note_successes(states)
        running = [s for s in states if s.status in RUNNING_STATUSES]
        if len(running) > 1:
            self._violate(f"two pipelines in flight: {[s.key for s in running]}")
        lease = world.store.lease()
        for state in running:
            if lease is None or lease.holder_key != state.key:
                self._violate(f"{state.key} is {state.status} without the slot")
        mark = world.store.watermark()
        if mark is not None:
            if self.watermarks and mark < self.watermarks[-1]:
                self._violate(f"the watermark moved back from {self.watermarks[-1]} to {mark}")
            self.watermarks.append(mark)
        succeeded = [s.dump_date for s in states if "succeeded_at" in s.timestamps]
        if mark != max(succeeded, default=None):
            on_day = [(s.key, str(s.status)) for s in states if s.dump_date == mark]
            self._violate(
                f"step {self.report.steps}: the watermark {mark} is not the newest success "
                f"{max(succeeded, default=None)} ({on_day})"
            )
        by_token: dict[str, int] = {}
        for run in world.glue_runs():
            token = run.get("Arguments", {}).get(ATTEMPT_ARGUMENT, "")
            by_token[token] = by_token.get(token, 0) + 1
        for token, count in by_token.items():
            if count > 1:
                self._violate(f"{count} Glue runs for one attempt ({token})")
        started: dict[str, int] = {}
        for task in world.tasks():
            started[task["startedBy"]] = started.get(task["startedBy"], 0) + 1
        for who, count in started.items():
            if count > 1:
                self._violate(f"{count} dbt tasks for one attempt ({who})")

    def check_settled(self) -> None:
        world = self.world
        states = {s.key: s for s in world.store.list_dumps()}
        for key in self.refs:
            state = states.get(key)
            if state is None:
                if not any(key in letter for letter in self.report.dlq):
                    self._violate(f"{key} has no item and no DLQ letter: lost")
                continue
            if state.status not in TERMINAL_STATUSES:
                self._violate(f"{key} never settled: {state.status} ({state.reason})")
            if state.pending_upload:
                self._violate(f"{key} still holds an upload: {state.pending_upload}")
        lease = world.store.lease()
        if lease is not None:
            self._violate(f"the slot is still held by {lease.holder_key}")
        succeeded = [s.dump_date for s in states.values() if "succeeded_at" in s.timestamps]
        if world.store.watermark() != max(succeeded, default=None):
            self._violate(f"watermark {world.store.watermark()} is not the newest success")
        self._check_archive(states)
        failed = [s for s in states.values() if s.status is DumpStatus.FAILED]
        letters = {m.get("key") for m in world.dlq_messages()}
        redriven = {json.loads(body).get("key") for body in self.report.dlq}
        for state in failed:
            if state.key not in letters | redriven:
                self._violate(f"{state.key} FAILED without a DLQ letter")

    def _check_archive(self, states: dict[str, Any]) -> None:
        """processed/ holds the bytes of the version whose dbt run succeeded last."""
        world = self.world
        for key, state in states.items():
            if "succeeded_at" not in state.timestamps:
                continue
            ref = self.refs[key]
            got = world.s3.get_object(Bucket=ref.bucket, Key=ref.processed_key)["Body"].read()
            ran = self._bytes_that_ran(key)
            if ran is not None and hashlib.sha256(got).digest() != hashlib.sha256(ran).digest():
                self._violate(f"{ref.processed_key} holds bytes that never ran")

    def _bytes_that_ran(self, key: str) -> bytes | None:
        """The bytes the Glue run of the dump's last success read (None: not known)."""
        run_id = self.succeeded_run.get(key)
        run = next((r for r in self.world.glue_runs() if r["Id"] == run_id), None)
        version = run["Arguments"].get("--dump_version_id") if run else None
        return self.bytes_of.get(version) if version else None

    def _violate(self, message: str) -> None:
        if message not in self.report.violations:
            self.report.violations.append(message)

    # ----- a whole exploration --------------------------------------------------------------

    def explore(self, *, steps: int = 40) -> Exploration:
        for day in self.days:
            self.upload(day)
        for _ in range(steps):
            if self.reuploads < 1 and self.rng.random() < 0.05:
                self.reuploads += 1
                self.upload(self.rng.choice(self.days), rows=7)  # a re-upload, maybe mid-run
            if self.later_days and self.rng.random() < NEW_DAY_RATE:
                self.days.append(self.later_days.pop(0))
                self.upload(self.days[-1])  # the next daily dump, while backfills may wait
            if self.rng.random() < self.operator_rate:
                self.operate()
            self.upload_late_manifests()
            self.finish_runs()
            self.step(faults=True)
        for _ in range(steps * 3):  # faults off: everything must settle
            self.upload_late_manifests(all_now=True)
            self.finish_runs()
            if not self.pending and self._all_final():
                break
            self.step(faults=False)
        self.check_settled()
        return self.report

    def _all_final(self) -> bool:
        states = self.world.store.list_dumps()
        return all(s.status in TERMINAL_STATUSES for s in states) and (
            self.world.store.lease() is None
        )


def _watch_slot_requests(store: StateStore, seen: Callable[[str], None]) -> None:
    """Call ``seen`` with the holder each time the pump asks for the slot, before it does
    (the one place a dump is chosen to start; a resumed start reuses its slot)."""
    acquire = store.acquire_lease

    def watched(holder_key: str, *, now: dt.datetime, seconds: int) -> Lease | None:
        seen(holder_key)
        return acquire(holder_key, now=now, seconds=seconds)

    setattr(store, "acquire_lease", watched)  # noqa: B010 (an instance attribute, on purpose)


def _wrap(owner: Any, attribute: str) -> FaultyClient:
    client = getattr(owner, attribute)
    if not isinstance(client, FaultyClient):
        client = FaultyClient(client)
        setattr(owner, attribute, client)
    return client
