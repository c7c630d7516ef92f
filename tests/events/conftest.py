"""Handlers run as Lambda runs them: settings from the environment, AWS through moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from control.aws_world import World, create_deployment, fake_credentials, settings_env


@pytest.fixture()
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A moto deployment whose names are in the environment, as template.yaml sets them."""
    fake_credentials(monkeypatch)
    with mock_aws():
        world = World(create_deployment())
        for name, value in settings_env(world.settings).items():
            monkeypatch.setenv(name, value)
        yield world
