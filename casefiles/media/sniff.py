"""What kind of file an import really is, from its content (magic bytes), never from its name.

Registrars drop whatever the referring team sent: a PDF renamed ``.jpg``, a
HEIC photo called ``photo.jpeg``, a PowerPoint with macros renamed ``.pptx``.
Only the first few kilobytes are read, except for ZIP containers, where the
small ``[Content_Types].xml`` part says whether an Office file is a plain
presentation, one with macros (.pptm) or a Word document.
"""

from __future__ import annotations

import enum
import zipfile
from pathlib import Path

from casefiles.errors import ImportFailure

__all__ = ["MediaType", "sniff"]

_HEAD_BYTES = 8192
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_LIMIT = 1 << 20  # a real one is a few kB; refuse to inflate a bomb


class MediaType(enum.StrEnum):
    """A container or image format CaseDeck recognises; UNKNOWN for anything else."""

    JPEG = "jpeg"
    PNG = "png"
    TIFF = "tiff"
    BIGTIFF = "bigtiff"
    WEBP = "webp"
    HEIC = "heic"
    GIF = "gif"
    MP4 = "mp4"
    MOV = "mov"
    AVI = "avi"
    WEBM = "webm"
    MKV = "mkv"
    PDF = "pdf"
    PPTX = "pptx"
    PPTM = "pptm"
    DOCX = "docx"
    DICOM = "dicom"
    ZIP = "zip"
    UNKNOWN = "unknown"

    @property
    def is_image(self) -> bool:
        """Whether :func:`casefiles.media.images.scrub_image` takes this type."""
        return self in _IMAGES

    @property
    def is_video(self) -> bool:
        return self in _VIDEOS


_IMAGES = frozenset(
    {MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.BIGTIFF, MediaType.WEBP, MediaType.HEIC, MediaType.GIF}
)
_VIDEOS = frozenset({MediaType.MP4, MediaType.MOV, MediaType.AVI, MediaType.WEBM, MediaType.MKV})

# ISO base media file format brands (ftyp box). AVIF is left out on purpose: pillow-heif 1.x dropped it.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"hevm", b"hevs"})
_MOV_BRANDS = frozenset({b"qt  "})
_MP4_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
        b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"M4A ", b"f4v ",
        b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3g2b", b"3g2c", b"MSNV", b"NDAS", b"mmp4",
    }
)  # fmt: skip
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
# Top-level QuickTime atoms that old .mov files start with (no ftyp box).
_QT_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})

_PPTX_TYPES = (
    b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    b"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    b"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
)
_PPTM_TYPES = (
    b"application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    b"application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
    b"application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
)
_DOCX_TYPE = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_VBA_TYPE = b"application/vnd.ms-office.vbaProject"


def sniff(path: Path) -> MediaType:
    """The media type of the file at ``path`` by content; :attr:`MediaType.UNKNOWN` when not recognised.

    Raises :class:`ImportFailure` only when the file cannot be read at all.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise ImportFailure("The file cannot be read; check that it still exists and is not open elsewhere.") from exc
    kind = _sniff_head(head)
    if kind is MediaType.ZIP:
        return _sniff_zip(path)
    return kind


def _sniff_head(head: bytes) -> MediaType:
    if len(head) >= 132 and head[128:132] == b"DICM":
        return MediaType.DICOM
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return MediaType.TIFF
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return MediaType.BIGTIFF
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaType.GIF
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": MediaType.WEBP, b"AVI ": MediaType.AVI}.get(head[8:12], MediaType.UNKNOWN)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _sniff_ebml(head)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _sniff_ftyp(head)
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return MediaType.MOV
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return MediaType.ZIP
    # The PDF header may legally follow some junk within the first kilobyte.
    if b"%PDF-" in head[:1024]:
        return MediaType.PDF
    return MediaType.UNKNOWN


def _sniff_ebml(head: bytes) -> MediaType:
    # The EBML header names its DocType early; WebM is a restricted Matroska.
    window = head[:64]
    if b"webm" in window:
        return MediaType.WEBM
    if b"matroska" in window:
        return MediaType.MKV
    return MediaType.UNKNOWN


def _sniff_ftyp(head: bytes) -> MediaType:
    size = int.from_bytes(head[0:4], "big")
    end = min(len(head), size) if size >= 16 else 16
    major = head[8:12]
    brands = [major] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    # Decide on the major brand first: an iPhone HEIC lists mif1 and heic, a MOV lists qt only.
    for brand in brands:
        if brand in _AVIF_BRANDS:
            return MediaType.UNKNOWN
        if brand in _HEIC_BRANDS:
            return MediaType.HEIC
        if brand in _MOV_BRANDS:
            return MediaType.MOV
        if brand in _MP4_BRANDS:
            return MediaType.MP4
    return MediaType.UNKNOWN


def _sniff_zip(path: Path) -> MediaType:
    """Office Open XML files are ZIPs; their content-types part tells them apart."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                info = archive.getinfo(_CONTENT_TYPES)
            except KeyError:
                return MediaType.ZIP
            if info.file_size > _CONTENT_TYPES_LIMIT:
                return MediaType.ZIP
            with archive.open(info) as member:
                content_types = member.read(_CONTENT_TYPES_LIMIT)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, ValueError):
        # Damaged or encrypted: still a ZIP; whoever opens it reports what is wrong.
        return MediaType.ZIP
    if any(kind in content_types for kind in _PPTM_TYPES):
        return MediaType.PPTM
    if any(kind in content_types for kind in _PPTX_TYPES):
        return MediaType.PPTM if _VBA_TYPE in content_types else MediaType.PPTX
    if _DOCX_TYPE in content_types:
        return MediaType.DOCX
    return MediaType.ZIP
