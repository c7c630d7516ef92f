"""Local EventBridge delivery: the template's rules, patterns and input transformers, applied here.

moto emits S3 "Object Created" events but skips input transformers on that path, spells the
ETag field ``eTag`` and stamps a fixed id and a numeric time; it cannot invoke Lambda targets
at all. So events reach this bus instead: S3 events from a tap queue (normalised to the shape
AWS documents), Glue and ECS state changes from the local runners. Each enabled rule whose
pattern matches sends the event to its targets: transformed into the SQS queue, or straight to
the function.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.events.models import EventPattern

from dumpflow.local.functions import LocalFunction
from dumpflow.local.moto_stack import EventRule, LocalStack, RuleTarget

log = logging.getLogger(__name__)

ASYNC_ATTEMPTS = 3
_PLACEHOLDER = re.compile(r"(\"?)<([A-Za-z0-9_.\-]+)>(\"?)")


class TransformError(ValueError):
    """An input transformer refers to something the event does not have."""


def _json_path(event: Mapping[str, Any], path: str) -> Any:
    """Value at a ``$.a.b`` path (the subset of JsonPath EventBridge input paths use)."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise TransformError(f"input path {path!r} must start with '$.'")
    node: Any = event
    for part in path[2:].split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def apply_input_transformer(transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """What EventBridge sends to a target for ``event``: the template rendered with the paths.

    A placeholder inside quotes takes the value's text (JSON-escaped); outside quotes, the
    value's JSON. A path the event lacks renders as ``null`` outside quotes, empty inside.
    """
    paths = transformer.get("InputPathsMap") or {}
    values = {name: _json_path(event, path) for name, path in paths.items()}
    values["aws.events.event.json"] = event
    values["aws.events.rule-name"] = None
    template = str(transformer.get("InputTemplate", ""))

    def render(match: re.Match[str]) -> str:
        open_quote, name, close_quote = match.groups()
        if name not in values:
            return match.group(0)
        value = values[name]
        if open_quote and close_quote:
            if value is None:
                return '""'
            text = value if isinstance(value, str) else json.dumps(value)
            return json.dumps(text)
        return open_quote + json.dumps(value) + close_quote

    return _PLACEHOLDER.sub(render, template)


def _iso_time(value: Any) -> str:
    if isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str) and value:
        return value
    else:
        moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_s3_event(raw: Mapping[str, Any]) -> dict[str, Any]:
    """moto's S3 EventBridge event in the shape AWS documents (``etag``, ISO time, real id)."""
    event = json.loads(json.dumps(raw))
    event["id"] = str(uuid.uuid4())
    event["time"] = _iso_time(event.get("time"))
    obj = event.get("detail", {}).get("object", {})
    if "eTag" in obj:
        obj["etag"] = obj.pop("eTag")
    if obj.get("version-id") is None:
        obj.pop("version-id", None)
    return dict(event)


def make_event(source: str, detail_type: str, detail: Mapping[str, Any], region: str,
               resources: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """An EventBridge event envelope as AWS services emit it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": _iso_time(None),
        "region": region,
        "resources": resources or [],
        "detail": dict(detail),
    }


@dataclass
class Delivery:
    """What happened to one event: which rules matched, what each target got."""

    event: dict[str, Any]
    rules: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)


class EventBus:
    """Routes events through the template's rules to SQS targets and local functions."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.sqs = stack.client("sqs")
        self.deliveries: list[Delivery] = []
        self.failed_invocations: list[tuple[str, dict[str, Any], str]] = []

    def matching_rules(self, event: Mapping[str, Any]) -> list[EventRule]:
        return [
            rule
            for rule in self.stack.rules
            if rule.enabled and EventPattern(None, dict(rule.pattern)).matches_event(dict(event))  # type: ignore[arg-type]
        ]

    def publish(self, event: dict[str, Any]) -> Delivery:
        """Deliver one event to every target of every matching rule (functions run now)."""
        delivery = Delivery(event=event)
        for rule in self.matching_rules(event):
            delivery.rules.append(rule.name)
            for target in rule.targets:
                delivery.results.append(self._send(rule, target, event))
        if not delivery.rules:
            log.info("event %s (%s) matched no rule", event.get("detail-type"), event.get("id"))
        self.deliveries.append(delivery)
        return delivery

    def _send(self, rule: EventRule, target: RuleTarget, event: dict[str, Any]) -> Any:
        payload: Any = event
        if target.input_transformer:
            payload = json.loads(apply_input_transformer(target.input_transformer, event))
        if target.function is not None:
            log.info("rule %s -> function %s", rule.name, target.function.logical_id)
            return self._invoke_async(target.function, payload)
        if ":sqs:" in target.arn:
            request: dict[str, Any] = {
                "QueueUrl": self.stack.queue_url(target.arn),
                "MessageBody": payload if isinstance(payload, str) else json.dumps(payload),
            }
            if target.message_group_id:
                request["MessageGroupId"] = target.message_group_id
            log.info("rule %s -> queue %s", rule.name, target.arn.rsplit(":", 1)[-1])
            return self.sqs.send_message(**request).get("MessageId")
        log.warning("rule %s: target %s is not delivered locally", rule.name, target.arn)
        return None

    def _invoke_async(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        """EventBridge invokes asynchronously: Lambda retries a failing invocation twice, then
        parks the event on the function's dead-letter queue (or drops it when it has none)."""
        error: Exception | None = None
        for attempt in range(1, ASYNC_ATTEMPTS + 1):
            try:
                return function.invoke(event)
            except Exception as exc:  # a failing function is an outcome, not a crash
                error = exc
                log.error(
                    "%s failed on %s (attempt %d of %d): %s",
                    function.logical_id, event.get("detail-type"), attempt, ASYNC_ATTEMPTS, exc,
                    exc_info=True,
                )  # fmt: skip
        message = f"{type(error).__name__}: {error}"
        self.failed_invocations.append((function.logical_id, event, message))
        if function.dead_letter_arn:
            self.sqs.send_message(
                QueueUrl=self.stack.queue_url(function.dead_letter_arn),
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "ErrorCode": {"DataType": "String", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": message[:1000]},
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                },
            )
        return None

    def drain_s3_events(self) -> int:
        """Move the S3 events moto emitted into the rules; returns how many were delivered."""
        delivered = 0
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.stack.tap_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return delivered
            for message in batch:
                self.publish(normalise_s3_event(json.loads(message["Body"])))
                self.sqs.delete_message(
                    QueueUrl=self.stack.tap_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                delivered += 1
