"""moto's HTTP server in this process, on a free port, with Glue/ECS held in their running states.

The handlers talk to it through ``AWS_ENDPOINT_URL`` like they would to AWS. moto would
otherwise report every Glue run and ECS task finished the moment it is described; the local
runners decide when work ends, so the server holds both until a runner finishes them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_api import state_manager
from moto.server import ThreadedMotoServer

log = logging.getLogger(__name__)

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
HELD_MODELS = ("glue::job_run", "ecs::task")
_NEVER = {"progression": "manual", "times": 2**62}


@dataclass(frozen=True, slots=True)
class MotoEndpoint:
    """Where the in-process moto server listens and how to make clients for it."""

    url: str
    region: str

    def client(self, service: str) -> Any:
        factory: Any = boto3.client
        return factory(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def environment(self) -> dict[str, str]:
        """Variables that point any boto3 client in this process at the server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **FAKE_CREDENTIALS,
        }


def _reset(url: str) -> None:
    """moto keeps its resources per process: start and end with none, like a fresh account."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@contextlib.contextmanager
def moto_server(region: str) -> Iterator[MotoEndpoint]:
    """Run moto on 127.0.0.1 and a free port; restore moto's global state when done."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset(url)
    for model in HELD_MODELS:
        state_manager.set_transition(model, dict(_NEVER))
    log.info("moto server listening on http://%s:%d", host, port)
    try:
        yield MotoEndpoint(url=url, region=region)
    finally:
        for model in HELD_MODELS:
            state_manager.unset_transition(model)
        _reset(url)
        server.stop()
        log.info("moto server stopped")


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore the previous ones."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in previous.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
