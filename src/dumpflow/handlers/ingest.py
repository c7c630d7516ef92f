"""SQS FIFO -> the dump queue's consumer: each record is one S3 object event or a replay.

Partial batch responses: a record that fails for a transient reason is retried (and, FIFO,
so are the records after it); a record that can never succeed is logged and dropped.
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
            outcome = intake.handle(record.body)
        except BadMessage as exc:
            metrics.add_metric(name="BadMessages", unit="Count", value=1)
            logger.error(
                "dropping message %s: %s",
                record.message_id,
                exc,
                extra={"stage": "ingest", "body": record.body[:1000]},
            )
            return "dropped"
        except RetryLater as exc:
            logger.warning("message %s will be retried: %s", record.message_id, exc)
            raise
        except Exception:
            logger.exception("message %s failed; SQS will deliver it again", record.message_id)
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
