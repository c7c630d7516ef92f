"""Plain JSON for ``--json``: dataclasses, dates and enums as scripts expect them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Dates as ISO strings, enums as their values, dataclasses as objects (properties too)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value
