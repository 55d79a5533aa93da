"""Replacement values: dummies valid for each VR, shifted dates, computed ages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

DUMMY_TEXT = "ANONYMOUS"

# D: "a non-zero length value that may be a dummy value and consistent with the VR" (PS3.15 E.1).
DUMMIES: Mapping[str, object] = MappingProxyType(
    {
        "AE": DUMMY_TEXT,
        "AS": "000D",
        "CS": DUMMY_TEXT,
        "DA": "19000101",
        "DS": "0",
        "DT": "19000101000000",
        "IS": "0",
        "LO": DUMMY_TEXT,
        "LT": DUMMY_TEXT,
        "PN": DUMMY_TEXT,
        "SH": DUMMY_TEXT,
        "ST": DUMMY_TEXT,
        "TM": "000000",
        "UC": DUMMY_TEXT,
        "UR": DUMMY_TEXT,
        "UT": DUMMY_TEXT,
        "AT": 0,
        "FL": 0.0,
        "FD": 0.0,
        "SL": 0,
        "SS": 0,
        "SV": 0,
        "UL": 0,
        "US": 0,
        "UV": 0,
        "OB": b"\x00\x00",
        "OD": b"\x00" * 8,
        "OF": b"\x00" * 4,
        "OL": b"\x00" * 4,
        "OV": b"\x00" * 8,
        "OW": b"\x00\x00",
        "UN": b"\x00\x00",
    }
)

# Maximum value lengths of the text VRs a cleaned value must still fit (PS3.5 6.2).
MAX_LENGTH: Mapping[str, int] = MappingProxyType(
    {"AE": 16, "CS": 16, "LO": 64, "LT": 10240, "PN": 64, "SH": 16, "ST": 1024, "UC": 2**32 - 2, "UT": 2**32 - 2}
)


def parse_da(value: str) -> dt.date:
    """'YYYYMMDD' (or the old 'YYYY.MM.DD') -> date; ValueError otherwise."""
    text = value.strip().replace(".", "")
    if len(text) != 8 or not text.isdigit():
        raise ValueError("not a DA value")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def shift_da(value: str, days: int) -> str:
    """Shift each value of a (possibly multi-valued) DA by ``days``; ValueError if one is not a date."""
    return "\\".join((parse_da(v) + dt.timedelta(days=days)).strftime("%Y%m%d") if v else "" for v in value.split("\\"))


def _shift_one_dt(value: str, days: int) -> str:
    text = value.strip()
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits >= 8:
        return (parse_da(text[:8]) + dt.timedelta(days=days)).strftime("%Y%m%d") + text[8:]
    if digits in (4, 6):  # reduced precision: YYYY or YYYYMM, shifted from the first day and kept as coarse
        start = dt.date(int(text[:4]), int(text[4:6]) if digits == 6 else 1, 1)
        return (start + dt.timedelta(days=days)).strftime("%Y%m%d")[:digits] + text[digits:]
    raise ValueError("not a DT value")


def shift_dt(value: str, days: int) -> str:
    """Shift the date part of each DT value by ``days``, keeping time, fraction and UTC offset."""
    return "\\".join(_shift_one_dt(v, days) if v else "" for v in value.split("\\"))


def age_string(birth: dt.date, on: dt.date) -> str:
    """An AS value for the age at ``on``: years from age 2, months below, days under a month."""
    if on < birth:
        raise ValueError("exam before birth")
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 2:
        return f"{min(years, 999):03d}Y"
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    if months >= 1:
        return f"{months:03d}M"
    return f"{(on - birth).days:03d}D"
