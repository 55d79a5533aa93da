"""The encrypted review area (issue #13 scope 3): originals waiting for burned-in text review."""

from __future__ import annotations

import datetime as dt
import errno
import multiprocessing
import os
import stat
import types
from pathlib import Path

import pytest

from casefiles import review_area as review_area_module
from casefiles.config import Settings, settings_from_env
from casefiles.errors import CaseDeckError, ReviewAreaError, StorageError, ValidationError
from casefiles.review_area import ReviewArea

SECRET = b"s" * 32
PLANTED = b"DOE^JANE MRN 0012345678 DOB 19470312"


def _area(folder: Path, secret: bytes = SECRET, **kwargs: object) -> ReviewArea:
    return ReviewArea(folder, secret, **kwargs)  # type: ignore[arg-type]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _item_files(folder: Path) -> list[Path]:
    return [p for p in _files(folder) if p.name.endswith(".rva")]


def test_round_trip_and_usage(tmp_path: Path) -> None:
    area = _area(tmp_path / "ra")
    assert area.usage() == (0, 0)
    payloads = [PLANTED * 100, b"", os.urandom(70_000)]
    ids = [area.put(p) for p in payloads]
    assert len(set(ids)) == 3
    for item_id, payload in zip(ids, payloads, strict=True):
        assert area.get(item_id) == payload
    count, size = area.usage()
    assert count == 3
    assert size == sum(p.stat().st_size for p in _item_files(tmp_path / "ra"))


def test_ids_are_random_not_derived_from_data(tmp_path: Path) -> None:
    area = _area(tmp_path / "ra")
    first, second = area.put(PLANTED), area.put(PLANTED)
    assert first != second
    assert PLANTED.hex() not in first


def test_no_plaintext_on_disk(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    item_id = area.put(b"\x00" * 512 + PLANTED + b"\xff" * 512)
    for path in _files(folder):
        content = path.read_bytes()
        assert PLANTED not in content
        assert b"DOE^JANE" not in content
        assert PLANTED.hex().encode() not in content
    # discarding overwrites and unlinks: nothing left to grep either
    area.discard(item_id)
    assert _item_files(folder) == []


def test_file_and_folder_modes(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    old_umask = os.umask(0o000)  # the strictest test: a permissive umask must not loosen modes
    try:
        _area(folder).put(PLANTED)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in _files(folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_existing_loose_folder_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    _area(folder).put(PLANTED)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.parametrize("where", ["header", "nonce", "ciphertext", "tag"])
def test_tampered_byte_is_refused(tmp_path: Path, where: str) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    item_id = area.put(PLANTED * 10)
    (path,) = _item_files(folder)
    blob = bytearray(path.read_bytes())
    position = {"header": 6, "nonce": 21 + 3, "ciphertext": 40, "tag": len(blob) - 1}[where]
    blob[position] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(ReviewAreaError, match="damaged or was altered"):
        area.get(item_id)


def test_truncated_or_foreign_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    item_id = area.put(PLANTED)
    (path,) = _item_files(folder)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ReviewAreaError, match="damaged"):
        area.get(item_id)
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    with pytest.raises(ReviewAreaError, match="damaged"):
        area.get(item_id)


def test_swapped_files_are_refused(tmp_path: Path) -> None:
    """The id is associated data: one item's file cannot stand in for another's."""
    folder = tmp_path / "ra"
    area = _area(folder)
    first, second = area.put(b"first original"), area.put(b"second original")
    first_path, second_path = folder / f"{first}.rva", folder / f"{second}.rva"
    first_blob = first_path.read_bytes()
    first_path.write_bytes(second_path.read_bytes())
    second_path.write_bytes(first_blob)
    for item_id in (first, second):
        with pytest.raises(ReviewAreaError, match="damaged or was altered"):
            area.get(item_id)


def test_different_secret_gives_the_key_message(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    item_id = _area(folder).put(PLANTED)
    with pytest.raises(ReviewAreaError) as caught:
        _area(folder, secret=b"t" * 32).get(item_id)
    message = str(caught.value)
    assert "secret key changed or is missing" in message
    assert "blank the image by hand or discard it" in message
    assert item_id not in message
    assert str(tmp_path) not in message


def test_missing_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReviewAreaError, match="secret key changed or is missing"):
        _area(tmp_path / "ra", secret=b"")


def test_gone_item_has_a_clear_message(tmp_path: Path) -> None:
    area = _area(tmp_path / "ra")
    item_id = area.put(PLANTED)
    area.discard(item_id)
    with pytest.raises(ReviewAreaError, match="no longer in the review area") as caught:
        area.get(item_id)
    assert item_id not in str(caught.value)


@pytest.mark.parametrize(
    "bad_id",
    [
        "../secret.key",
        "../../etc/passwd",
        "/etc/passwd",
        "",
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "g" * 32,
        "0" * 32 + "/",
        "0" * 32 + ".rva",
        "0" * 16 + "\x00" + "0" * 15,
        ".lock",
    ],
)
def test_bad_ids_are_refused(tmp_path: Path, bad_id: str) -> None:
    area = _area(tmp_path / "ra")
    area.put(PLANTED)
    for call in (area.get, area.discard):
        with pytest.raises(ValidationError) as caught:
            call(bad_id)
        assert bad_id not in str(caught.value) or not bad_id
        assert isinstance(caught.value, CaseDeckError)


def test_bad_id_types_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        _area(tmp_path / "ra").get(None)  # type: ignore[arg-type]


def test_discard_is_idempotent(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    keep, drop = area.put(b"keep"), area.put(b"drop")
    area.discard(drop)
    area.discard(drop)
    area.discard("f" * 32)  # never existed
    assert area.usage()[0] == 1
    assert area.get(keep) == b"keep"
    _area(tmp_path / "never-created").discard("0" * 32)


def test_discard_overwrites_before_unlinking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    item_id = area.put(PLANTED * 50)
    path = folder / f"{item_id}.rva"
    seen: list[bytes] = []
    real_unlink = Path.unlink

    def spy(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            seen.append(self.read_bytes())
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", spy)
    area.discard(item_id)
    assert seen
    assert set(seen[0]) == {0}
    assert not path.exists()


def test_retention_purge_with_injected_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ra"
    area = _area(folder, retention=dt.timedelta(days=30))
    now = dt.datetime.now(dt.UTC)
    forty_days_ago = (now - dt.timedelta(days=40)).timestamp()
    monkeypatch.setattr(review_area_module, "time", types.SimpleNamespace(time=lambda: forty_days_ago))
    old = area.put(b"old")
    monkeypatch.undo()
    new = area.put(b"new")
    assert area.purge_expired(now) == 1
    with pytest.raises(ReviewAreaError, match="no longer in the review area"):
        area.get(old)
    assert area.get(new) == b"new"
    # the creation time is in the header, not the file's mtime: touching the file does not renew it
    assert area.purge_expired(now + dt.timedelta(days=29)) == 0
    assert area.purge_expired(now + dt.timedelta(days=31)) == 1
    assert area.usage() == (0, 0)


def test_retention_purge_works_without_the_key(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    _area(folder).put(PLANTED)
    other_key = _area(folder, secret=b"t" * 32, retention=dt.timedelta(days=1))
    assert other_key.purge_expired(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)) == 1
    assert _item_files(folder) == []


def test_retention_purge_removes_stale_temporaries_only(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    area.put(PLANTED)
    stale = folder / ".tmp-0123456789abcdef"
    stale.write_bytes(b"left by a crash")
    fresh = folder / ".tmp-fedcba9876543210"
    fresh.write_bytes(b"being written")
    hours_ago = dt.datetime.now(dt.UTC).timestamp() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    assert area.purge_expired() == 0
    assert not stale.exists()
    assert fresh.exists()
    assert area.usage()[0] == 1


def test_wipe(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    for n in range(4):
        area.put(bytes([n]) * 100)
    (folder / ".tmp-0123456789abcdef").write_bytes(b"x")
    assert area.wipe() == 4
    assert area.usage() == (0, 0)
    assert [p.name for p in _files(folder)] == [".lock"]
    assert _area(tmp_path / "never-created").wipe() == 0


def test_full_area_is_refused_and_nothing_left_behind(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    area = _area(folder, max_bytes=2_000)
    kept = area.put(b"a" * 1000)
    before = [(p.name, p.read_bytes()) for p in _files(folder)]
    with pytest.raises(ReviewAreaError, match="review area is full") as caught:
        area.put(b"b" * 1000)
    message = str(caught.value)
    assert "nothing was stored" in message
    assert "raise the limit" in message
    assert [(p.name, p.read_bytes()) for p in _files(folder)] == before
    # larger than the whole limit: refused before anything is written, even the folder
    with pytest.raises(ReviewAreaError, match="review area is full"):
        _area(tmp_path / "tiny", max_bytes=100).put(b"c" * 200)
    assert not (tmp_path / "tiny").exists()
    # room again once a review is finished
    area.discard(kept)
    assert area.get(area.put(b"b" * 1000)) == b"b" * 1000


def test_disk_full_is_refused_and_nothing_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)
    area.put(b"already here")
    before = sorted(p.name for p in _files(folder))

    def no_space(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(review_area_module, "_write_all", no_space)
    with pytest.raises(ReviewAreaError, match=r"review area is full.*nothing was stored"):
        area.put(PLANTED * 1000)
    assert sorted(p.name for p in _files(folder)) == before
    assert not any(p.name.startswith(".tmp-") for p in _files(folder))


def test_other_write_failure_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ra"
    area = _area(folder)

    def broken(fd: int, data: bytes) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(review_area_module, "_write_all", broken)
    with pytest.raises(StorageError, match="nothing was stored") as caught:
        area.put(PLANTED)
    assert str(tmp_path) not in str(caught.value)
    assert [p.name for p in _files(folder)] == [".lock"]


def test_invalid_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        _area(tmp_path, max_bytes=0)
    with pytest.raises(ValidationError):
        _area(tmp_path, retention=dt.timedelta(0))


def _put_many(folder: str, count: int, tag: int, out: multiprocessing.Queue[list[str]]) -> None:
    area = ReviewArea(Path(folder), SECRET, max_bytes=10**9)
    out.put([area.put(bytes([tag]) * 1000 + n.to_bytes(4, "big")) for n in range(count)])


def test_concurrent_puts_from_two_processes_never_collide(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [context.Process(target=_put_many, args=(str(folder), 40, tag, out)) for tag in (1, 2)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    ids = [item_id for batch in results for item_id in batch]
    assert len(ids) == len(set(ids)) == 80
    area = _area(folder)
    assert area.usage()[0] == 80
    stored = {area.get(item_id) for item_id in ids}
    assert len(stored) == 80
    assert not any(p.name.startswith(".tmp-") for p in _files(folder))


def _put_until_full(folder: str, tag: int, out: multiprocessing.Queue[int]) -> None:
    area = ReviewArea(Path(folder), SECRET, max_bytes=20 * 1100)
    stored = 0
    for _ in range(30):
        try:
            area.put(bytes([tag]) * 1000)
        except ReviewAreaError:
            continue
        stored += 1
    out.put(stored)


def test_concurrent_puts_respect_the_limit(tmp_path: Path) -> None:
    folder = tmp_path / "ra"
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[int] = context.Queue()
    workers = [context.Process(target=_put_until_full, args=(str(folder), tag, out)) for tag in (1, 2)]
    for worker in workers:
        worker.start()
    stored = sum(out.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=120)
    count, size = _area(folder).usage()
    assert count == stored
    assert size <= 20 * 1100


def test_settings_give_the_folder_and_retention(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", review_retention_days=7)
    assert settings.review_area_dir == tmp_path / "data" / "review-area"
    assert settings.review_area_dir != settings.blob_dir
    area = ReviewArea.for_settings(settings, SECRET)
    assert area.folder == settings.review_area_dir
    assert area.retention == dt.timedelta(days=7)


def test_retention_days_from_env(tmp_path: Path) -> None:
    base = {"CASEDECK_DATA": str(tmp_path)}
    assert settings_from_env(base).review_retention_days == 30
    assert settings_from_env({**base, "CASEDECK_REVIEW_RETENTION_DAYS": " 14 "}).review_retention_days == 14
    for bad in ("0", "-3", "abc", "2.5", "99999"):
        with pytest.raises(ValidationError, match="CASEDECK_REVIEW_RETENTION_DAYS"):
            settings_from_env({**base, "CASEDECK_REVIEW_RETENTION_DAYS": bad})
