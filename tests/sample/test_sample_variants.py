"""Sample dumps for the quality gate: good days are fresh from day 1 on, whatever the seed and
scale; each ``--variant`` makes exactly its one kind of bad last day."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dumpflow.cli.main import app
from dumpflow.db import Dsn
from dumpflow.sample import SampleDumpError, write_sample_dumps
from dumpflow.sample.evolve import advance, settle
from dumpflow.sample.world import World, build_world

START = dt.date(2026, 3, 1)


def newest(world: World) -> dict[str, dt.datetime]:
    return {
        "apartments": max(a.updated_at for a in world.apartments),
        "rooms": max(r.updated_at for r in world.rooms.values()),
        "tenants": max(t.updated_at for t in world.tenants.values()),
        "movings": max(m.updated_at for m in world.movings.values()),
        "inquiries": max(i.updated_at for i in world.inquiries),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.002, 0.005, 0.01, 0.03]),
    days=st.integers(1, 4),
)
def test_every_required_table_changed_after_noon_the_day_before_each_date(
    seed: int, scale: float, days: int
) -> None:
    """The gate's default freshness limit (36 h before the end of the date = 12:00 JST the
    day before) holds for every table on every day, day 1 included (rooms too)."""
    world = build_world(seed, scale, START)
    settle(world)
    for index in range(days):
        if index:
            advance(world)
        noon = dt.datetime.combine(world.today - dt.timedelta(days=1), dt.time(12))
        end = dt.datetime.combine(world.today, dt.time())
        for table, at in newest(world).items():
            assert noon <= at < end, (world.today, table, at)


@pytest.mark.parametrize(
    ("variant", "days", "match"),
    [
        ("bogus", 2, "unknown variant 'bogus'"),
        ("shrunk", 1, "at least 2 days"),
        ("dropped-column", 1, "at least 2 days"),
    ],
)
def test_impossible_variants_are_refused_before_anything_is_written(
    tmp_path: Path, variant: str, days: int, match: str
) -> None:
    with pytest.raises(SampleDumpError, match=match):
        write_sample_dumps(tmp_path / "out", START, days, scale=0.01, variant=variant)
    assert not (tmp_path / "out").exists()


def test_the_cli_names_a_bad_variant(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sample-dump", "--date", "2026-03-01", "--out", str(tmp_path), "--variant", "old"]
    )
    assert result.exit_code == 1 and "unknown variant 'old'" in result.output


def _create(sql: str, table: str) -> str:
    found = re.search(rf"CREATE TABLE `{table}` \((.*?)\n\)", sql, re.S)
    assert found, table
    return found.group(1)


def _tenant_rows(sql: str) -> int:
    inserts = re.findall(r"INSERT INTO `tenants` VALUES (.*?);\n", sql, re.S)
    return sum(part.count("),(") + 1 for part in inserts)


@pytest.mark.mariadb
def test_each_variant_changes_only_its_last_day(mariadb_dsn: Dsn, tmp_path: Path) -> None:
    good = write_sample_dumps(tmp_path / "good", START, 2, scale=0.01, dsn=mariadb_dsn)
    made = {
        variant: write_sample_dumps(
            tmp_path / variant, START, 2, scale=0.01, dsn=mariadb_dsn, variant=variant
        )
        for variant in ("stale", "shrunk", "dropped-column")
    }
    for dumps in made.values():
        assert dumps[0].path.read_bytes() == good[0].path.read_bytes()
        assert dumps[1].dump_date == good[1].dump_date
        assert dumps[1].path.name == good[1].path.name
    # stale: yesterday's bytes under today's name, the manifest honest about them
    stale = made["stale"][1]
    assert stale.path.read_bytes() == good[0].path.read_bytes()
    assert stale.manifest["max_updated_at_by_table"] == good[0].manifest["max_updated_at_by_table"]
    assert stale.manifest["dump_key"].endswith(good[1].path.name)
    # shrunk: half of tenants gone
    day_2 = good[1].path.read_text()
    shrunk = made["shrunk"][1].path.read_text()
    assert _tenant_rows(shrunk) == _tenant_rows(day_2) - _tenant_rows(day_2) // 2
    # dropped-column: rooms without rent, everything else as on the good day 2
    dropped = made["dropped-column"][1].path.read_text()
    assert "`rent`" in _create(day_2, "rooms") and "`rent`" not in _create(dropped, "rooms")
    assert _create(dropped, "tenants") == _create(day_2, "tenants")
