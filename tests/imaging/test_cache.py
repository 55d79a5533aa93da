"""FrameCache: decoded frames reused, memory bounded, safe across threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from casefiles.errors import ValidationError
from casefiles.imaging import FrameCache, modality_frame

KB = 1024


def _frame(value: int, nbytes: int = KB) -> np.ndarray:
    return np.full(nbytes // 4, value, dtype=np.float32)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: int, nbytes: int = KB):
        def compute() -> np.ndarray:
            self.calls += 1
            return _frame(value, nbytes)

        return compute


def test_second_request_is_a_hit():
    cache, counter = FrameCache(), Counter()
    first = cache.get_or_compute("blob-a", 0, counter(1))
    second = cache.get_or_compute("blob-a", 0, counter(1))
    assert counter.calls == 1
    assert second is first
    assert (cache.hits, cache.misses) == (1, 1)
    cache.get_or_compute("blob-a", 1, counter(2))  # another frame of the same object is its own entry
    cache.get_or_compute("blob-b", 0, counter(3))
    assert counter.calls == 3
    assert len(cache) == 3


def test_eviction_by_bytes_drops_least_recently_used():
    cache, counter = FrameCache(max_bytes=3 * KB), Counter()
    for frame in range(3):
        cache.get_or_compute("s", frame, counter(frame))
    assert cache.nbytes == 3 * KB
    cache.get_or_compute("s", 0, counter(0))  # touch frame 0: frame 1 is now the oldest
    cache.get_or_compute("s", 3, counter(3))
    assert cache.nbytes <= 3 * KB
    assert ("s", 1) not in cache
    assert ("s", 0) in cache and ("s", 2) in cache and ("s", 3) in cache
    calls = counter.calls
    cache.get_or_compute("s", 1, counter(1))
    assert counter.calls == calls + 1  # evicted frames are computed again


def test_one_big_frame_evicts_several_small_ones():
    cache, counter = FrameCache(max_bytes=4 * KB), Counter()
    for frame in range(4):
        cache.get_or_compute("s", frame, counter(frame))
    cache.get_or_compute("big", 0, counter(9, 3 * KB))
    assert cache.nbytes <= 4 * KB
    assert len(cache) == 2
    assert ("big", 0) in cache and ("s", 3) in cache


def test_frame_larger_than_cache_is_returned_not_kept():
    cache, counter = FrameCache(max_bytes=KB), Counter()
    cache.get_or_compute("s", 0, counter(0))
    big = cache.get_or_compute("huge", 0, counter(5, 4 * KB))
    assert big[0] == 5
    assert ("huge", 0) not in cache
    assert ("s", 0) in cache  # and it did not flush what was there


def test_cached_frames_are_read_only():
    cache = FrameCache()
    frame = cache.get_or_compute("s", 0, lambda: _frame(1))
    with pytest.raises(ValueError):
        frame[0] = 99


def test_errors_propagate_and_are_not_cached():
    cache = FrameCache()

    def broken() -> np.ndarray:
        raise RuntimeError("decoder fell over")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("s", 0, broken)
    assert len(cache) == 0
    assert cache.get_or_compute("s", 0, lambda: _frame(2))[0] == 2


def test_caches_real_decoded_frames(testdata):
    ds = testdata("examples_ybr_color.dcm")
    cache = FrameCache()
    frame = cache.get_or_compute("cine", 3, lambda: modality_frame(ds, 3))
    assert cache.get_or_compute("cine", 3, lambda: modality_frame(ds, 4)) is frame
    assert cache.nbytes == 240 * 320 * 3


def test_threads_share_one_cache_safely():
    cache = FrameCache(max_bytes=20 * KB)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(300):
                frame = int(rng.integers(0, 40))
                got = cache.get_or_compute("s", frame, lambda f=frame: _frame(f))
                assert got[0] == frame and got[-1] == frame
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.nbytes <= 20 * KB
    assert cache.nbytes == len(cache) * KB  # the byte count matches what is actually held
    assert cache.hits + cache.misses == 6 * 300


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_rejects_bad_size(bad):
    with pytest.raises(ValidationError):
        FrameCache(max_bytes=bad)


def test_rejects_bad_keys():
    cache = FrameCache()
    with pytest.raises(ValidationError):
        cache.get_or_compute("", 0, lambda: _frame(0))
    with pytest.raises(ValidationError):
        cache.get_or_compute("s", -1, lambda: _frame(0))
