"""Rows of the source system's tables; field order is column order (see ``schema.py``).

Date fields hold ``date`` objects, ``None``, or the literal ``"0000-00-00"`` the source
system really stores, so the dumps carry every quirk downstream code has to survive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

SourceDate = dt.date | str | None


@dataclass(slots=True)
class Apartment:
    id: int
    unique_number: str
    apartment_name: str
    apartment_name_en: str
    prefecture: str
    municipality: str
    address: str
    zip_code: str
    latitude: str
    longitude: str
    room_count: int
    vacancy_room_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class Room:
    id: int
    apartment_id: int
    room_number: str
    rent: int
    condo_fee: int
    room_floor: int
    capacity: int
    gender_type: int
    bed_type: str
    status: int
    moving_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class Tenant:
    id: int
    moving_id: int | None
    inquiry_id: int | None
    status: int
    contract_type: int
    full_name: str
    last_name: str
    first_name: str
    gender_type: int
    birth_date: SourceDate
    age: int | None
    nationality: str
    m_nationality_id: int
    affiliation: str
    affiliation_type: int
    personal_identity: int
    media_id: int
    reason_moveout: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class Moving:
    id: int
    tenant_id: int
    apartment_id: int
    room_id: int
    movein_date: SourceDate
    movein_decided_date: SourceDate
    original_movein_date: SourceDate
    rent_start_date: SourceDate
    expiration_date: SourceDate
    moveout_receipt_date: SourceDate
    moveout_date: SourceDate
    moveout_plans_date: SourceDate
    moveout_date_integrated: SourceDate
    moving_agreement_type: int
    rent: int
    condo_fee: int
    administrative_fee: int
    cancel_flag: int | None
    is_moveout: int
    move_renew_flag: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class Inquiry:
    id: int
    tenant_id: int | None
    channel: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class RoomStatusLog:
    """Not used by analytics: an append-only log, the kind of table that bloats real dumps."""

    id: int
    room_id: int
    old_status: int
    new_status: int
    created_at: dt.datetime


def column_names(row_type: type) -> list[str]:
    return [f.name for f in fields(row_type)]


def as_values(row: Any, columns: list[str]) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in columns)
