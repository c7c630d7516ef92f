"""SQS FIFO -> the dump queue's consumer: each record is one S3 object event or a replay.

The queue has a single message group, so a record SQS retries holds every record after it.
Once a dump is recorded its record is acknowledged whatever happens next (the state table
and the sweeper retry); only a record that could not be recorded is retried, until
``Intake.receive`` puts it on the DLQ. A record that can never succeed is logged and
dropped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from dumpflow.control.errors import RetryLater
from dumpflow.control.intake import Intake
from dumpflow.control.messages import BadMessage
from dumpflow.handlers.runtime import control_context, control_logs_through, powertools

logger, tracer, metrics = powertools("dumpflow-ingest")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    intake = Intake(control_context(metrics))

    def record_handler(record: SQSRecord) -> str:
        logger.append_keys(message_id=record.message_id)
        try:
            outcome = intake.receive(
                record.body, message_id=record.message_id, receive_count=_receive_count(record)
            )
        except BadMessage as exc:
            metrics.add_metric(name="BadMessages", unit="Count", value=1)
            logger.error(
                "dropping message %s: %s",
                record.message_id,
                exc,
                extra={"stage": "ingest", "body": record.body[:1000]},
            )
            return "dropped"
        except Exception as exc:
            log = logger.warning if isinstance(exc, RetryLater) else logger.exception
            log(
                "message %s could not be recorded (%s); SQS delivers it again",
                record.message_id,
                exc,
                extra={"stage": "ingest"},
            )
            raise
        logger.info("message %s: %s", record.message_id, outcome)
        return str(outcome)

    with control_logs_through(logger):
        return process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=SqsFifoPartialProcessor(),
            context=context,
        )


def _receive_count(record: SQSRecord) -> int:
    """SQS's ApproximateReceiveCount (1 when absent or unreadable: retry rather than park)."""
    raw = str(record.attributes.get("ApproximateReceiveCount") or "1")
    return int(raw) if raw.isdigit() else 1
