"""Fixtures of the CLI tests: a moto deployment of dumpflow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.aws_world import World, build_world


@pytest.fixture()
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    yield from build_world(monkeypatch)
