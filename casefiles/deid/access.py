"""Read elements without converting or touching the input dataset.

pydicom keeps values it has not been asked for as raw bytes. Reading through
these helpers leaves the input exactly as it was and lets the engine pass raw
elements it keeps straight through, which is most of the speed of de-identification.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from functools import cache
from typing import cast

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset

AnyElement = DataElement | RawDataElement
Encoding = str | MutableSequence[str]
DEFAULT_ENCODING = "iso8859"
SPECIFIC_CHARACTER_SET = 0x00080005


@cache
def dictionary_vr(tag: int) -> str:
    """The dictionary VR of a public tag ('UN' if unknown); ambiguous VRs give their first choice."""
    try:
        return str(dictionary_VR(tag)).split(" ", 1)[0]
    except KeyError:
        return "UN"


def vr_of(elem: AnyElement) -> str:
    """The VR an element will be written with: explicit VR, or the dictionary's for implicit/UN public tags."""
    vr = elem.VR
    if vr is None or (vr == "UN" and not (elem.tag >> 16) & 1):
        return dictionary_vr(elem.tag)
    return str(vr)


def get_element(ds: Dataset, tag: int) -> AnyElement | None:
    return cast("AnyElement | None", ds.get_item(tag))


def convert(elem: AnyElement, encoding: Encoding, ds: Dataset) -> DataElement:
    """A DataElement for ``elem`` (a conversion of the raw bytes; the input keeps its raw element)."""
    if isinstance(elem, RawDataElement):
        return convert_raw_data_element(elem, encoding=encoding, ds=ds)
    return elem


def value_of(ds: Dataset, tag: int, encoding: Encoding) -> object:
    """The converted value of ``tag`` in ``ds``, or None when the element is absent."""
    elem = get_element(ds, tag)
    return None if elem is None else convert(elem, encoding, ds).value


_TEXT_DELIMITERS = {0x5C, 0x5E, 0x3D}  # \\ ^ = : where ISO 2022 escapes reset


def text_values(ds: Dataset, tag: int, encoding: Encoding) -> list[str]:
    """The non-empty values of a text element as strings (any VM, PN included).

    Raw bytes are decoded directly with the dataset's character set: the full pydicom
    conversion builds typed values (PersonName, MultiValue) that are not needed here.
    """
    elem = get_element(ds, tag)
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes):
        codecs = [encoding] if isinstance(encoding, str) else list(encoding)
        text = decode_bytes(elem.value, codecs, _TEXT_DELIMITERS)
        return [v for v in (p.strip(" \x00") for p in text.split("\\")) if v]
    value = None if elem is None else convert(elem, encoding, ds).value
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple | MutableSequence) else [value]
    return [str(v) for v in items if v is not None and str(v).strip()]


def encoding_of(ds: Dataset, parent: Encoding = DEFAULT_ENCODING) -> Encoding:
    """The Python codecs for ``ds``'s Specific Character Set (inherited from ``parent`` if absent)."""
    values = text_values(ds, SPECIFIC_CHARACTER_SET, DEFAULT_ENCODING)
    return convert_encodings(values) if values else parent
