"""One business day of the source system: what happens between two consecutive dumps.

Scheduled transitions follow the contract dates (reservations move in, notices become
expected move-outs, expected move-outs leave); on top of that a day brings a scaled number
of new inquiries, viewings, reservations, notices, renewals and cancellations.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dumpflow.sample.rows import Moving, Room, Tenant
from dumpflow.sample.world import INCOMING_STATUSES, OCCUPYING_STATUSES, World

# Events per day at scale 1 (16,000 rooms, ~12,000 residents, average stay about a year).
DAILY_RATES: dict[str, float] = {
    "inquiries": 60,
    "viewings_scheduled": 40,
    "viewings_done": 36,
    "reservations": 33,
    "notices": 32,
    "renewals": 12,
    "cancellations": 3,
}


def _count(world: World, event: str) -> int:
    """How many ``event``s today: the scaled rate with some noise, at least one."""
    expected = DAILY_RATES[event] * world.size_factor
    return max(1, round(expected * world.rng.uniform(0.6, 1.4)))


def _pick(world: World, candidates: list[Tenant], event: str) -> list[Tenant]:
    return world.rng.sample(candidates, min(_count(world, event), len(candidates)))


def _with_status(world: World, statuses: set[int] | frozenset[int]) -> list[Tenant]:
    return [t for t in world.tenants.values() if t.status in statuses]


def _touch(tenant: Tenant, status: int, at: dt.datetime) -> None:
    tenant.status, tenant.updated_at = status, at


def _move_in(world: World, tenant: Tenant, moving: Moving, day: dt.date) -> None:
    _touch(tenant, 7, world.stamp(day))
    world.set_room_status(world.rooms[moving.room_id], 1, moving.id, day)


def _move_out(world: World, tenant: Tenant, moving: Moving, day: dt.date) -> None:
    at = world.stamp(day)
    moving.is_moveout, moving.updated_at = 1, at
    if world.rng.random() < 0.5:
        moving.moveout_date_integrated = moving.moveout_plans_date
    tenant.reason_moveout = world.rng.randint(0, 7)
    _touch(tenant, 17, at)
    room = world.rooms[moving.room_id]
    if room.moving_id == moving.id:
        world.set_room_status(room, 0, None, day)


def _settled_in(tenant: Tenant, movein: object, day: dt.date) -> bool:
    """A few days after moving in (or renewing) a tenant is simply 'in residence' (9)."""
    if tenant.status == 7:
        return isinstance(movein, dt.date) and movein <= day - dt.timedelta(days=3)
    return tenant.status == 10 and tenant.updated_at.date() < day - dt.timedelta(days=5)


def _scheduled(world: World, day: dt.date) -> None:
    """Transitions the contract dates dictate, whatever else happens today."""
    for tenant in list(world.tenants.values()):
        moving = world.current_moving(tenant)
        if moving is None or tenant.status not in OCCUPYING_STATUSES:
            continue
        movein = moving.movein_date
        if tenant.status in INCOMING_STATUSES:
            if isinstance(movein, dt.date) and movein <= day:
                _move_in(world, tenant, moving, day)
            elif tenant.status in (4, 5) and world.rng.random() < 0.25:
                _touch(tenant, tenant.status + 1, world.stamp(day))
        elif _settled_in(tenant, movein, day):
            _touch(tenant, 9, world.stamp(day))
        elif tenant.status in (14, 15) and isinstance(moving.moveout_plans_date, dt.date):
            if moving.moveout_plans_date < day:
                _move_out(world, tenant, moving, day)
            elif tenant.status == 14 and moving.moveout_plans_date <= day + dt.timedelta(7):
                _touch(tenant, 15, world.stamp(day))


def _notices(world: World, day: dt.date) -> None:
    for tenant in _pick(world, _with_status(world, {9}), "notices"):
        moving = world.current_moving(tenant)
        if moving is None:
            continue
        at = world.stamp(day)
        out = day + dt.timedelta(days=world.rng.randint(14, 60))
        moving.moveout_receipt_date = day - dt.timedelta(days=1)
        moving.moveout_plans_date = moving.moveout_date = out
        moving.updated_at = at
        _touch(tenant, 14, at)


def _renewals(world: World, day: dt.date) -> None:
    """Renewed contracts; half the time the old contract is never closed (a duplicate)."""
    for tenant in _pick(world, _with_status(world, {9}), "renewals"):
        old = world.current_moving(tenant)
        if old is None or not isinstance(old.movein_date, dt.date):
            continue
        at = world.stamp(day)
        room = world.rooms[old.room_id]
        new = world.new_moving(tenant, room, old.movein_date, day, at, renewal_of=old)
        if world.rng.random() < 0.5:
            old.is_moveout, old.updated_at = 1, at
        _touch(tenant, 10, at)
        if room.moving_id == old.id:
            world.set_room_status(room, 1, new.id, day)


def _occupants(world: World) -> dict[int, list[tuple[Tenant, Moving]]]:
    """Room id -> the occupying tenants whose current contract is for that room."""
    found: dict[int, list[tuple[Tenant, Moving]]] = {}
    for tenant in world.tenants.values():
        moving = world.current_moving(tenant)
        if moving is not None and tenant.status in OCCUPYING_STATUSES:
            found.setdefault(moving.room_id, []).append((tenant, moving))
    return found


def _reservations(world: World, day: dt.date) -> None:
    """Viewed prospects reserve a free room, or (turnover) a room whose tenant gave notice."""
    rng = world.rng
    viewed = _pick(world, _with_status(world, {3}), "reservations")
    occupants = _occupants(world) if viewed else {}
    free: list[Room] = [room for room in world.rooms.values() if room.id not in occupants]
    leaving: list[tuple[Room, dt.date]] = []
    for room_id, held in occupants.items():
        if len(held) == 1 and held[0][0].status in (14, 15):
            planned = held[0][1].moveout_plans_date
            if isinstance(planned, dt.date):
                leaving.append((world.rooms[room_id], planned))
    for tenant in viewed:
        if leaving and (not free or rng.random() < 0.3):
            room, planned = leaving.pop(rng.randrange(len(leaving)))
            movein = max(planned + dt.timedelta(days=rng.randint(1, 7)), day + dt.timedelta(5))
        elif free:
            room = free.pop(rng.randrange(len(free)))
            movein = day + dt.timedelta(days=rng.randint(5, 30))
        else:
            break
        at = world.stamp(day)
        world.new_moving(tenant, room, movein, day, at)
        _touch(tenant, 4, at)


def _cancellations(world: World, day: dt.date) -> None:
    for tenant in _pick(world, _with_status(world, {4, 5, 6}), "cancellations"):
        moving = world.current_moving(tenant)
        if moving is None:
            continue
        at = world.stamp(day)
        moving.cancel_flag, moving.updated_at = 1, at
        _touch(tenant, 8, at)


def _prospects(world: World, day: dt.date) -> None:
    for tenant in _pick(world, _with_status(world, {2}), "viewings_done"):
        _touch(tenant, 3, world.stamp(day))
    for tenant in _pick(world, _with_status(world, {0}), "viewings_scheduled"):
        _touch(tenant, 2, world.stamp(day))
    for _ in range(_count(world, "inquiries")):
        world.new_tenant(0, world.stamp(day))
    if world.rng.random() < 0.5:
        world.new_inquiry(None, world.stamp(day))


def _vacancies(world: World, day: dt.date) -> None:
    vacant: dict[int, int] = {}
    for room in world.rooms.values():
        vacant[room.apartment_id] = vacant.get(room.apartment_id, 0) + (room.status == 0)
    for apartment in world.apartments:
        if apartment.vacancy_room_count != vacant.get(apartment.id, 0):
            apartment.vacancy_room_count = vacant.get(apartment.id, 0)
            apartment.updated_at = world.stamp(day)


def _evening_edits(world: World, day: dt.date) -> None:
    """Every table changes in the evening before the dump, as the real source does (staff
    edit listings and contracts until late): a small sample's few daily events can otherwise
    all fall before noon, and the quality gate would call a live table stale."""
    noon = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12))
    if max(i.updated_at for i in world.inquiries) < noon:
        world.new_inquiry(None, world.evening(day))
    if max(t.updated_at for t in world.tenants.values()) < noon:
        world.new_tenant(0, world.evening(day))
    tables: list[list[Any]] = [
        list(world.rooms.values()),
        world.apartments,
        [m for m in world.movings.values() if not m.is_moveout],
    ]
    for candidates in tables:
        if candidates and max(r.updated_at for r in candidates) < noon:
            # a listing or contract detail edited (no business field changes)
            world.rng.choice(candidates).updated_at = world.evening(day)


def advance(world: World) -> None:
    """Move the world to the next business day."""
    day = world.today + dt.timedelta(days=1)
    world.today = day
    _scheduled(world, day)
    _notices(world, day)
    _renewals(world, day)
    _cancellations(world, day)
    _reservations(world, day)
    _prospects(world, day)
    _vacancies(world, day)
    _evening_edits(world, day)


def settle(world: World) -> None:
    """Bring a freshly built world's derived columns (vacancy counts) in line with its rows,
    and give its first day the evening edits every later day has."""
    _vacancies(world, world.today)
    _evening_edits(world, world.today)
