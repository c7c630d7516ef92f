"""The fault explorer's runs (tests/control/explorer.py): seeded, deterministic.

The default seeds run in make test; ``DUMPFLOW_EXPLORER_SEEDS=200`` explores deeper.
"""

from __future__ import annotations

import os

import pytest

from control.aws_world import World
from control.explorer import Explorer

SEEDS = int(os.environ.get("DUMPFLOW_EXPLORER_SEEDS", "3"))


@pytest.mark.parametrize("seed", range(SEEDS))
def test_every_dump_settles_once_whatever_dies_or_loses_its_response(
    world: World, seed: int
) -> None:
    report = Explorer(world, seed).explore(steps=30)
    assert report.violations == [], (
        f"seed {seed}: {report.steps} steps, {report.faults_fired} faults, "
        f"{report.kills} kills, {report.lost_events} lost events"
    )


def test_the_explorer_does_inject_faults(world: World) -> None:
    """A run that never fired a fault would prove nothing."""
    report = Explorer(world, 1, fault_rate=1.0).explore(steps=30)
    assert report.faults_fired >= 4 and report.kills >= 3, report
    assert report.violations == []
