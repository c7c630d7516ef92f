"""The fault explorer's runs (tests/control/explorer.py): seeded, deterministic.

The default seeds run in make test; ``pytest --deep`` explores 200 seeds with more dumps and
steps, and ``DUMPFLOW_EXPLORER_SEEDS=N`` sets the number of seeds in either mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from control.aws_world import World, create_deployment
from control.explorer import Explorer

DEFAULT_SEEDS = 3
DEEP_SEEDS = 200


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The seeds to explore: ``DUMPFLOW_EXPLORER_SEEDS`` if set, else 3 (200 with --deep)."""
    if "seed" not in metafunc.fixturenames:
        return
    deep = bool(metafunc.config.getoption("--deep"))
    default = DEEP_SEEDS if deep else DEFAULT_SEEDS
    seeds = int(os.environ.get("DUMPFLOW_EXPLORER_SEEDS", str(default)))
    metafunc.parametrize("seed", range(seeds))
    metafunc.parametrize("deep", [deep], ids=["deep" if deep else "quick"])


def share_of(seed: int) -> int:
    """``daily_starts_per_backfill`` for a seed: odd seeds let a backfill in after every daily
    start, so the share, not only the date order, is exercised with a few dumps."""
    return 1 if seed % 2 else 4


@pytest.fixture()
def seeded_world(aws_environment: None, seed: int) -> Iterator[World]:
    with mock_aws():
        yield World(create_deployment(daily_starts_per_backfill=share_of(seed)))


def test_every_dump_settles_once_whatever_dies_or_loses_its_response(
    seeded_world: World, seed: int, deep: bool
) -> None:
    dumps, steps = (3 + seed % 3, 45) if deep else (3, 30)
    report = Explorer(seeded_world, seed, dumps=dumps).explore(steps=steps)
    assert report.violations == [], report


def test_the_explorer_does_inject_faults(world: World) -> None:
    """A run that never fired a fault would prove nothing."""
    report = Explorer(world, 1, fault_rate=1.0).explore(steps=30)
    assert report.faults_fired >= 4 and report.kills >= 3, report
    assert report.violations == []


def test_the_explorer_does_replay_backfill_and_upload_late_manifests(aws_environment: None) -> None:
    """The operator's moves and the late manifests happen, and the start rule is checked at
    mixed slot requests: an explorer that silently stopped making them would prove nothing."""
    with mock_aws():
        world = World(create_deployment(daily_starts_per_backfill=1))
        report = Explorer(world, 7, dumps=4, operator_rate=0.4).explore(steps=40)
    assert report.replays > 0 and report.backfills > 0, report
    assert report.late_manifests > 0 and report.starts_checked >= 4, report
    assert report.contested_starts > 0, report  # the daily-first share was decided
    assert report.violations == [], report
