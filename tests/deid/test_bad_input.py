"""Damaged and unusual input: made safe where it can be, refused where its safety is unknown."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from casefiles.deid import Deidentifier
from casefiles.errors import DeidentificationError

from .conftest import make_phi_ct, phi_strings, reread, written


def _assert_safe(ds: pydicom.Dataset) -> pydicom.Dataset:
    data = written(ds).lower()
    assert [s for s in phi_strings() if s.lower().encode() in data] == []
    out = pydicom.dcmread(io.BytesIO(written(ds)))
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    return out


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_other_encodings_come_out_explicit_little_endian_with_the_same_pixels(
    teaching: Deidentifier, name: str
) -> None:
    reference = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array
    out = _assert_safe(teaching.deidentify(pydicom.dcmread(get_testdata_file(name))).dataset)
    assert np.array_equal(out.pixel_array, reference)


def test_phi_dataset_written_implicit_without_file_meta_is_made_safe(teaching: Deidentifier) -> None:
    ds = make_phi_ct()
    del ds.file_meta
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=True, little_endian=True)
    raw = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    assert "TransferSyntaxUID" not in raw.file_meta
    out = _assert_safe(teaching.deidentify(raw).dataset)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.NumberOfFrames == 2


def test_phi_dataset_written_implicit_with_meta_is_made_safe(teaching: Deidentifier) -> None:
    ds = make_phi_ct()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    raw = pydicom.dcmread(io.BytesIO(written(ds)))
    _assert_safe(teaching.deidentify(raw).dataset)


def test_dataset_without_sop_instance_uid_or_patient_module_is_refused(teaching: Deidentifier) -> None:
    ds = make_phi_ct()
    del ds.SOPInstanceUID
    with pytest.raises(DeidentificationError, match="not a storable DICOM object"):
        teaching.deidentify(ds)
    raw = pydicom.dcmread(get_testdata_file("no_meta.dcm"), force=True)  # a fragment: no Patient module
    with pytest.raises(DeidentificationError, match="no Patient's Name or Patient ID"):
        teaching.deidentify(raw)


def test_truncated_files_are_made_safe_or_refused(teaching: Deidentifier) -> None:
    data = written(make_phi_ct())
    header_end = data.index(b"\xe0\x7f\x10\x00")  # where Pixel Data starts
    outcomes = set()
    for cut in range(200, header_end, max(1, header_end // 40)):
        try:
            raw = pydicom.dcmread(io.BytesIO(data[:cut]), force=True)
        except Exception:  # the reader refused: nothing reaches the engine
            outcomes.add("unreadable")
            continue
        try:
            result = teaching.deidentify(raw)
        except DeidentificationError as exc:
            assert not any(s.lower() in str(exc).lower() for s in phi_strings())
            outcomes.add("refused")
            continue
        data_out = written(result.dataset).lower() if "SOPInstanceUID" in result.dataset else b""
        assert [s for s in phi_strings() if s.lower().encode() in data_out] == []
        outcomes.add("safe")
    assert "refused" in outcomes  # cut inside the identifying header: the instance must not pass


@pytest.mark.parametrize("image_type", [["ORIGINAL", "PRIMARY", "OTHER"], ["DERIVED", "SECONDARY", "OTHER"]])
def test_an_image_whose_pixels_cannot_be_read_is_refused_not_stored_unscreened(
    teaching: Deidentifier, image_type: list[str]
) -> None:
    """Every image is screened for burned-in text: pixels that cannot be decoded cannot be vouched for."""
    raw = pydicom.dcmread(get_testdata_file("MR_truncated.dcm"))
    raw.ImageType = image_type
    with pytest.raises(DeidentificationError, match="shorter than its header says") as refused:
        teaching.deidentify(raw)
    assert str(raw.PatientName) not in str(refused.value)


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xfe\xff\x00\xe0\xff\x00\x00\x00Quixfeldt",  # an item claiming 255 bytes
        b"\x08\x00\x00\x01SH\x09\x00Quixfeldt",  # an element where an item should be
        b"\xfe\xff\x00\xe0\x0e\x00\x00\x00\x08\x00\x00\x01XX\x09\x00Quixfeldt",  # an unknown VR
        b"\xfe\xff\x00\xe0\x10\x00\x00\x00\x10\x00\x10\x00PN\xff\x00Quixfeldt^J",  # a name overrunning
    ],
)
def test_a_damaged_sequence_is_made_safe_or_refused(teaching: Deidentifier, garbage: bytes) -> None:
    ds = make_phi_ct()
    ds[0x00400275] = RawDataElement(0x00400275, "SQ", len(garbage), garbage, 0, False, True)
    try:
        result = teaching.deidentify(ds)
    except DeidentificationError as exc:
        assert "quixfeldt" not in str(exc).lower()
        return
    _assert_safe(result.dataset)


def test_an_element_that_cannot_be_read_stops_the_instance_without_showing_values(
    teaching: Deidentifier, tmp_path: Path
) -> None:
    path = tmp_path / "Quixfeldt_Johnathan.dcm"
    path.write_bytes(written(make_phi_ct()))
    ds = pydicom.dcmread(path, defer_size=1024)  # pixel data is read only when needed...
    path.unlink()  # ...and by then the file is gone
    with pytest.raises(DeidentificationError, match=r"at \(7FE0,0010\)") as caught:
        teaching.deidentify(ds)
    assert "quixfeldt" not in str(caught.value).lower()
    assert caught.value.__cause__ is None


def test_invalid_values_are_de_identified(teaching: Deidentifier) -> None:
    ds = pydicom.dcmread(get_testdata_file("badVR.dcm"))
    del ds.PixelData  # its Number of Frames ("1A") makes the pixels unreadable: see the next test
    out = reread(teaching.deidentify(ds).dataset)
    assert out.PatientIdentityRemoved == "YES"


def test_pixels_that_an_invalid_header_makes_unreadable_are_refused(teaching: Deidentifier) -> None:
    ds = pydicom.dcmread(get_testdata_file("badVR.dcm"))
    with pytest.raises(DeidentificationError, match="could not be decoded") as refused:
        teaching.deidentify(ds)
    assert "1A" not in str(refused.value)


def test_compressed_pixel_data_keeps_its_transfer_syntax(teaching: Deidentifier) -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    out = reread(teaching.deidentify(ds).dataset)
    assert out.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    assert np.array_equal(out.pixel_array, ds.pixel_array)
