"""Reading one file as a DICOM instance, and writing a de-identified one back to bytes.

Files are parsed from memory, never by name, so pydicom's warnings cannot
carry a file name (which often holds the patient's name). Problems are raised
as :class:`~casefiles.errors.ImportFailure` with a reason the user can act on.
"""

from __future__ import annotations

import contextlib
import io

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from casefiles.errors import ImportFailure

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_DATA_TAG = 0x7FE00010
_IMPLEMENTATION_VERSION = "CASEDECK_0_1"
_META_KEYWORDS = ("ImplementationClassUID", "TransferSyntaxUID")


def read_dataset(data: bytes) -> Dataset:
    """Parse ``data`` as a DICOM file (with or without the 128-byte preamble).

    A file without a preamble is accepted only if it parses to something with
    a SOP Class and SOP Instance UID; anything else is "not a DICOM file".
    """
    if not data:
        raise ImportFailure("empty file")
    has_preamble = data[128:132] == b"DICM"
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=not has_preamble)
        if is_directory(ds):
            return ds
        sop_class = ds.get("SOPClassUID")
        sop_instance = ds.get("SOPInstanceUID")
    except InvalidDicomError as exc:
        raise ImportFailure("not a DICOM file") from exc
    except Exception as exc:  # pydicom raises many kinds of error on damaged input
        if has_preamble:
            raise ImportFailure("damaged DICOM file (its data elements cannot be read)") from exc
        raise ImportFailure("not a DICOM file") from exc
    if not sop_class or not sop_instance:
        if has_preamble:
            raise ImportFailure("damaged or incomplete DICOM file (it has no SOP Class or SOP Instance UID)")
        raise ImportFailure("not a DICOM file")
    _check_complete(ds)
    return ds


def is_directory(ds: Dataset) -> bool:
    """A DICOMDIR is an index of a disc, not an instance."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY:
        return True
    return "DirectoryRecordSequence" in ds


def _check_complete(ds: Dataset) -> None:
    """pydicom reads a cut-off file without complaint; notice missing or short pixel data."""
    try:
        if "Rows" not in ds:
            return
        pixel = next((ds[k] for k in _PIXEL_KEYWORDS if k in ds), None)
        if pixel is None:
            raise ImportFailure("truncated DICOM file (its pixel data is missing)")
        if pixel.keyword != "PixelData" or pixel.is_undefined_length:
            return  # encapsulated: a cut inside it drops the whole element (caught above)
        bits = int(ds.BitsAllocated)
        pixels = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        expected = (pixels * frames * bits + 7) // 8
        if len(pixel.value or b"") < expected:
            raise ImportFailure("truncated DICOM file (its pixel data is cut short)")
    except ImportFailure:
        raise
    except Exception as exc:
        raise ImportFailure("damaged DICOM file (its image description cannot be read)") from exc


def _transfer_syntax(ds: Dataset) -> UID | None:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(str(ts)) if ts else None


def source_syntax(ds: Dataset) -> UID:
    """The transfer syntax the file was read with (implicit VR if it had no file meta)."""
    ts = _transfer_syntax(ds)
    if ts is not None:
        return ts
    implicit, _little = getattr(ds, "original_encoding", (True, True))
    return ImplicitVRLittleEndian if implicit is not False else ExplicitVRLittleEndian


def encode(ds: Dataset, *, fallback_syntax: UID) -> bytes:
    """Write ``ds`` as a DICOM file: Explicit VR Little Endian, or its compressed syntax if encapsulated.

    The file meta is the de-identifier's (rebuilt from its output, nothing of
    the source's), completed if it lacks something; the preamble is zeros.
    ``ds`` is the de-identifier's output and is updated in place.
    """
    syntax = _transfer_syntax(ds) or fallback_syntax
    pixel = ds.get(_PIXEL_DATA_TAG)  # by tag: the element itself, or None
    encapsulated = pixel is not None and pixel.is_undefined_length
    target = syntax if (encapsulated and syntax.is_compressed) else ExplicitVRLittleEndian
    if encapsulated and not syntax.is_compressed:
        raise ImportFailure("compressed pixel data without a matching transfer syntax; cannot be stored")
    meta = getattr(ds, "file_meta", None)
    if meta is None or not all(meta.get(k) for k in _META_KEYWORDS):
        meta = FileMetaDataset()
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = _IMPLEMENTATION_VERSION
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = target
    ds.file_meta = meta
    if isinstance(ds, FileDataset):
        ds.preamble = None
    # A file that claims explicit VR but holds implicit-VR elements fails the first time: decode, retry.
    with contextlib.suppress(Exception):
        return _write(ds)
    try:
        _decode_all(ds)
        return _write(ds)
    except Exception as exc:  # a value that cannot be encoded at all
        raise ImportFailure("could not be written back as DICOM after de-identification; discarded") from exc


def _write(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _decode_all(ds: Dataset) -> None:
    """Turn every raw element into a decoded one (with its VR from the dictionary), nested ones too."""
    for elem in ds:  # iterating a Dataset decodes and keeps each element
        if elem.VR == "SQ":
            for item in elem.value or ():
                _decode_all(item)
