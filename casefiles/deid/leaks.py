"""The leak check: hunt the input's identifiers in every element of the output.

It runs after the actions, on the dataset that would be stored, and looks at
the encoded bytes of elements still raw as well as at converted values, in every
VR that can carry characters (OB, OW and UN included), in private blocks, nested
sequences and the file meta. Pixel data is not scanned: image samples would give
false hits, and burned-in text is the business of the burned-in checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from casefiles.deid.access import DEFAULT_ENCODING, Encoding, convert, encoding_of, get_element, vr_of
from casefiles.deid.identifiers import LONG_NEEDLE, PatientIdentifiers

# Bulk image samples: never text, and large enough to hold any byte pattern by chance.
PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
# Binary numbers cannot spell an identifier.
_NUMBER_VRS = frozenset({"AT", "FD", "FL", "OD", "OF", "OL", "OV", "SL", "SS", "SV", "UL", "US", "UV"})
_NUMERIC_STRING_VRS = frozenset({"IS", "DS"})
_TEXT_BOUNDARY = r"(?<![^\W_])(?:{})(?![^\W_])"
_BYTES_BOUNDARY = rb"(?<![A-Za-z0-9])(?:%s)(?![A-Za-z0-9])"


def _alternation(terms: Iterable[str]) -> str:
    return "|".join(re.escape(t) for t in sorted(set(terms), key=lambda t: (-len(t), t)))


def _encoded(terms: Iterable[str]) -> set[bytes]:
    encoded: set[bytes] = set()
    for term in terms:
        encoded.add(term.encode("utf-8"))
        encoded.add(term.encode("latin-1", "ignore"))
    encoded.discard(b"")
    return encoded


def _bytes_alternation(terms: Iterable[str]) -> bytes:
    return b"|".join(re.escape(t) for t in sorted(_encoded(terms), key=lambda t: (-len(t), t)))


@dataclass(frozen=True, slots=True)
class _Patterns:
    text: re.Pattern[str]
    data: re.Pattern[bytes]
    # The literal terms of ``data``, ASCII-lowercased: a match of ``data`` (ASCII-only case folding, as
    # for every bytes pattern) needs one of them in the lowercased bytes, so their absence proves no match.
    data_terms: tuple[bytes, ...] = ()
    # The same for ``text`` when every term is ASCII (None otherwise): valid only on ASCII text, where
    # Unicode case folding reduces to ASCII's.
    text_terms: tuple[str, ...] | None = None

    def search_data(self, data: bytes) -> bool:
        """Whether ``data`` matches: a cheap substring test first, the regex only if one term is there."""
        if self.data_terms:
            low = data.lower()
            if not any(t in low for t in self.data_terms):
                return False
        return self.data.search(data) is not None

    def search_text(self, text: str) -> bool:
        """Whether ``text`` matches (substring prefilter as in ``search_data`` when both sides are ASCII)."""
        if self.text_terms is not None and text.isascii():
            low = text.lower()
            if not any(t in low for t in self.text_terms):
                return False
        return self.text.search(text) is not None


@lru_cache(maxsize=256)
def _patterns(words: frozenset[str], substrings: frozenset[str]) -> _Patterns | None:
    """Compiled once per set of terms: all instances of one patient share them."""
    if not words and not substrings:
        return None
    text_parts, data_parts = [], []
    if words:
        text_parts.append(_TEXT_BOUNDARY.format(_alternation(words)))
        data_parts.append(_BYTES_BOUNDARY % _bytes_alternation(words))
    if substrings:
        text_parts.append(_alternation(substrings))
        data_parts.append(_bytes_alternation(substrings))
    terms = words | substrings
    return _Patterns(
        re.compile("|".join(text_parts), re.IGNORECASE),
        re.compile(b"|".join(data_parts), re.IGNORECASE),
        data_terms=tuple(sorted({t.lower() for t in _encoded(terms)})),
        text_terms=tuple(sorted({t.lower() for t in terms})) if all(t.isascii() for t in terms) else None,
    )


@dataclass(frozen=True, slots=True)
class LeakNeedles:
    """What to hunt: identifiers of the input, and the original UIDs that were replaced."""

    everywhere: _Patterns | None
    numeric: _Patterns | None  # IS/DS values: only long needles (a short ID would hit instance numbers)
    uids: frozenset[str]
    embedded_uids: tuple[str, ...]  # a few key UIDs, hunted inside any text (plain substring search)

    @classmethod
    def build(
        cls, identifiers: PatientIdentifiers, uids: Iterable[str] = (), embedded_uids: Iterable[str] = ()
    ) -> LeakNeedles:
        """``uids`` are matched as whole UI values; ``embedded_uids`` (a few key ones) anywhere in text."""
        words, substrings = identifiers.leak_terms()
        uid_set = frozenset(u for u in uids if u)
        key_uids = tuple(sorted(frozenset(u for u in embedded_uids if len(u) >= LONG_NEEDLE)))
        everywhere, numeric = _term_patterns(words, substrings)
        return cls(
            everywhere=everywhere,
            numeric=numeric,
            uids=uid_set,
            embedded_uids=key_uids,
        )


@lru_cache(maxsize=256)
def _term_patterns(words: frozenset[str], substrings: frozenset[str]) -> tuple[_Patterns | None, _Patterns | None]:
    """(everywhere, numeric) patterns: the same for every instance of one patient."""
    long_words = frozenset(w for w in words if len(w) >= LONG_NEEDLE)
    long_subs = frozenset(s for s in substrings if len(s) >= LONG_NEEDLE)
    return _patterns(words, substrings), _patterns(long_words, long_subs)


def _location(path: tuple[str, ...], tag: int) -> str:
    name = keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
    return " > ".join((*path, name))


def _as_text(value: object) -> str:
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(_as_text(v) for v in value)
    return "" if value is None else str(value)


def _hits(elem: DataElement | RawDataElement, vr: str, patterns: _Patterns, needles: LeakNeedles) -> bool:
    value = elem.value
    if isinstance(value, bytes | bytearray):
        text = value.decode("latin-1")
        if vr == "UI" and any(u.strip("\x00 ") in needles.uids for u in text.split("\\")):
            return True
        return any(u in text for u in needles.embedded_uids) or patterns.data.search(value) is not None
    text = _as_text(value)
    if vr == "UI" and any(u.strip("\x00 ") in needles.uids for u in text.split("\\")):
        return True
    return any(u in text for u in needles.embedded_uids) or patterns.text.search(text) is not None


def iter_leaks(
    ds: Dataset,
    needles: LeakNeedles,
    *,
    skip: frozenset[int] = frozenset(),
    encoding: Encoding = DEFAULT_ENCODING,
    path: tuple[str, ...] = (),
) -> Iterator[str]:
    """Yield the location (keyword or tag number, never a value) of every element holding a needle."""
    encoding = encoding_of(ds, encoding)
    for tag, item in list(ds.items()):
        if tag in skip or tag in PIXEL_TAGS:
            continue
        elem: DataElement | RawDataElement = item
        if isinstance(elem, RawDataElement) and elem.value is None and elem.length:
            elem = cast("DataElement | RawDataElement", get_element(ds, tag))  # a deferred read
        vr = vr_of(elem)
        if vr == "SQ":
            items = convert(elem, encoding, ds).value or []
            for index, child in enumerate(items):
                yield from iter_leaks(child, needles, encoding=encoding, path=(*path, f"{_location((), tag)}[{index}]"))
            continue
        if vr in _NUMBER_VRS:
            continue
        patterns = needles.numeric if vr in _NUMERIC_STRING_VRS else needles.everywhere
        if patterns is None and not needles.uids and not needles.embedded_uids:
            continue
        if _hits(elem, vr, patterns or _EMPTY, needles):
            yield _location(path, tag)


_EMPTY = _Patterns(re.compile(r"(?!x)x"), re.compile(rb"(?!x)x"))


# Joins the values of one search. NUL is not a letter or digit, so a whole-word needle matches next to it
# exactly as at the start or end of a value alone: every match in one value is a match in the joined text,
# so joining loses none. It could only add one spanning two values (a needle holding a NUL), and any hit
# sends the instance to the element-by-element scan, which decides.
_SEPARATOR = "\x00"
_BYTES_SEPARATOR = b"\x00"


@dataclass(slots=True)
class _Batch:
    """Values gathered for the single-pass search: raw bytes and converted text, per pattern set."""

    data: list[bytes]
    numeric_data: list[bytes]
    text: list[str]
    numeric_text: list[str]


def _gather(ds: Dataset, needles: LeakNeedles, batch: _Batch, skip: frozenset[int], encoding: Encoding) -> bool:
    """Add every scanned value of ``ds`` (sequences included) to ``batch``; True at once on a UID hit.

    Visits exactly the elements ``iter_leaks`` visits, with the same VR rules.
    """
    encoding = encoding_of(ds, encoding)
    uids = needles.uids
    for tag, item in list(ds.items()):
        if tag in skip or tag in PIXEL_TAGS:
            continue
        elem: DataElement | RawDataElement = item
        value = elem.value
        if value is None and isinstance(elem, RawDataElement) and elem.length:
            elem = cast("DataElement | RawDataElement", get_element(ds, tag))  # a deferred read
            value = elem.value
        vr = vr_of(elem)
        if vr == "SQ":
            for child in convert(elem, encoding, ds).value or []:
                if _gather(child, needles, batch, NO_SKIP, encoding):
                    return True
            continue
        if vr in _NUMBER_VRS:
            continue
        numeric = vr in _NUMERIC_STRING_VRS
        if isinstance(value, bytes | bytearray):
            if vr == "UI" and uids and any(u.strip("\x00 ") in uids for u in value.decode("latin-1").split("\\")):
                return True
            (batch.numeric_data if numeric else batch.data).append(bytes(value))
        else:
            text = _as_text(value)
            if vr == "UI" and uids and any(u.strip("\x00 ") in uids for u in text.split("\\")):
                return True
            (batch.numeric_text if numeric else batch.text).append(text)
    return False


NO_SKIP: frozenset[int] = frozenset()


def _any_hit(dataset: Dataset, needles: LeakNeedles, skip: frozenset[int]) -> bool:
    """Whether ``find_leaks`` would find anything, in one regex search per pattern set.

    Same elements, same patterns, same rules as the per-element scan; only the values of
    one pattern set are joined with ``_SEPARATOR`` and searched at once.
    """
    batch = _Batch([], [], [], [])
    if _gather(dataset, needles, batch, skip, DEFAULT_ENCODING):
        return True
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and _gather(meta, needles, batch, META_WRITTEN_BY_ENGINE, DEFAULT_ENCODING):
        return True
    data = _BYTES_SEPARATOR.join(batch.data)
    numeric_data = _BYTES_SEPARATOR.join(batch.numeric_data)
    text = _SEPARATOR.join(batch.text)
    numeric_text = _SEPARATOR.join(batch.numeric_text)
    if needles.embedded_uids:
        everything = _SEPARATOR.join((data.decode("latin-1"), numeric_data.decode("latin-1"), text, numeric_text))
        if any(u in everything for u in needles.embedded_uids):
            return True
    for patterns, data_blob, text_blob in (
        (needles.everywhere, data, text),
        (needles.numeric, numeric_data, numeric_text),
    ):
        if patterns is not None and (patterns.search_data(data_blob) or patterns.search_text(text_blob)):
            return True
    return False


def find_leaks(dataset: Dataset, needles: LeakNeedles, *, skip: frozenset[int] = frozenset()) -> tuple[str, ...]:
    """Locations of every surviving identifier in ``dataset`` and its file meta (empty when clean).

    A clean instance (the usual case) is shown clean by one search per pattern set over all its
    values joined; only when that finds something are the elements scanned one by one to name them.
    """
    if not _any_hit(dataset, needles, skip):
        return ()
    found = list(iter_leaks(dataset, needles, skip=skip))
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        found += iter_leaks(meta, needles, skip=META_WRITTEN_BY_ENGINE)
    return tuple(found)


#: File meta values the engine writes itself ("CASEDECK_…" version name): hunting the word of a
#: CaseDeck pseudonym there would refuse every file CaseDeck exported when it is imported again.
META_WRITTEN_BY_ENGINE = frozenset({0x00020012, 0x00020013})
