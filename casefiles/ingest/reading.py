"""Reading one file as a DICOM instance, and writing a de-identified one back to bytes.

Files are parsed from memory, never by name, so pydicom's warnings cannot
carry a file name (which often holds the patient's name). Problems are raised
as :class:`~casefiles.errors.ImportFailure` with a reason the user can act on.
"""

from __future__ import annotations

import contextlib
import io
import struct

import pydicom
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import EXPLICIT_VR_LENGTH_32

from casefiles.errors import ImportFailure

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_PIXEL_DATA_TAG = 0x7FE00010
_PIXEL_TAGS = (_PIXEL_DATA_TAG, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float and Double Float Pixel Data
_SOP_CLASS_UID, _SOP_INSTANCE_UID = 0x00080016, 0x00080018
_SAMPLES_PER_PIXEL, _NUMBER_OF_FRAMES = 0x00280002, 0x00280008
_ROWS, _COLUMNS, _BITS_ALLOCATED = 0x00280010, 0x00280011, 0x00280100
_UNDEFINED_LENGTH = 0xFFFFFFFF
_SHORT_HEADER = struct.Struct("<HH2sH")  # tag, VR, 16-bit length
_LONG_HEADER = struct.Struct("<HH2sHL")  # tag, VR, reserved, 32-bit length
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
_DEFAULT_ENCODING = "iso8859"  # pydicom's default character set for text
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
        sop_class = peek(ds, _SOP_CLASS_UID)
        sop_instance = peek(ds, _SOP_INSTANCE_UID)
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


def peek(ds: Dataset, tag: int) -> object:
    """The value of ``tag`` in ``ds`` (None if absent), leaving the element as it was read.

    ``ds.Keyword`` converts pydicom's raw element in place for good; a converted
    element is then copied by the de-identifier and re-encoded by the writer,
    where a raw one is shared and written back byte for byte.
    """
    elem = ds.get_item(tag)
    if elem is None:
        return None
    if isinstance(elem, RawDataElement):
        return convert_raw_data_element(elem, encoding=ds._character_set, ds=ds).value
    return elem.value


def _check_complete(ds: Dataset) -> None:
    """pydicom reads a cut-off file without complaint; notice missing or short pixel data."""
    try:
        if _ROWS not in ds:
            return
        pixel = next((ds.get_item(t) for t in _PIXEL_TAGS if t in ds), None)
        if pixel is None:
            raise ImportFailure("truncated DICOM file (its pixel data is missing)")
        if pixel.tag != _PIXEL_DATA_TAG or _undefined_length(pixel):
            return  # encapsulated: a cut inside it drops the whole element (caught above)
        bits = _as_int(peek(ds, _BITS_ALLOCATED))
        pixels = _as_int(peek(ds, _ROWS)) * _as_int(peek(ds, _COLUMNS)) * _as_int(peek(ds, _SAMPLES_PER_PIXEL), 1)
        frames = _as_int(peek(ds, _NUMBER_OF_FRAMES), 1)
        expected = (pixels * frames * bits + 7) // 8
        if len(pixel.value or b"") < expected:
            raise ImportFailure("truncated DICOM file (its pixel data is cut short)")
    except ImportFailure:
        raise
    except Exception as exc:
        raise ImportFailure("damaged DICOM file (its image description cannot be read)") from exc


def _as_int(value: object, default: int | None = None) -> int:
    """A header number; absent or empty gives ``default`` (or a TypeError when there is none)."""
    if default is not None and not value:
        return default
    return int(value)  # type: ignore[call-overload]


def _undefined_length(elem: DataElement | RawDataElement) -> bool:
    if isinstance(elem, RawDataElement):
        return elem.length == _UNDEFINED_LENGTH
    return elem.is_undefined_length


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
    pixel = ds.get_item(_PIXEL_DATA_TAG)  # the element as it is (raw or not), or None
    encapsulated = pixel is not None and _undefined_length(pixel)
    target = syntax if (encapsulated and syntax.is_compressed) else ExplicitVRLittleEndian
    if encapsulated and not syntax.is_compressed:
        raise ImportFailure("compressed pixel data without a matching transfer syntax; cannot be stored")
    meta = getattr(ds, "file_meta", None)
    if meta is None or not all(meta.get(k) for k in _META_KEYWORDS):
        meta = FileMetaDataset()
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = _IMPLEMENTATION_VERSION
    meta.MediaStorageSOPClassUID = peek(ds, _SOP_CLASS_UID)
    meta.MediaStorageSOPInstanceUID = peek(ds, _SOP_INSTANCE_UID)
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
    if is_raw_explicit_little(ds):
        return write_explicit_little(ds)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def is_raw_explicit_little(ds: Dataset) -> bool:
    """Whether :func:`write_explicit_little` writes ``ds`` as ``dcmwrite`` would.

    True when the file meta says Explicit VR Little Endian (natively or
    encapsulated), ``ds`` was read with it, its character set is unchanged,
    and every raw element at the top level is explicit VR little endian: then
    pydicom itself would copy the raw elements' bytes without converting them.
    """
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None or syntax == DeflatedExplicitVRLittleEndian:
        return False
    syntax = UID(str(syntax))
    if not syntax.is_transfer_syntax or syntax.is_implicit_VR or not syntax.is_little_endian:
        return False
    if ds.original_encoding != (False, True) or ds.original_character_set != ds._character_set:
        return False
    for elem in ds._dict.values():
        if isinstance(elem, RawDataElement) and (
            elem.is_implicit_VR or not elem.is_little_endian or elem.VR is None or len(elem.VR) != 2
        ):
            return False
    return True


def write_explicit_little(ds: Dataset) -> bytes:
    """``dcmwrite(buffer, ds, enforce_file_format=True)``, byte for byte, for a dataset that
    :func:`is_raw_explicit_little` accepts, at a fraction of the cost.

    Raw elements (most of a de-identified instance, pixel data included) are
    framed with a packed header and their bytes joined once; pydicom writes
    each of them through a buffer of its own and copies the pixel data
    three times. Converted elements (those the de-identifier changed) and
    sequences are written by pydicom.
    """
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    head.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(head, ds.file_meta, enforce_standard=True)
    parts = [head.getvalue()]
    encodings = ds.get("SpecificCharacterSet", _DEFAULT_ENCODING)  # as write_dataset does
    for tag in sorted(ds._dict):
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # retired group lengths are not written (PS3.5 7.2)
        elem = ds.get_item(tag)
        value = elem.value
        if isinstance(elem, RawDataElement) and isinstance(value, bytes):
            vr = str(elem.VR)
            undefined = elem.length == _UNDEFINED_LENGTH
            if vr in EXPLICIT_VR_LENGTH_32:
                length = _UNDEFINED_LENGTH if undefined else len(value)
                parts.append(_LONG_HEADER.pack(tag >> 16, tag & 0xFFFF, vr.encode(), 0, length))
                parts.append(value)
                if undefined:
                    parts.append(_SEQUENCE_DELIMITER)
                continue
            if not undefined and len(value) <= 0xFFFF:
                parts.append(_SHORT_HEADER.pack(tag >> 16, tag & 0xFFFF, vr.encode(), len(value)))
                parts.append(value)
                continue
        buffer = DicomBytesIO()
        buffer.is_little_endian, buffer.is_implicit_VR = True, False
        write_data_element(buffer, elem, encodings)
        parts.append(buffer.getvalue())
    return b"".join(parts)


def _decode_all(ds: Dataset) -> None:
    """Turn every raw element into a decoded one (with its VR from the dictionary), nested ones too."""
    for elem in ds:  # iterating a Dataset decodes and keeps each element
        if elem.VR == "SQ":
            for item in elem.value or ():
                _decode_all(item)
