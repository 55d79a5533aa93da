"""The Annex E action table as data, and its resolution to one action per tag for a profile.

The table (``annex_e.json``, built by ``scripts/build_annex_e_table.py``) is the
standard's list of attributes that can identify someone. Attributes it does not
list are kept: that is the standard's own whitelist approach, and the engine adds
only what the table cannot express (UIDs and dates outside it, private blocks,
curves and overlays).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from pydicom.datadict import dictionary_VR

from casefiles.errors import DeidentificationError


class Option(enum.StrEnum):
    """The options of the Basic Application Level Confidentiality Profile (PS3.15 E.3)."""

    RETAIN_SAFE_PRIVATE = "retain_safe_private"
    RETAIN_UIDS = "retain_uids"
    RETAIN_DEVICE_IDENTITY = "retain_device_identity"
    RETAIN_INSTITUTION_IDENTITY = "retain_institution_identity"
    RETAIN_PATIENT_CHARACTERISTICS = "retain_patient_characteristics"
    RETAIN_LONG_FULL_DATES = "retain_long_full_dates"
    RETAIN_LONG_MODIFIED_DATES = "retain_long_modified_dates"
    CLEAN_DESCRIPTORS = "clean_descriptors"
    CLEAN_STRUCTURED_CONTENT = "clean_structured_content"
    CLEAN_GRAPHICS = "clean_graphics"
    CLEAN_PIXEL_DATA = "clean_pixel_data"


class Action(enum.Enum):
    """One resolved action per element (the table's combinations are resolved by ``resolve``)."""

    KEEP = "K"  # sequences are kept and their items de-identified in turn
    REMOVE = "X"
    EMPTY = "Z"
    DUMMY = "D"
    CLEAN = "C"
    REMAP = "U"


@dataclass(frozen=True, slots=True)
class Row:
    """One attribute of Table E.1-1: its basic action and the action each option sets."""

    key: str
    name: str
    basic: str
    options: Mapping[Option, str]


# Binary VRs cannot be "cleaned" of text: a C from an option falls back to the basic action.
_BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_DATE_TIME_VRS = frozenset({"DA", "DT", "TM"})

_SINGLE = {"K": Action.KEEP, "X": Action.REMOVE, "Z": Action.EMPTY, "D": Action.DUMMY, "C": Action.CLEAN}


def resolve_basic(code: str, vr: str) -> Action:
    """Resolve a Basic Profile code to the least destructive action that keeps the IOD valid.

    The standard lists combinations where the right action depends on the
    attribute's type in the IOD (X for type 3, Z for type 2, D for type 1). We do
    not know the IOD type per element, so:

    - ``X/Z`` -> Z: an empty value is valid for type 2 and 3 alike.
    - ``X/D`` -> D: a dummy is valid even where the attribute is type 1.
    - ``X/Z/D`` -> Z: the standard's own preference for type 2 (Institution Name...).
    - ``Z/D`` -> D for dates and times (Content Date/Time are type 1 in enhanced IODs and a
      dummy date is plainly fake), Z for everything else (names, IDs, agents).
    - ``X/Z/U*`` -> K: keep the reference sequence; every UID inside is remapped by its own row.
    - ``U`` -> remap the UID (``D`` on a UI element is a remap too: a fresh UID is a valid dummy).
    """
    if code == "U" or (code == "D" and vr == "UI"):
        return Action.REMAP
    if code in _SINGLE:
        return _SINGLE[code]
    if code == "X/Z":
        return Action.EMPTY
    if code == "X/D":
        return Action.DUMMY
    if code == "X/Z/D":
        return Action.EMPTY
    if code == "Z/D":
        return Action.DUMMY if vr in _DATE_TIME_VRS else Action.EMPTY
    if code == "X/Z/U*":
        return Action.KEEP
    raise DeidentificationError(f"The de-identification table holds an unknown action {code!r}; reinstall CaseDeck.")


def resolve(row: Row, options: frozenset[Option], vr: str) -> Action:
    """The action for ``row`` under ``options``: an option's K or C overrides the basic action.

    When two selected options disagree (Calibration Date: K to retain device identity,
    C to modify dates) C wins: cleaning still retains what the first option wants to
    keep while honouring what the second wants changed. A C on a binary value cannot be
    honoured, so the basic action applies.
    """
    chosen = {row.options[o] for o in options if o in row.options}
    if "C" in chosen and vr not in _BINARY_VRS:
        return Action.CLEAN
    if "K" in chosen:
        return Action.KEEP
    return resolve_basic(row.basic, vr)


@cache
def load_rows() -> tuple[Row, ...]:
    """The shipped table, parsed once per process."""
    text = resources.files("casefiles.deid").joinpath("annex_e.json").read_text(encoding="utf-8")
    try:
        raw = json.loads(text)["attributes"]
        return tuple(
            Row(key=key, name=name, basic=basic, options=MappingProxyType({Option(o): a for o, a in opts.items()}))
            for key, (basic, opts, name) in raw.items()
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise DeidentificationError(
            "The de-identification table shipped with CaseDeck is damaged; reinstall it."
        ) from exc


def table_vr(key: str) -> str:
    """The dictionary VR of a table row ('UN' for repeating groups and the private row)."""
    if "x" in key or not key.isalnum() or len(key) != 8:
        return "UN"
    try:
        return str(dictionary_VR(int(key, 16)))
    except KeyError:
        return "UN"


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """Tag -> action for one set of options, built once per profile."""

    actions: Mapping[int, Action]
    private: Action  # CLEAN under Retain Safe Private: keep the safe list, remove the rest


@cache
def compile_table(options: frozenset[Option]) -> CompiledTable:
    """Resolve every row for ``options``. Repeating groups (curves 50xx, overlays 60xx) are left
    to the engine: their rows say X, or C under Clean Graphics, and cleaning an overlay bitmap
    needs the pixel cleaner, so for now the engine removes both groups whole."""
    actions: dict[int, Action] = {}
    private = Action.REMOVE
    for row in load_rows():
        action = resolve(row, options, table_vr(row.key))
        if row.key == "private":
            private = action
        elif "x" not in row.key:
            actions[int(row.key, 16)] = action
    return CompiledTable(MappingProxyType(actions), private)
