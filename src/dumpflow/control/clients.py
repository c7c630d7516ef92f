"""AWS clients made on first use: moto, the local stack (AWS_ENDPOINT_URL) and Lambda all work."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import boto3


class AwsClients:
    """One lazily created boto3 client per service the control plane calls."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session

    @cached_property
    def session(self) -> boto3.session.Session:
        return self._session or boto3.session.Session()

    @cached_property
    def dynamodb(self) -> Any:
        return self.session.client("dynamodb")

    @cached_property
    def s3(self) -> Any:
        return self.session.client("s3")

    @cached_property
    def sqs(self) -> Any:
        return self.session.client("sqs")

    @cached_property
    def glue(self) -> Any:
        return self.session.client("glue")

    @cached_property
    def ecs(self) -> Any:
        return self.session.client("ecs")
