"""Handlers run as Lambda runs them: settings from the environment, AWS through moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.moto_api import state_manager

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


@pytest.fixture()
def glue_runs_stay_running() -> Iterator[None]:
    """Glue runs stay RUNNING (so MaxConcurrentRuns applies) until the test ends them."""
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 10**6})
    yield
    state_manager.unset_transition("glue::job_run")
