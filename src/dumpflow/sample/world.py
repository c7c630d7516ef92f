"""The simulated source system: its rows, id counters and the factories that make new rows.

One ``World`` is the whole operational database on one business date. ``build_world``
creates the state on the first date; ``evolve.advance`` moves it one day forward. Every
random choice comes from one ``random.Random`` so the same seed gives the same dumps.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from dumpflow.sample import vocabulary as voc
from dumpflow.sample.rows import Apartment, Inquiry, Moving, Room, RoomStatusLog, Tenant

#: Tenant statuses that hold a room (SOURCE_SCHEMA.md: tentative reservation .. expected
#: move-out, except 8 cancelled).
OCCUPYING_STATUSES = frozenset({4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15})
#: Reserved, not yet moved in.
INCOMING_STATUSES = frozenset({4, 5, 6, 11, 12})
ROOMS_AT_SCALE_1 = 16_000
ZERO_DATE = "0000-00-00"


@dataclass(slots=True)
class World:
    """All rows of the source system plus the counters for the next ids."""

    rng: random.Random
    today: dt.date
    apartments: list[Apartment] = field(default_factory=list)
    rooms: dict[int, Room] = field(default_factory=dict)
    tenants: dict[int, Tenant] = field(default_factory=dict)
    movings: dict[int, Moving] = field(default_factory=dict)
    inquiries: list[Inquiry] = field(default_factory=list)
    room_logs: list[RoomStatusLog] = field(default_factory=list)
    next_tenant_id: int = 1
    next_moving_id: int = 1
    next_inquiry_id: int = 1

    @property
    def size_factor(self) -> float:
        """Rooms relative to the real portfolio: scales the number of daily events."""
        return len(self.rooms) / ROOMS_AT_SCALE_1

    def stamp(self, day: dt.date | None = None) -> dt.datetime:
        """A time during office hours of the day before ``day`` (changes precede the dump)."""
        base = (day or self.today) - dt.timedelta(days=1)
        seconds = self.rng.randint(9 * 3600, 21 * 3600)
        return dt.datetime.combine(base, dt.time()) + dt.timedelta(seconds=seconds)

    def evening(self, day: dt.date | None = None) -> dt.datetime:
        """A time in the evening (18:00-21:00) of the day before ``day``: the last edits of a
        business day, after the quality gate's freshness limit (12:00 on that day)."""
        base = (day or self.today) - dt.timedelta(days=1)
        seconds = self.rng.randint(18 * 3600, 21 * 3600)
        return dt.datetime.combine(base, dt.time()) + dt.timedelta(seconds=seconds)

    def new_inquiry(self, tenant_id: int | None, at: dt.datetime) -> Inquiry:
        inquiry = Inquiry(
            id=self.next_inquiry_id,
            tenant_id=tenant_id,
            channel=self.rng.choice(voc.MEDIA),
            note=self.rng.choice(("", "内見希望", "長期滞在希望", "Wi-Fi環境について", "NULL")),
            created_at=at,
            updated_at=at,
        )
        self.next_inquiry_id += 1
        self.inquiries.append(inquiry)
        return inquiry

    def new_tenant(self, status: int, at: dt.datetime) -> Tenant:
        """A person who inquired at ``at``, with an inquiry row of their own."""
        rng = self.rng
        tenant_id = self.next_tenant_id
        self.next_tenant_id += 1
        nationality_id = 1 if rng.random() < 0.55 else rng.randint(2, len(voc.NATIONALITIES))
        if nationality_id == 1:
            last, first = rng.choice(voc.JAPANESE_LAST_NAMES), rng.choice(voc.JAPANESE_FIRST_NAMES)
            full = f"{last} {first}"
        else:
            last, first = rng.choice(voc.FOREIGN_NAMES)
            full = f"{first} {last}"
        if rng.random() < 0.02:
            full = "NULL"
        if rng.random() < 0.01:
            last = "NULL"
        born = dt.date(rng.randint(1968, 2005), rng.randint(1, 12), rng.randint(1, 28))
        birth: dt.date | str = born
        age: int | None = (self.today - born).days // 365
        if rng.random() < 0.03:
            birth, age = ZERO_DATE, None
        inquiry = self.new_inquiry(tenant_id, at)
        tenant = Tenant(
            id=tenant_id,
            moving_id=None,
            inquiry_id=inquiry.id,
            status=status,
            contract_type=rng.choices((1, 2, 3, 6, 7, 0), weights=(70, 8, 6, 8, 6, 2))[0],
            full_name=full,
            last_name=last,
            first_name=first,
            gender_type=rng.choices((1, 2, 3), weights=(48, 50, 2))[0],
            birth_date=birth,
            age=age,
            nationality=voc.NATIONALITIES[nationality_id - 1],
            m_nationality_id=nationality_id,
            affiliation=rng.choice(voc.AFFILIATIONS),
            affiliation_type=rng.randint(1, 18),
            personal_identity=rng.randint(1, 8),
            media_id=rng.randint(1, len(voc.MEDIA)),
            reason_moveout=None,
            created_at=at,
            updated_at=at,
        )
        self.tenants[tenant_id] = tenant
        return tenant

    def new_moving(
        self,
        tenant: Tenant,
        room: Room,
        movein: dt.date,
        decided: dt.date,
        at: dt.datetime,
        *,
        renewal_of: Moving | None = None,
    ) -> Moving:
        """A contract of ``tenant`` for ``room``; the tenant's current contract from now on."""
        rng = self.rng
        start = movein
        if renewal_of is not None and isinstance(renewal_of.expiration_date, dt.date):
            start = renewal_of.expiration_date + dt.timedelta(days=1)
        original: dt.date | str = (
            renewal_of.original_movein_date if renewal_of is not None else movein
        ) or movein
        if rng.random() < 0.02:
            original = ZERO_DATE
        moving = Moving(
            id=self.next_moving_id,
            tenant_id=tenant.id,
            apartment_id=room.apartment_id,
            room_id=room.id,
            movein_date=movein,
            movein_decided_date=decided,
            original_movein_date=original,
            rent_start_date=start,
            expiration_date=start + dt.timedelta(days=rng.choice((180, 365, 730))),
            moveout_receipt_date=None,
            moveout_date=None,
            moveout_plans_date=None,
            moveout_date_integrated=None,
            moving_agreement_type=tenant.contract_type,
            rent=room.rent,
            condo_fee=room.condo_fee,
            administrative_fee=rng.choice((0, 0, 30_000)),
            cancel_flag=None if rng.random() < 0.3 else 0,
            is_moveout=0,
            move_renew_flag=1 if renewal_of is not None else 0,
            created_at=at,
            updated_at=at,
        )
        self.next_moving_id += 1
        self.movings[moving.id] = moving
        tenant.moving_id = moving.id
        return moving

    def set_room_status(self, room: Room, status: int, moving_id: int | None, day: dt.date) -> None:
        """Point the room at its current lease and log the change like the source app does."""
        if room.status == status and room.moving_id == moving_id:
            return
        at = self.stamp(day)
        self.room_logs.append(
            RoomStatusLog(len(self.room_logs) + 1, room.id, room.status, status, at)
        )
        room.status, room.moving_id, room.updated_at = status, moving_id, at

    def current_moving(self, tenant: Tenant) -> Moving | None:
        return self.movings.get(tenant.moving_id) if tenant.moving_id is not None else None


def _apartment(world: World, apartment_id: int, room_count: int, at: dt.datetime) -> Apartment:
    rng = world.rng
    ward, ward_en, zip_prefix = rng.choice(voc.WARDS)
    house, house_en = rng.choice(voc.HOUSE_WORDS)
    street = rng.choice(voc.STREETS)
    return Apartment(
        id=apartment_id,
        unique_number=f"GG{apartment_id:05d}",
        apartment_name=f"{house}{ward.removesuffix('区')}{street}{apartment_id}",
        apartment_name_en=f"{house_en} {ward_en} {apartment_id}",
        prefecture="東京都",
        municipality=ward,
        address=f"{ward}{street}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
        zip_code=f"{zip_prefix}-{rng.randint(0, 9999):04d}",
        latitude=f"{35.60 + rng.random() * 0.2:.7f}",
        longitude=f"{139.60 + rng.random() * 0.25:.7f}",
        room_count=room_count,
        vacancy_room_count=0,
        created_at=at,
        updated_at=at,
    )


def _room(world: World, room_id: int, apartment_id: int, number: int, at: dt.datetime) -> Room:
    rng = world.rng
    floor = 1 + (number - 1) // 8
    return Room(
        id=room_id,
        apartment_id=apartment_id,
        room_number=f"{floor}{(number - 1) % 8 + 1:02d}",
        rent=rng.randrange(35_000, 86_000, 1_000),
        condo_fee=rng.randrange(10_000, 16_000, 1_000),
        room_floor=floor,
        capacity=rng.choice((1, 1, 1, 2)),
        gender_type=rng.choice((0, 0, 1, 2)),
        bed_type=rng.choice(("シングル", "セミダブル", "二段ベッド")),
        status=0,
        moving_id=None,
        created_at=at,
        updated_at=at,
    )


def _past(world: World, low: int, high: int) -> dt.date:
    return world.today - dt.timedelta(days=world.rng.randint(low, high))


def _moved_out_history(world: World, room: Room) -> None:
    """Earlier residents of the room: closed contracts, and now and then a cancelled one."""
    rng = world.rng
    for _ in range(rng.choice((0, 0, 0, 0, 1, 1))):
        movein = _past(world, 500, 2400)
        at = dt.datetime.combine(movein, dt.time(10))
        tenant = world.new_tenant(17, at)
        moving = world.new_moving(tenant, room, movein, movein - dt.timedelta(days=14), at)
        out = movein + dt.timedelta(days=rng.randint(60, 450))
        moving.moveout_receipt_date = out - dt.timedelta(days=30)
        moving.moveout_plans_date = moving.moveout_date = out
        moving.moveout_date_integrated = out if rng.random() < 0.5 else None
        moving.is_moveout = 1
        tenant.reason_moveout = rng.randint(0, 7)
    if rng.random() < 0.03:
        movein = _past(world, 30, 900)
        tenant = world.new_tenant(8, dt.datetime.combine(movein, dt.time(11)))
        moving = world.new_moving(tenant, room, movein, movein, tenant.created_at)
        moving.cancel_flag = 1


def _resident(world: World, room: Room, status: int) -> Tenant:
    """The current occupant of ``room`` in ``status``, with contract dates that fit it."""
    rng = world.rng
    if status in INCOMING_STATUSES:
        movein = world.today + dt.timedelta(days=rng.randint(1, 25))
        decided = world.today - dt.timedelta(days=rng.randint(1, 10))
    elif status == 7:
        movein = _past(world, 0, 2)
        decided = movein - dt.timedelta(days=20)
    else:
        movein = _past(world, 30, 1500)
        decided = movein - dt.timedelta(days=rng.randint(7, 40))
    at = dt.datetime.combine(decided, dt.time(14))
    tenant = world.new_tenant(status, at)
    if status not in INCOMING_STATUSES and status != 7 and rng.random() < 0.05:
        # renewed without closing the first contract: a never-closed duplicate
        first = world.new_moving(tenant, room, movein, decided, at)
        moving = world.new_moving(tenant, room, movein, decided, at, renewal_of=first)
    else:
        moving = world.new_moving(tenant, room, movein, decided, at)
    if status in (14, 15):
        notice_days = rng.randint(8, 50) if status == 14 else rng.randint(0, 7)
        out = world.today + dt.timedelta(days=notice_days)
        moving.moveout_receipt_date = world.today - dt.timedelta(days=rng.randint(1, 20))
        moving.moveout_plans_date = moving.moveout_date = out
    if status not in INCOMING_STATUSES:
        # the room row changes with its lease, as the source app writes it
        room.status, room.moving_id, room.updated_at = 1, moving.id, max(room.updated_at, at)
    return tenant


def build_world(seed: int, scale: float, today: dt.date) -> World:
    """The source system on ``today``: ~700 x scale properties, ~16,000 x scale rooms."""
    rng = random.Random(seed)
    world = World(rng=rng, today=today)
    opened = dt.datetime(2015, 4, 1, 9, 0)
    room_id = 1
    for apartment_id in range(1, max(3, round(700 * scale)) + 1):
        room_count = rng.randint(8, 38)
        world.apartments.append(_apartment(world, apartment_id, room_count, opened))
        for number in range(1, room_count + 1):
            room = _room(world, room_id, apartment_id, number, opened)
            world.rooms[room_id] = room
            room_id += 1
    occupant_statuses = (9, 10, 14, 15, 7, 13, 4, 5, 6, 11, 12)
    occupant_weights = (80, 3, 5, 3, 2, 1, 2, 1, 1, 1, 1)
    for room in world.rooms.values():
        _moved_out_history(world, room)
        draw = rng.random()
        if draw < 0.74:
            status = rng.choices(occupant_statuses, weights=occupant_weights)[0]
            resident = _resident(world, room, status)
            if resident.status == 15 and rng.random() < 0.4:
                _resident(world, room, 4)
        elif draw < 0.78:
            _resident(world, room, rng.choice((4, 5, 6)))
    for _ in range(round(0.05 * len(world.rooms))):
        world.new_tenant(rng.choice((0, 0, 2, 3)), world.stamp(_past(world, 0, 60)))
    for _ in range(round(0.01 * len(world.rooms))):
        world.new_inquiry(None, world.stamp(_past(world, 0, 60)))
    return world
