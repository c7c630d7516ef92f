"""moto as a Lambda container on this machine reaches it: a second listener on Docker's bridge.

``sam local invoke`` runs a function in a container on Docker's default bridge network, where
127.0.0.1 is the container itself (SAM 1.170 accepts ``--docker-network host`` but never puts a
Lambda container on the host's network). moto keeps its resources per process, so a second
server in this process, bound to the bridge's gateway address (the host's side of ``docker0``,
reachable from this machine and its containers only), serves the very same local stack.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import socket
import struct
from collections.abc import Iterator

from moto.server import ThreadedMotoServer

from dumpflow.local.moto_server import MotoEndpoint

log = logging.getLogger(__name__)

DOCKER_BRIDGE = "docker0"
_SIOCGIFADDR = 0x8915


class NoDockerBridge(RuntimeError):
    """The Docker bridge interface is missing: no engine has set up its default network."""


def bridge_address(interface: str = DOCKER_BRIDGE) -> str:
    """The IPv4 address of the host on the Docker bridge (what containers call the host)."""
    request = struct.pack("256s", interface.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
        except OSError as exc:
            raise NoDockerBridge(
                f"no IPv4 address on {interface} ({exc.strerror}): is the Docker engine running "
                "(scripts/docker-engine start)?"
            ) from exc
    return socket.inet_ntoa(answer[20:24])


@contextlib.contextmanager
def container_endpoint(region: str, address: str | None = None) -> Iterator[MotoEndpoint]:
    """Serve this process's moto on the bridge address too, on a free port, while in use."""
    host = address or bridge_address()
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    bound, port = server.get_host_and_port()
    log.info("moto for containers at http://%s:%d", bound, port)
    try:
        yield MotoEndpoint(url=f"http://{bound}:{port}", region=region)
    finally:
        server.stop()
