"""Lookup tables (Modality LUT, VOI LUT) as PS3.3 C.11.1 / C.11.2 describe them.

One reader for both, because both share the LUT Descriptor / LUT Data layout
and the same real-world quirks (8-bit entries packed in OW, a first-mapped
value written unsigned for signed images, entries wider than declared).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from casefiles.errors import RenderError

_MALFORMED = "The image's lookup table is malformed, so its grey levels cannot be shown reliably."


@dataclass(frozen=True, slots=True)
class Lut:
    """A decoded LUT: input values from ``first_mapped`` map to ``table``; output has ``bits`` bits."""

    first_mapped: int
    table: npt.NDArray[np.float32]
    bits: int

    @property
    def max_output(self) -> float:
        return float(2**self.bits - 1)


def read_lut(item: Dataset, *, signed_input: bool, little_endian: bool) -> Lut:
    """Decode one LUT item (an item of Modality LUT Sequence or VOI LUT Sequence)."""
    try:
        descriptor = [int(v) for v in item.LUTDescriptor]
        element = item["LUTData"]
    except (AttributeError, KeyError, TypeError, ValueError):
        raise RenderError(_MALFORMED) from None
    if len(descriptor) != 3:
        raise RenderError(_MALFORMED)
    entries = descriptor[0] or 2**16
    first = descriptor[1]
    if signed_input and first >= 2**15:
        first -= 2**16  # SS value read as US (C.11.1.1.1 allows either VR)
    bits = descriptor[2]
    table = _table(element.value, entries, little_endian)
    if table.size == 0 or not 1 <= bits <= 16:
        raise RenderError(_MALFORMED)
    peak = int(table.max())
    if peak > 2**bits - 1:  # entries wider than the descriptor claims: trust the data
        bits = peak.bit_length()
    return Lut(first_mapped=first, table=table.astype(np.float32), bits=bits)


def _table(value: Any, entries: int, little_endian: bool) -> npt.NDArray[np.integer[Any]]:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) == entries:  # 8-bit entries packed into OW
            return np.frombuffer(raw, dtype=np.uint8)
        usable = len(raw) - len(raw) % 2
        words = np.frombuffer(raw[:usable], dtype="<u2" if little_endian else ">u2")
        return words[:entries]
    if isinstance(value, int):
        return np.asarray([value], dtype=np.int64)
    try:
        table = np.asarray(list(value), dtype=np.int64)
    except (TypeError, ValueError):
        raise RenderError(_MALFORMED) from None
    if table.ndim != 1 or (table.size and table.min() < 0):
        raise RenderError(_MALFORMED)
    return table[:entries]


def apply_lut(values: npt.NDArray[Any], lut: Lut) -> npt.NDArray[np.float32]:
    """Map ``values`` through ``lut``; values outside the table take its first or last entry."""
    index = np.rint(values.astype(np.float64, copy=False)) - lut.first_mapped
    np.clip(index, 0, lut.table.size - 1, out=index)
    return lut.table[index.astype(np.intp)]
