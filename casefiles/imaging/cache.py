"""A bounded, thread-safe cache of decoded frames, so scrolling back does not decode again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from casefiles.errors import RenderError, ValidationError

_Key = tuple[str, int]


class FrameCache:
    """Least-recently-used cache of ``modality_frame`` results keyed by (key, frame), bounded by bytes.

    ``key`` should identify the pixels, not the patient: a blob address or
    SOP Instance UID of de-identified data. Cached arrays are made read-only
    because every caller shares them. Computation runs outside the lock, so
    a slow decode never blocks readers of other frames; two threads missing
    the same frame at once may both compute it, and the first result is kept.
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValidationError(f"The frame cache size must be a positive number of bytes (got {max_bytes!r}).")
        self._max_bytes = max_bytes
        self._entries: OrderedDict[_Key, npt.NDArray[Any]] = OrderedDict()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        """Bytes held by cached frames now."""
        with self._lock:
            return self._bytes

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    @property
    def misses(self) -> int:
        with self._lock:
            return self._misses

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, item: object) -> bool:
        """``(key, frame) in cache``: whether that frame is held now (without counting a hit)."""
        with self._lock:
            return item in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get_or_compute(self, key: str, frame: int, compute: Callable[[], npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """The cached frame, or ``compute()``'s result (cached if it fits); errors from compute propagate."""
        if not isinstance(key, str) or not key:
            raise ValidationError("A frame cache key must be non-empty text (for example a blob address).")
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise ValidationError(f"A frame number must be a whole number ≥ 0 (got {frame!r}).")
        slot = (key, frame)
        with self._lock:
            cached = self._entries.get(slot)
            if cached is not None:
                self._entries.move_to_end(slot)
                self._hits += 1
                return cached
            self._misses += 1
        value = compute()
        if not isinstance(value, np.ndarray):
            raise RenderError("A frame computation returned something that is not an image array.")
        value.setflags(write=False)
        size = int(value.nbytes)
        if size > self._max_bytes:
            return value  # larger than the whole cache: hand it out, keep nothing
        with self._lock:
            existing = self._entries.get(slot)
            if existing is not None:  # another thread got there first
                self._entries.move_to_end(slot)
                return existing
            self._entries[slot] = value
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= int(evicted.nbytes)
        return value
