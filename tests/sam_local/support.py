"""What the container tests share besides fixtures: the container world and small helpers."""

from __future__ import annotations

import subprocess

from dumpflow.local.sam_invoke import SamInvocation, SamLocal
from dumpflow.local.sample_world import SampleWorld

REGION = "ap-northeast-1"


class ContainerWorld(SampleWorld):
    """A sample world whose functions run in containers by ``sam local invoke``."""

    def __init__(self, world: SampleWorld, sam: SamLocal) -> None:
        super().__init__(world.runtime, world.samples)
        self.sam = sam
        self.invocations: list[SamInvocation] = []

    def invoke_in_container(self, function: str, sample: str) -> object:
        invocation = self.sam.invoke(function, self.samples.path(sample))
        self.invocations.append(invocation)
        return invocation.payload


def offline(command: list[str]) -> list[str]:
    """``command`` in a network namespace of its own: no network at all, loopback down."""
    return ["unshare", "--map-root-user", "--net", *command]


def python_in(image: str, code: str) -> str:
    """Run Python in a container of ``image`` with the runtime's packages on the path."""
    done = subprocess.run(
        ["docker", "run", "--rm", "-e", "PYTHONPATH=/var/runtime", image, "python3.11", "-c",
         code],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()
