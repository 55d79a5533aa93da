"""Export a conference as a teaching-file package: one zip another CaseDeck can import.

The zip holds ``manifest.json`` (the conference and every case exactly as
:meth:`~casefiles.model.Case.to_dict` gives them, but for their study keys,
which mean something only to the library that made them; plus which file holds which
DICOM instance or media item), the de-identified DICOM files, the scrubbed
photos, video clips and PowerPoint decks, the key images and series thumbnails
as presented, one RSNA MIRC ``MIRCdocument.xml`` per case, and a README. Member
names are generic counters (``dicom/case-01/series-02/0003.dcm``,
``media/case-01/item-04.mp4``), never taken from anything in the data. Every
member carries one fixed timestamp, so the same conference gives the same
bytes; the zip is written beside ``out`` and renamed into place only when
complete.

A case's PDFs stay behind: a referral letter or report can name the patient
in its text, which CaseDeck cannot check, so only the pages the user added to
the case as images (which they can black out) leave CaseDeck.
"""

from __future__ import annotations

import io
import json
import logging
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree as ET

from PIL import Image

from casefiles.errors import Cancelled, CaseDeckError, ExportError
from casefiles.model import Asset, AssetKind, Case, KeyImage
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from exporters._atomic import check_target, write_atomically
from exporters._deck_plan import format_window, safe_text
from exporters._image_clean import CleanImage, clean_image
from exporters.bundle import ConferenceBundle, MediaSource

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "export_conference_package",
]

logger = logging.getLogger(__name__)

FORMAT_NAME = "casedeck-package"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
README_NAME = "README.txt"
#: Every zip entry's timestamp: no clock, no correlation with a study or export date.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
THUMBNAIL_SIDE = 256
#: Media kinds a package carries as files (a PDF's text cannot be checked for names, so it stays behind).
CARRIED_MEDIA = frozenset({AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.SLIDE_DECK})
#: Member extension by stored media type; anything else is packed as ``.bin`` (the import types by content).
MEDIA_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
#: Formats that are already compressed: deflating them again costs time and saves nothing.
_STORED_EXTENSIONS = frozenset({"jpg", "png", "webp", "mp4", "pptx"})
PDF_LEFT_OUT = (
    "PDFs are not included: their text (a referral letter, a report) can name the patient, and "
    "CaseDeck cannot check text. The PDF itself stays in the library it came from; pages added to "
    "the case as images are included."
)
_FILE_MODE = 0o644
_DICOM_MAGIC_OFFSET = 128


def export_conference_package(
    bundle: ConferenceBundle,
    media: MediaSource,
    out: Path,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> Path:
    """Write ``bundle`` as a teaching-file package (.zip) to ``out`` and return the path written.

    A key image or thumbnail the media source cannot render is left out (the
    manifest says so); a series whose DICOM files cannot all be read is marked
    incomplete, and an import leaves it out with a message. Raises
    :class:`~casefiles.errors.Cancelled` (nothing written) and
    :class:`~casefiles.errors.ExportError` when the zip cannot be written.
    """
    if not isinstance(bundle, ConferenceBundle):
        raise ExportError(f"A package can only be made from a conference bundle, not from {type(bundle).__name__}.")
    target = check_target(out, ".zip", "teaching-file package")
    total = _step_count(bundle)
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        progress(min(done, total), total, message)

    def write(stream: IO[bytes]) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            writer = _Writer(zf)
            writer.text(README_NAME, _readme(bundle))
            packer = _Packer(writer, media, cancel, step)
            contents = [packer.case(number, case) for number, (case, _plan) in enumerate(bundle.entries(), 1)]
            cancel.raise_if_cancelled()
            writer.text(MANIFEST_NAME, _manifest(bundle, contents))

    write_atomically(target, write, "package")
    progress(total, total, "Package saved")
    return target


# -- what goes into the zip -----------------------------------------------------------------------


@dataclass(slots=True)
class _CaseContents:
    """Where one case's files went in the zip (for the manifest)."""

    case_id: str
    folder: str
    series: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    mircdocument: str = ""


class _Writer:
    """Adds members with fixed timestamps; already-compressed images are stored, not deflated."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self._zf = zf

    def add(self, name: str, data: bytes, *, compress: bool = True) -> None:
        info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = _FILE_MODE << 16
        info.create_system = 3  # Unix, whatever machine writes it: the same bytes everywhere
        self._zf.writestr(info, data)

    def text(self, name: str, text: str) -> None:
        self.add(name, text.encode("utf-8"))


def _step_count(bundle: ConferenceBundle) -> int:
    steps = 1
    for case, _plan in bundle.entries():
        steps += len(case.key_images) + 1
        for asset in case.assets:
            if asset.kind is AssetKind.DICOM_SERIES:
                steps += len(asset.instances) + 1
            elif asset.kind in CARRIED_MEDIA:
                steps += 1
    return steps


@dataclass(slots=True)
class _Packer:
    """Puts one case after another into the zip, reporting each step."""

    writer: _Writer
    media: MediaSource
    cancel: CancelToken
    step: Callable[[str], None]

    def case(self, number: int, case: Case) -> _CaseContents:
        folder = f"cases/case-{number:02d}"
        contents = _CaseContents(case_id=case.id, folder=folder)
        series_number = 0
        for position, asset in enumerate(case.assets, 1):
            self.cancel.raise_if_cancelled()
            if asset.kind in CARRIED_MEDIA:
                contents.media.append(self.media_file(number, position, case, asset))
                self.step(f"Case {number}: item {position} packed")
                continue
            if asset.kind is not AssetKind.DICOM_SERIES:
                logger.info(
                    "Case %d, item %d: a %s stays in the library; left out.", number, position, asset.kind.value
                )
                continue
            series_number += 1
            entry = self.series(number, series_number, case, asset)
            entry["thumbnail"] = self.thumbnail(f"{folder}/thumbnails/series-{series_number:02d}.png", case, asset)
            contents.series.append(entry)
            self.step(f"Case {number}: series {series_number} packed")
        for index, key in enumerate(case.key_images):
            self.cancel.raise_if_cancelled()
            path = self.key_image(f"{folder}/images/key-{index + 1:02d}", number, case, key)
            contents.images.append({"key_image": index, "path": path})
            self.step(f"Case {number}: key image {index + 1} of {len(case.key_images)}")
        contents.mircdocument = f"{folder}/MIRCdocument.xml"
        self.writer.text(contents.mircdocument, mirc_document(case, contents.images))
        self.step(f"Case {number} packed")
        return contents

    def series(self, case_number: int, series_number: int, case: Case, asset: Asset) -> dict[str, Any]:
        """The series' files, named by their place in ``asset.instances`` (which the import relies on)."""
        folder = f"dicom/case-{case_number:02d}/series-{series_number:02d}"
        index_of = {(inst.sop_instance_uid, inst.blob): n for n, inst in enumerate(asset.instances)}
        written: dict[int, str] = {}
        complete = True
        try:
            for instance, data in self.media.dicom_instances(case, asset):
                self.cancel.raise_if_cancelled()
                n = index_of.get((instance.sop_instance_uid, instance.blob))
                if n is None or n in written:
                    continue
                if not _looks_like_dicom(data):
                    complete = False
                    logger.warning(
                        "Case %d, series %d: a stored file is not DICOM; left out.", case_number, series_number
                    )
                    continue
                name = f"{folder}/{n + 1:04d}.dcm"
                self.writer.add(name, bytes(data))
                written[n] = name
                self.step(f"Case {case_number}: series {series_number}, file {len(written)} of {len(asset.instances)}")
        except Cancelled:
            raise
        except CaseDeckError as exc:
            complete = False
            logger.warning(
                "Case %d, series %d: stored files unavailable (%s).", case_number, series_number, type(exc).__name__
            )
        return {
            "case_id": case.id,
            "asset_id": asset.id,
            "complete": complete and len(written) == len(asset.instances),
            "files": [written.get(n) for n in range(len(asset.instances))],
        }

    def media_file(self, case_number: int, position: int, case: Case, asset: Asset) -> dict[str, Any]:
        """The asset's stored (scrubbed) file, named by its place in the case; ``path`` None if unreadable."""
        entry: dict[str, Any] = {"asset_id": asset.id, "kind": asset.kind.value, "path": None}
        try:
            data = self.media.asset_file(case, asset)
            if not isinstance(data, bytes | bytearray | memoryview) or not data:
                raise ExportError("The media source returned no file.")
        except Cancelled:
            raise
        except CaseDeckError as exc:
            logger.warning(
                "Case %d, item %d: the stored %s file is unavailable (%s); left out.",
                case_number,
                position,
                asset.kind.value,
                type(exc).__name__,
            )
            return entry
        extension = MEDIA_EXTENSIONS.get(asset.media_type, "bin")
        name = f"media/case-{case_number:02d}/item-{position:02d}.{extension}"
        self.writer.add(name, bytes(data), compress=extension not in _STORED_EXTENSIONS)
        entry["path"] = name
        return entry

    def thumbnail(self, name: str, case: Case, asset: Asset) -> str | None:
        try:
            image = clean_image(self.media.stack_poster(case, asset, asset.default_window))
            self.writer.add(name, _thumbnail(image), compress=False)
        except Cancelled:
            raise
        except Exception as exc:
            logger.warning("A series thumbnail could not be made (%s); left out.", type(exc).__name__)
            return None
        return name

    def key_image(self, stem: str, case_number: int, case: Case, key: KeyImage) -> str | None:
        try:
            image = clean_image(self.media.key_image(case, key))
        except Cancelled:
            raise
        except Exception as exc:
            logger.warning(
                "Case %d: a key image could not be produced (%s); left out.", case_number, type(exc).__name__
            )
            return None
        name = f"{stem}.{'png' if image.format == 'png' else 'jpg'}"
        self.writer.add(name, image.data, compress=False)
        return name


def _looks_like_dicom(data: object) -> bool:
    if not isinstance(data, bytes | bytearray | memoryview):
        return False
    return bytes(data[_DICOM_MAGIC_OFFSET : _DICOM_MAGIC_OFFSET + 4]) == b"DICM"


def _thumbnail(image: CleanImage) -> bytes:
    """A small bare PNG (Pillow writes no text chunks unless asked)."""
    with Image.open(io.BytesIO(image.data)) as im:
        im.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        small = im.convert("L") if im.mode in ("I;16", "I") else im.copy()
    small.info.clear()
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()


def _case_entry(case: Case) -> dict[str, Any]:
    """A case as the model writes it, without its study keys: hashes made with this installation's
    secret mean nothing anywhere else, and what leaves the library carries nothing derived from the
    original UIDs that it does not need (the importing library drops any it is sent)."""
    entry = case.to_dict()
    entry.pop("study_keys", None)
    return entry


def _manifest(bundle: ConferenceBundle, contents: list[_CaseContents]) -> str:
    """The conference and its cases as the model writes them, and where their files are."""
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "generator": "CaseDeck",
        "conference": bundle.conference.to_dict(),
        "cases": [_case_entry(case) for case in bundle.cases],
        "contents": [
            {
                "case_id": c.case_id,
                "folder": c.folder,
                "series": c.series,
                "media": c.media,
                "key_images": c.images,
                "mircdocument": c.mircdocument,
            }
            for c in contents
        ],
    }
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def _readme(bundle: ConferenceBundle) -> str:
    cases = len(bundle.cases)
    return f"""CaseDeck teaching-file package (format "{FORMAT_NAME}", version {FORMAT_VERSION})
{"=" * 72}

This zip holds {cases} teaching case{"" if cases == 1 else "s"} of one conference. Every image, photo,
video and slide deck in it was de-identified or scrubbed of identifying
metadata by CaseDeck before it was stored; CaseDeck does it again when the
package is imported.

To import it into CaseDeck, use "Import teaching-file package" and choose this
zip as it is (do not unpack it).

Layout
------
manifest.json
    The conference and every case (title, history, findings, diagnosis,
    differential, teaching points, tags, key images with their windows,
    annotations and captions, series and media items with their labels,
    captions and chosen slides), and which file holds which DICOM instance
    or media item. This is the file an import reads.
dicom/case-NN/series-MM/KKKK.dcm
    The de-identified DICOM files of each series, in display order
    (KKKK is the position in the series, starting at 0001).
media/case-NN/item-MM.jpg (.png, .mp4, .pptx)
    The case's photos and other images, video clips (H.264 MP4) and
    PowerPoint decks as stored, scrubbed of metadata (MM is the item's place
    in the case, starting at 01).
cases/case-NN/MIRCdocument.xml
    The case as an RSNA MIRC teaching-file document (MIRCdocument schema),
    for MIRC / RSNA Teaching File System sites. Its images are the key images
    in cases/case-NN/images/.
cases/case-NN/images/key-KK.png (or .jpg)
    The key images as the presenter set them (window and annotations applied).
cases/case-NN/thumbnails/series-MM.png
    A small picture of each series' middle image.

Not included
------------
{_wrap(PDF_LEFT_OUT)}

File names are counters only; they carry nothing from the images.
"""


def _wrap(text: str) -> str:
    return "\n".join(textwrap.wrap(text, width=76))


# -- MIRCdocument -------------------------------------------------------------------------------


def mirc_document(case: Case, images: list[dict[str, Any]]) -> str:
    """The case as an RSNA MIRCdocument (display "mstf"), with relative links to its key images.

    ``images`` pairs each key image index with the package path of its image
    (``None`` when it could not be rendered; such images are left out).
    """
    root = ET.Element("MIRCdocument", {"display": "mstf"})
    _sub(root, "title", case.title)
    if case.author.strip():
        author = ET.SubElement(root, "author")
        _sub(author, "name", case.author)
    abstract = ET.SubElement(root, "abstract")
    _sub(abstract, "p", case.history.strip().splitlines()[0] if case.history.strip() else case.title)
    if case.tags:
        _sub(root, "keywords", " ".join(case.tags))
    _section(root, "History", [case.history])
    _section(root, "Findings", [case.findings])
    _section(root, "Diagnosis", [case.diagnosis])
    _section(root, "DDx", list(case.differential))
    _section(root, "Discussion", list(case.teaching_points))
    image_section = ET.SubElement(root, "image-section", {"heading": "Images", "image-pane-width": "700"})
    for entry in images:
        path = entry.get("path")
        if not path:
            continue
        key = case.key_images[int(entry["key_image"])]
        relative = path.split("/", 2)[2]  # "cases/case-01/images/key-01.png" -> "images/key-01.png"
        image = ET.SubElement(image_section, "image", {"src": relative})
        note = key.caption.strip()
        if key.window is not None:
            note = f"{note} ({format_window(key.window)})" if note else format_window(key.window)
        if note:
            _sub(image, "annotation", note)
    if case.modality:
        _sub(root, "modality", case.modality)
    if case.body_part:
        _sub(root, "anatomy", case.body_part)
    _sub(root, "document-type", "Radiologic Teaching File")
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = safe_text(text)
    return element


def _section(root: ET.Element, heading: str, paragraphs: list[str]) -> None:
    section = ET.SubElement(root, "section", {"heading": heading})
    texts = [line.strip() for para in paragraphs for line in safe_text(para).splitlines() if line.strip()]
    if not texts:
        ET.SubElement(section, "p")
    for text in texts:
        _sub(section, "p", text)
