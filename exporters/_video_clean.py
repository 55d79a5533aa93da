"""Make a stack clip safe to embed: an MP4 with its free-text metadata blanked.

Encoders write titles, comments and tool names into ``udta``/``meta`` boxes, and
a renderer that copied DICOM text there by mistake would leak a name into the
deck. Removing a box would shift the media data that the sample tables point
to, so each such box is turned into a ``free`` box of the same size with its
payload zeroed: lossless, instant, and every player skips ``free`` boxes.
"""

from __future__ import annotations

import struct

from casefiles.errors import ExportError

_UNREADABLE = "The stack clip is not a readable MP4 video."
#: Boxes whose children are boxes (where metadata may hide); everything else is opaque.
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf"})
_METADATA = frozenset({b"udta", b"meta", b"uuid", b"ilst", b"XMP_"})
MAX_CLIP_BYTES = 500 * 1024 * 1024


def clean_mp4(data: object) -> bytes:
    """The clip with every metadata box blanked; ExportError when it is not an MP4 with a movie and media."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ExportError(f"{_UNREADABLE} The media source returned {type(data).__name__}, not video bytes.")
    buf = bytearray(data)
    if len(buf) > MAX_CLIP_BYTES:
        raise ExportError("The stack clip is larger than 500 MB; export the series with fewer frames.")
    top = _blank(buf, 0, len(buf))
    if not top or top[0] != b"ftyp" or b"moov" not in top or b"mdat" not in top:
        raise ExportError(_UNREADABLE)
    return bytes(buf)


def _blank(buf: bytearray, start: int, end: int) -> list[bytes]:
    """Walk the boxes in ``buf[start:end]``, blanking metadata in place; return the box types seen."""
    seen = []
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise ExportError(_UNREADABLE)
        size, kind = struct.unpack(">I4s", buf[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ExportError(_UNREADABLE)
            (size,) = struct.unpack(">Q", buf[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ExportError(_UNREADABLE)
        seen.append(bytes(kind))
        if kind in _METADATA:
            buf[pos + 4 : pos + 8] = b"free"
            buf[pos + header : pos + size] = bytes(size - header)
        elif kind in _CONTAINERS:
            _blank(buf, pos + header, pos + size)
        pos += size
    return seen
