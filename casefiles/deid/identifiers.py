"""This patient's identifiers, gathered from the input: what cleaning cuts out and the leak check hunts.

Gathered once per instance from the *input*, so that the output can be checked
against what was there, whatever the actions did.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pydicom.dataset import Dataset

from casefiles.deid.access import Encoding, text_values, value_of
from casefiles.deid.table import Option

REMOVED = "[removed]"
MIN_CLEAN_LENGTH = 2  # name parts cleaned from descriptors
MIN_LEAK_LENGTH = 3  # shorter values would give false hits ("MR", initials)
LONG_NEEDLE = 6  # needles this long are hunted as substrings, shorter ones as whole words

PATIENT_NAMES = (0x00100010, 0x00101001, 0x00101005, 0x00101060)  # name, other names, birth name, mother's
PATIENT_IDS = (0x00100020, 0x00101000, 0x00101090, 0x00102154)  # ID, other IDs, record locator, phones
OTHER_PATIENT_IDS_SEQUENCE = 0x00101002
ACCESSION = 0x00080050
REQUEST_ATTRIBUTES_SEQUENCE = 0x00400275
BIRTH_DATE = 0x00100030
STAFF_NAMES = (0x00080090, 0x00081048, 0x00081050, 0x00081060, 0x00081070, 0x00321032, 0x00400006)
INSTITUTION = (0x00080080, 0x00080081, 0x00081040)  # name, address, department
STATION = (0x00081010,)
DEVICE_MAKER = (0x00080070, 0x00081090)  # manufacturer, model name: kept by every profile
# Placeholders that name nobody: hunting them would refuse instances for our own dummies.
PLACEHOLDERS = frozenset(
    {"ANON", "ANONYMOUS", "ANONYMIZED", "NONE", "NULL", "N/A", "PATIENT", "REMOVED", "TEST", "UNKNOWN"}
)

#: Birth dates that mean "unknown" (vendor exports, and the dummy DA this engine writes).
PLACEHOLDER_DATES = frozenset({"19000101", "00000000", "18991231", "19010101"})

_SPLIT_NAME = re.compile(r"[\^=\s,]+")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# Generic patterns cleaned from every descriptor: dates, phone numbers, e-mail, MRN-like numbers.
GENERIC = re.compile(
    "|".join(
        (
            r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b",
            r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b",
            rf"\b\d{{1,2}}[-\s./]*(?:{_MONTHS})[a-z]*\.?[-\s./,]*\d{{2,4}}\b",
            rf"\b(?:{_MONTHS})[a-z]*\.?[-\s./]*\d{{1,2}},?[-\s./]*\d{{4}}\b",
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w)",
            r"[\w.+-]+@[\w-]+\.[\w.-]+",
            r"\d{6,}",
        )
    ),
    re.IGNORECASE,
)


def birth_date_forms(value: str) -> tuple[str, ...]:
    """19610312 -> the ways people write it: 1961-03-12, 12/03/1961, 03/12/1961, 12.03.1961..."""
    text = value.strip()
    if text in PLACEHOLDER_DATES:
        return ()  # "unknown" placeholders identify nobody, and the engine writes 19000101 as its own dummy
    if len(text) != 8 or not text.isdigit():
        return (text,) if len(text) >= MIN_LEAK_LENGTH else ()
    y, m, d = text[:4], text[4:6], text[6:]
    forms = {text, f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{y}.{m}.{d}"}
    for sep in "/.-":
        forms |= {f"{d}{sep}{m}{sep}{y}", f"{m}{sep}{d}{sep}{y}"}
    if 1 <= int(m) <= 12:
        month = _MONTHS.split("|")[int(m) - 1]
        for mon in (month.upper(), month.title()):
            forms |= {f"{d}-{mon}-{y}", f"{d} {mon} {y}", f"{d}{mon}{y}", f"{mon} {d}, {y}", f"{mon} {int(d)}, {y}"}
            forms |= {f"{int(d)} {mon} {y}", f"{int(d)}-{mon}-{y}"}
    return tuple(sorted(forms))


def name_parts(names: Iterable[str], min_length: int) -> set[str]:
    """Whole names and each part (family, given, middle...) of at least ``min_length`` characters."""
    out: set[str] = set()
    for name in names:
        whole = name.strip().strip("^=").strip()
        if len(whole) >= min_length:
            out.add(whole)
        out |= {part for part in _SPLIT_NAME.split(whole) if len(part) >= min_length}
    return out


def _has_alnum(term: str) -> bool:
    return any(c.isalnum() for c in term)


def _meaningful(term: str) -> bool:
    """A term worth hunting in the output: it has a letter or digit and is not a placeholder ('UNKNOWN')."""
    return _has_alnum(term) and term.upper() not in PLACEHOLDERS


def _alternation(terms: Iterable[str]) -> str:
    return "|".join(re.escape(t) for t in sorted(set(terms), key=lambda t: (-len(t), t)))


@dataclass(frozen=True, slots=True)
class PatientIdentifiers:
    """Identifying values of one input instance (kept in memory only, never logged or stored)."""

    patient_names: tuple[str, ...]
    ids: tuple[str, ...]
    birth_dates: tuple[str, ...]
    staff_names: tuple[str, ...]
    places: tuple[str, ...]

    def cleaning_pattern(self) -> re.Pattern[str] | None:
        """Whole-word, case-insensitive pattern of everything cleaning cuts from descriptors."""
        return _cleaning_pattern_of(self)

    def leak_terms(self) -> tuple[frozenset[str], frozenset[str]]:
        """(whole-word terms, substring terms) the leak check hunts, all at least 3 characters."""
        return _leak_terms_of(self)


# Every instance of a series repeats the same identifiers: the terms are derived once per set of values.
@lru_cache(maxsize=256)
def _cleaning_pattern_of(ids: PatientIdentifiers) -> re.Pattern[str] | None:
    words = name_parts(ids.patient_names + ids.staff_names, MIN_CLEAN_LENGTH) | set(ids.ids)
    words |= {p for p in ids.places if len(p) >= MIN_CLEAN_LENGTH}
    words = {w for w in words if _has_alnum(w)}
    return _cleaning_pattern(frozenset(words), frozenset(ids.birth_dates))


@lru_cache(maxsize=256)
def _leak_terms_of(ids: PatientIdentifiers) -> tuple[frozenset[str], frozenset[str]]:
    words = name_parts(ids.patient_names, MIN_LEAK_LENGTH) | name_parts(ids.staff_names, MIN_LEAK_LENGTH)
    words |= {p for p in ids.places if len(p) >= MIN_LEAK_LENGTH}
    words |= {i for i in ids.ids if len(i) >= MIN_LEAK_LENGTH}
    words = {w for w in words if _meaningful(w)}
    substrings = {w for w in words if len(w) >= LONG_NEEDLE and not _is_name_like(w)}
    substrings |= {d for d in ids.birth_dates if len(d) >= MIN_LEAK_LENGTH}
    return frozenset(words - substrings), frozenset(substrings)


def _is_name_like(term: str) -> bool:
    """Names are hunted as whole words only: 'JOHNSON' must not hit 'JOHNSONVILLE MEDICAL'."""
    return any(c.isalpha() for c in term) and not any(c.isdigit() for c in term)


@lru_cache(maxsize=256)
def _cleaning_pattern(words: frozenset[str], loose: frozenset[str]) -> re.Pattern[str] | None:
    """Compiled once per set of terms: all instances of one patient share it."""
    if not words and not loose:
        return None
    parts = []
    if words:
        parts.append(rf"(?<![^\W_])(?:{_alternation(words)})(?![^\W_])")
    if loose:
        parts.append(_alternation(loose))
    pattern = re.compile("|".join(parts), re.IGNORECASE)
    terms = words | loose
    if all(t.isascii() for t in terms):
        _ASCII_TERMS[pattern] = tuple(sorted({t.lower() for t in terms}))
    return pattern


# The literal terms (lowercased) of each cleaning pattern made here whose terms are all ASCII. On ASCII
# text, case-insensitive matching is ASCII's, so a match needs one of them in the lowercased text:
# without any, ``sub`` would change nothing and is skipped.
_ASCII_TERMS: weakref.WeakKeyDictionary[re.Pattern[str], tuple[str, ...]] = weakref.WeakKeyDictionary()
# Every GENERIC alternative needs a decimal digit (\d) or an '@': text without either cannot match.
_GENERIC_NEEDS = re.compile(r"[\d@]")


def clean_text(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with this patient's identifiers and generic identifier patterns replaced by '[removed]'."""
    if pattern is not None and _may_match(pattern, text):
        text = pattern.sub(REMOVED, text)
    if _GENERIC_NEEDS.search(text) is None:
        return text
    return GENERIC.sub(REMOVED, text)


def _may_match(pattern: re.Pattern[str], text: str) -> bool:
    """False only when ``pattern`` provably cannot match ``text`` (a cheap substring test, no regex)."""
    terms = _ASCII_TERMS.get(pattern)
    if terms is None or not text.isascii():
        return True
    low = text.lower()
    return any(t in low for t in terms)


def collect_identifiers(ds: Dataset, encoding: Encoding, options: frozenset[Option]) -> PatientIdentifiers:
    """The identifying values of ``ds`` (top level and the sequences that repeat them)."""
    names: list[str] = []
    for tag in PATIENT_NAMES:
        names += text_values(ds, tag, encoding)
    ids: list[str] = []
    for tag in (*PATIENT_IDS, ACCESSION):
        ids += text_values(ds, tag, encoding)
    for seq_tag in (OTHER_PATIENT_IDS_SEQUENCE, REQUEST_ATTRIBUTES_SEQUENCE):
        items = value_of(ds, seq_tag, encoding)
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Dataset):
                for tag in (0x00100020, ACCESSION):
                    ids += text_values(item, tag, encoding)
    births: list[str] = []
    for value in text_values(ds, BIRTH_DATE, encoding):
        births += birth_date_forms(value)
    staff: list[str] = []
    for tag in STAFF_NAMES:
        staff += text_values(ds, tag, encoding)
    places: list[str] = []
    if Option.RETAIN_INSTITUTION_IDENTITY not in options:
        for tag in INSTITUTION:
            places += text_values(ds, tag, encoding)
    if Option.RETAIN_DEVICE_IDENTITY not in options:
        for tag in STATION:
            places += text_values(ds, tag, encoding)
    # A place named like the device maker (vendor test data: institution 'TOSHIBA', manufacturer
    # 'TOSHIBA_MEC') names the maker, which every profile keeps; a number is a code, not a place.
    makers = " ".join(v.upper() for tag in DEVICE_MAKER for v in text_values(ds, tag, encoding))
    places = [p.strip() for p in places if any(c.isalpha() for c in p) and p.strip().upper() not in makers]
    return PatientIdentifiers(
        patient_names=tuple(names),
        ids=tuple(i.strip() for i in ids if i.strip()),
        birth_dates=tuple(births),
        staff_names=tuple(staff),
        places=tuple(places),
    )
