"""Unpacking zips the user gave: unsafe names, bombs and oddities are refused with a clear reason."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from casefiles.errors import Cancelled, ValidationError
from casefiles.ingest import ZipLimits
from casefiles.ingest.zipsafe import human_size, unpack_zip
from casefiles.progress import CancelToken

SMALL = ZipLimits(max_total_bytes=8 * 1024**2, max_members=50, max_ratio=200, ratio_grace_bytes=1024**2)


def make_zip(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def tree(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_safe_members_are_unpacked_under_numbered_names(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "study.zip", {"a/one.dcm": b"1" * 10, "a/b/Zebulonfake.dcm": b"2" * 20})
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.problems == ()
    assert [(u.number, u.name) for u in result.files] == [(1, "a/one.dcm"), (2, "a/b/Zebulonfake.dcm")]
    assert [u.path.read_bytes() for u in result.files] == [b"1" * 10, b"2" * 20]
    # member names (which may hold patient names) never become file names, nor labels
    assert all("Zebulonfake" not in str(p) for p in tree(tmp_path / "out"))
    assert result.members_seen == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.dcm", "unsafe path in zip (../)"),
        ("a/../../evil.dcm", "unsafe path in zip (../)"),
        ("..\\evil.dcm", "unsafe path in zip (../)"),
        ("/etc/evil.dcm", "unsafe path in zip (absolute path)"),
        ("C:/Windows/evil.dcm", "unsafe path in zip (drive letter)"),
    ],
)
def test_path_traversal_members_are_refused_and_nothing_escapes(tmp_path: Path, name: str, reason: str) -> None:
    archive = make_zip(tmp_path / "evil.zip", {name: b"x" * 100, "good.dcm": b"g" * 100})
    out = tmp_path / "q" / "out"
    out.parent.mkdir()
    result = unpack_zip(archive, out, limits=SMALL)
    assert [(p.number, p.reason) for p in result.problems] == [(1, reason)]
    assert [(u.number, u.name) for u in result.files] == [(2, "good.dcm")]
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents and p != archive]
    assert outside == []


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link.dcm")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(tmp_path / "l.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    result = unpack_zip(tmp_path / "l.zip", tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert result.problems[0].reason == "symbolic link in zip; not followed"


def test_encrypted_member_is_reported(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "e.zip", {"secret.dcm": b"s" * 50, "plain.dcm": b"p" * 50}, method=zipfile.ZIP_STORED)
    _set_flag_bits(archive, b"secret.dcm", 0x1)
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert [u.name for u in result.files] == ["plain.dcm"]
    assert [p.reason for p in result.problems] == ["encrypted zip member; unzip it with its password first"]


def test_nested_zip_and_unsupported_compression_are_reported(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x.dcm": b"x"})
    archive = make_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes()})
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert "zip inside a zip is not supported" in result.problems[0].reason

    bz = make_zip(tmp_path / "bz.zip", {"x.dcm": b"x" * 100}, method=zipfile.ZIP_BZIP2)
    result = unpack_zip(bz, tmp_path / "out2", limits=SMALL)
    assert result.files == ()
    assert "bzip2" in result.problems[0].reason


def test_os_junk_is_skipped_silently(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "mac.zip",
        {"__MACOSX/a/._one.dcm": b"j", "a/.DS_Store": b"j", "a/Thumbs.db": b"j", "a/one.dcm": b"1"},
    )
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.problems == ()
    assert [(u.number, u.name) for u in result.files] == [(1, "a/one.dcm")]
    assert result.members_seen == 1


def test_zip_bomb_by_size_is_rejected_whole(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", {"ok.dcm": b"fine" * 10, "big.dcm": bytes(20 * 1024**2)})
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert [(p.number, p.reason) for p in result.problems] == [
        (None, "zip expands beyond the 8 MiB limit; nothing was imported from this zip")
    ]
    assert not (tmp_path / "out").exists()


def test_zip_bomb_by_ratio_is_rejected_whole(tmp_path: Path) -> None:
    # 6 MiB of zeros squeezes about a thousand-fold: within the size limit, but a bomb by ratio.
    archive = make_zip(tmp_path / "bomb.zip", {"zeros.dcm": bytes(6 * 1024**2)})
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert result.problems[0].reason.startswith("a zip member expands more than 200 times (a zip bomb)")


def test_highly_compressible_small_member_is_not_a_bomb(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "blank.zip", {"blank.dcm": bytes(512 * 1024)})  # a black image
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.problems == ()
    assert result.files[0].path.stat().st_size == 512 * 1024


def test_bomb_that_lies_about_its_size_in_the_header_is_stopped(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "liar.zip", {"liar.dcm": bytes(40 * 1024**2)})
    _set_uncompressed_size(archive, b"liar.dcm", 1000)  # claims 1000 bytes; inflates to 40 MiB
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert len(result.problems) == 1
    assert result.problems[0].number == 1
    written = sum(p.stat().st_size for p in tree(tmp_path / "out")) if (tmp_path / "out").exists() else 0
    assert written <= SMALL.max_total_bytes


def test_too_many_members_is_rejected(tmp_path: Path) -> None:
    limits = ZipLimits(max_total_bytes=1024**2, max_members=3)
    archive = make_zip(tmp_path / "many.zip", {f"{i}.dcm": b"x" for i in range(5)})
    result = unpack_zip(archive, tmp_path / "out", limits=limits)
    assert result.files == ()
    assert "more than 3 files" in result.problems[0].reason


def test_damaged_zip_is_reported(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04" + bytes(200))
    result = unpack_zip(archive, tmp_path / "out", limits=SMALL)
    assert result.files == ()
    assert result.problems[0].reason.startswith("damaged zip file")


def test_cancel_between_members_raises(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"1.dcm": b"1", "2.dcm": b"2"})
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        unpack_zip(archive, tmp_path / "out", limits=SMALL, cancel=token)


def test_limits_are_validated() -> None:
    with pytest.raises(ValidationError, match="max_ratio"):
        ZipLimits(max_ratio=0)
    with pytest.raises(ValidationError, match="max_members"):
        ZipLimits(max_members=-1)
    assert human_size(4 * 1024**3) == "4 GiB"
    assert human_size(1536) == "1.5 KiB"


# -- helpers that forge headers ------------------------------------------------------


def _patch_headers(archive: Path, name: bytes, patch_local: int, patch_central: int, fmt: str, value: int) -> None:
    """Overwrite one field in the local header and the central directory entry of member ``name``."""
    data = bytearray(archive.read_bytes())
    local = data.find(b"PK\x03\x04")
    while local != -1:
        n_len = struct.unpack_from("<H", data, local + 26)[0]
        if bytes(data[local + 30 : local + 30 + n_len]) == name:
            struct.pack_into(fmt, data, local + patch_local, value)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n_len = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + n_len]) == name:
            struct.pack_into(fmt, data, central + patch_central, value)
        central = data.find(b"PK\x01\x02", central + 4)
    archive.write_bytes(bytes(data))


def _set_uncompressed_size(archive: Path, name: bytes, size: int) -> None:
    _patch_headers(archive, name, 22, 24, "<I", size)


def _set_flag_bits(archive: Path, name: bytes, bits: int) -> None:
    _patch_headers(archive, name, 6, 8, "<H", bits)
