"""Annotations and window as a DICOM Softcopy Presentation State, and back.

What is written
---------------
A Grayscale Softcopy Presentation State (highdicom) that references one
frame of the (de-identified) image: one graphic layer ``CASEDECK``; one
graphic annotation item (with ReferencedFrameNumber for multi-frame images)
holding every visible annotation; the window as a Softcopy VOI LUT (in
modality units, as DICOM wants). Coordinates use ``PIXEL`` units, which are
the model's own coordinates (origin at the top-left corner of the top-left
pixel), so no conversion happens.

GSPS has only POINT, POLYLINE, INTERPOLATED, CIRCLE and ELLIPSE graphics
(no arrow; compound graphics are not used because few viewers draw them), so:

========== ==================================================================
arrow      POLYLINE [tail, head] (the shaft) + POLYLINE [left, head, right]
ruler      POLYLINE [start, end] + a text object with the length label
angle      POLYLINE [a, vertex, b] + a text object with the angle label
ellipse    ELLIPSE (major axis ends, then minor axis ends)
rectangle  closed POLYLINE of its five corners (first repeated)
polyline   POLYLINE (first point repeated when closed)
text       text object with a bounding box whose top-left is the anchor
========== ==================================================================

Each annotation is one *graphic group* (Graphic Group module, no private
tags): its label is human-readable ("Ruler 42.3 mm"); its description is a
small JSON object ``{"casedeck": 1, "kind": ..., "id": ..., "style": ...}``
that lets :func:`read_gsps` tell an arrow from a line and restore colours,
widths and text sizes. Any other viewer ignores it and still draws the
shapes. A presentation state written elsewhere reads back with the shapes it
has: polylines (closed when the first point repeats), ellipses, circles as
ellipses, text.

Limits (by design): hidden annotations are not written (a presentation state
shows what the presenter shows); the parts of an annotation outside the image
are clipped away, since DICOM forbids coordinates off the image (what reads
back is what was on the image: an angle cut in two reads back as polylines).
Colour images get a Color Softcopy Presentation State (same graphics, an
sRGB ICC profile if the image has none, no window: colour presentation states
have no VOI transformation). Palette-colour images are refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import highdicom as hd
import numpy as np
from highdicom._standard_utils import is_multiframe_image
from pydicom.dataset import Dataset
from pydicom.uid import UID, generate_uid

from casefiles.annotations.burn import REFERENCE_SIDE, _font
from casefiles.annotations.geometry import XY, clip_polyline
from casefiles.annotations.measure import PixelSpacing, label_for, pixel_spacing_of
from casefiles.annotations.model import (
    Angle,
    Annotation,
    Arrow,
    Ellipse,
    Point,
    Polyline,
    Rectangle,
    Ruler,
    Style,
    Text,
)
from casefiles.errors import ValidationError
from casefiles.imaging.voi import default_window
from casefiles.model import Window

LAYER = "CASEDECK"
GSPS_CLASS = UID("1.2.840.10008.5.1.4.1.1.11.1")
COLOR_PS_CLASS = UID("1.2.840.10008.5.1.4.1.1.11.2")
_MANUFACTURER = "CaseDeck"
_VERSION = "0.1.0"
_ELLIPSE_SEGMENTS = 72


# -- geometry helpers -------------------------------------------------------------------------------


def _inside(points: Iterable[XY], width: float, height: float) -> bool:
    return all(0 <= x <= width and 0 <= y <= height for x, y in points)


def _xy(p: Point) -> XY:
    return (p.x, p.y)


def _arrow_head(arrow: Arrow, unit: float) -> list[XY]:
    tail, head = _xy(arrow.start), _xy(arrow.end)
    length = math.dist(tail, head)
    ux, uy = (head[0] - tail[0]) / length, (head[1] - tail[1]) / length
    size = min(max(5.0 * arrow.style.width, 26.0) * unit, 0.45 * length)
    bx, by = head[0] - ux * size, head[1] - uy * size
    half = 0.4 * size
    return [(bx - uy * half, by + ux * half), head, (bx + uy * half, by - ux * half)]


def _ellipse_polygon(e: Ellipse) -> list[XY]:
    pts = [
        (e.center.x + e.rx * math.cos(t), e.center.y + e.ry * math.sin(t))
        for t in (2 * math.pi * i / _ELLIPSE_SEGMENTS for i in range(_ELLIPSE_SEGMENTS))
    ]
    return [*pts, pts[0]]


def _text_box(text: Text, unit: float) -> tuple[float, float, float, float]:
    font = _font(max(6, round(text.size * unit)))
    _, _, right, bottom = font.getbbox(text.text) if "\n" not in text.text else (0, 0, 0, 0)
    lines = text.text.split("\n")
    if len(lines) > 1:
        widths = [font.getbbox(line)[2] for line in lines]
        right, bottom = max(widths), round(len(lines) * text.size * unit * 1.2)
    x, y = text.anchor.x, text.anchor.y
    return (x, y, x + max(float(right), 1.0), y + max(float(bottom), 1.0))


# -- writing ----------------------------------------------------------------------------------------


class _Builder:
    """Collects graphic and text objects for one image, clipping to it."""

    def __init__(self, columns: int, rows: int) -> None:
        self.width, self.height = float(columns), float(rows)
        self.unit = max(columns, rows) / REFERENCE_SIDE
        self.graphics: list[hd.pr.GraphicObject] = []
        self.texts: list[hd.pr.TextObject] = []
        self.groups: list[hd.pr.GraphicGroup] = []

    def polyline(self, points: Sequence[XY], group: hd.pr.GraphicGroup) -> int:
        pieces = clip_polyline(points, self.width, self.height)
        for piece in pieces:
            self.graphics.append(
                hd.pr.GraphicObject(
                    graphic_type=hd.pr.GraphicTypeValues.POLYLINE,
                    graphic_data=np.array(piece, dtype=np.float64),
                    units=hd.pr.AnnotationUnitsValues.PIXEL,
                    graphic_group=group,
                )
            )
        return len(pieces)

    def ellipse(self, e: Ellipse, group: hd.pr.GraphicGroup) -> int:
        c = e.center
        if e.rx >= e.ry:
            axes = [(c.x - e.rx, c.y), (c.x + e.rx, c.y), (c.x, c.y - e.ry), (c.x, c.y + e.ry)]
        else:
            axes = [(c.x, c.y - e.ry), (c.x, c.y + e.ry), (c.x - e.rx, c.y), (c.x + e.rx, c.y)]
        if not _inside(axes, self.width, self.height):
            return self.polyline(_ellipse_polygon(e), group)
        self.graphics.append(
            hd.pr.GraphicObject(
                graphic_type=hd.pr.GraphicTypeValues.ELLIPSE,
                graphic_data=np.array(axes, dtype=np.float64),
                units=hd.pr.AnnotationUnitsValues.PIXEL,
                graphic_group=group,
            )
        )
        return 1

    def label(self, text: str, at: XY, group: hd.pr.GraphicGroup) -> int:
        """A text object tied to a point (kept on the image); the viewer places the text near it."""
        if not text.strip():
            return 0
        x, y = min(max(at[0], 0.0), self.width), min(max(at[1], 0.0), self.height)
        self.texts.append(
            hd.pr.TextObject(
                text_value=text,
                units=hd.pr.AnnotationUnitsValues.PIXEL,
                anchor_point=(x, y),
                anchor_point_visible=False,
                graphic_group=group,
            )
        )
        return 1

    def boxed_text(self, text: Text, group: hd.pr.GraphicGroup) -> int:
        left, top, right, bottom = _text_box(text, self.unit)
        left, top = max(left, 0.0), max(top, 0.0)
        right, bottom = min(right, self.width), min(bottom, self.height)
        if right <= left or bottom <= top:
            return 0
        self.texts.append(
            hd.pr.TextObject(
                text_value=text.text,
                units=hd.pr.AnnotationUnitsValues.PIXEL,
                bounding_box=(left, top, right, bottom),
                text_justification=hd.pr.TextJustificationValues.LEFT,
                graphic_group=group,
            )
        )
        return 1

    def add(self, annotation: Annotation, spacing: PixelSpacing | None) -> None:
        number = len(self.groups) + 1
        label, meta = _describe(annotation, spacing)
        group = hd.pr.GraphicGroup(number, label, json.dumps(meta, ensure_ascii=False, separators=(",", ":")))
        drawn = 0
        if isinstance(annotation, Arrow):
            drawn += self.polyline([_xy(annotation.start), _xy(annotation.end)], group)
            drawn += self.polyline(_arrow_head(annotation, self.unit), group)
            drawn += self.label(annotation.text, _xy(annotation.start), group) if drawn else 0
        elif isinstance(annotation, Ruler):
            drawn += self.polyline([_xy(annotation.start), _xy(annotation.end)], group)
            mid = ((annotation.start.x + annotation.end.x) / 2, (annotation.start.y + annotation.end.y) / 2)
            drawn += self.label(label_for(annotation, spacing), mid, group) if drawn else 0
        elif isinstance(annotation, Angle):
            drawn += self.polyline([_xy(p) for p in annotation.points], group)
            drawn += self.label(label_for(annotation, spacing), _xy(annotation.vertex), group) if drawn else 0
        elif isinstance(annotation, Ellipse):
            drawn += self.ellipse(annotation, group)
            top = (annotation.center.x, annotation.center.y - annotation.ry)
            drawn += self.label(annotation.text, top, group) if drawn else 0
        elif isinstance(annotation, Rectangle):
            corners = [_xy(p) for p in annotation.corners]
            drawn += self.polyline([*corners, corners[0]], group)
            drawn += self.label(annotation.text, _xy(annotation.top_left), group) if drawn else 0
        elif isinstance(annotation, Polyline):
            pts = [_xy(p) for p in annotation.vertices]
            drawn += self.polyline([*pts, pts[0]] if annotation.closed else pts, group)
            drawn += self.label(annotation.text, pts[0], group) if drawn else 0
        elif isinstance(annotation, Text):
            drawn += self.boxed_text(annotation, group)
        else:
            raise ValidationError(f"Cannot write a {type(annotation).__name__} into a presentation state.")
        if drawn:
            self.groups.append(group)


def _describe(annotation: Annotation, spacing: PixelSpacing | None) -> tuple[str, dict[str, Any]]:
    """The graphic group's human label and the JSON that lets CaseDeck read the annotation back."""
    meta: dict[str, Any] = {"casedeck": 1, "kind": annotation.kind, "id": annotation.id}
    meta["style"] = annotation.style.to_dict()
    if isinstance(annotation, Text):
        meta["size"] = annotation.to_dict()["size"]
        label = "Text"
    else:
        meta["text"] = annotation.text
        if isinstance(annotation, Ruler | Angle):
            label = f"{annotation.kind.title()} {label_for(annotation, spacing)}"
        else:
            label = f"{annotation.kind.title()} {annotation.text}".strip()
        if isinstance(annotation, Polyline):
            meta["closed"] = annotation.closed
    clean = " ".join(label.replace("\\", "/").split())
    return clean[:64], meta


def _checked_image(image_ds: object, frame: int) -> Dataset:
    if not isinstance(image_ds, Dataset):
        raise ValidationError("A presentation state can only reference a DICOM image dataset.")
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "Columns"):
        if not image_ds.get(keyword):
            raise ValidationError(f"The image lacks {keyword}, so a presentation state cannot reference it.")
    if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
        raise ValidationError(f"Frame must be a whole number ≥ 0 (got {frame!r}).")
    frames = int(image_ds.get("NumberOfFrames", 1) or 1)
    if frame >= frames:
        raise ValidationError(f"Frame {frame + 1} does not exist; this image has {frames} frame(s).")
    if str(image_ds.get("PhotometricInterpretation", "")).strip().upper() == "PALETTE COLOR":
        raise ValidationError(
            "Presentation states for palette-colour images are not supported; export the image with "
            "its annotations burned in instead."
        )
    return with_study_attributes(image_ds)


def with_study_attributes(image_ds: Dataset, *, keep_pixels: bool = True) -> Dataset:
    """The image with empty values for the type 2 patient/study attributes it lacks, as a new dataset.

    De-identified or minimal images may lack attributes a presentation state or
    key object selection copies from them; the stored image is not changed.
    """
    missing = [k for k in _STUDY_TYPE2 if k not in image_ds]
    if not missing and keep_pixels:
        return image_ds
    completed = Dataset()
    for element in image_ds:
        if keep_pixels or element.keyword != "PixelData":
            completed.add(element)
    if hasattr(image_ds, "file_meta"):
        completed.file_meta = image_ds.file_meta
    for keyword in missing:
        setattr(completed, keyword, "")
    return completed


_STUDY_TYPE2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "AccessionNumber",
)


def _srgb_input_profile() -> bytes:
    """An sRGB ICC profile for colour images that carry none (a colour presentation state needs one).

    DICOM wants an input ("scnr") profile; Pillow makes a display ("mntr")
    one, so the header's device class is set and its optional profile ID
    (an MD5 over the header) cleared.
    """
    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[12:16] = b"scnr"
    profile[84:100] = bytes(16)
    return bytes(profile)


def _with_laterality(ps: Dataset, image: Dataset) -> Dataset:
    """Series Laterality (type 2C) from the image, empty (unknown) when it has none.

    A presentation state has no Image Laterality of its own, so validators
    require the series' Laterality; highdicom does not copy it.
    """
    value = str(image.get("Laterality", "") or image.get("ImageLaterality", "") or "").strip().upper()
    ps.Laterality = value if value in ("R", "L") else ""
    return ps


def write_gsps(
    image_ds: Dataset,
    annotations: Iterable[Annotation],
    window: Window | None,
    *,
    frame: int = 0,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 900,
    instance_number: int = 1,
    spacing: PixelSpacing | None = None,
    description: str = "CaseDeck key image annotations",
) -> Dataset:
    """A presentation state that shows ``annotations`` and ``window`` on ``frame`` (0-based) of ``image_ds``.

    ``image_ds`` must be the de-identified image as stored (its patient and
    study attributes are copied). ``spacing`` (default: read from the image)
    labels rulers. ``window`` None keeps the image's own window. For a colour
    image a Color Softcopy Presentation State is returned and ``window`` is
    not written. See the module docstring for the encoding.
    """
    ds = _checked_image(image_ds, frame)
    if window is not None and not isinstance(window, Window):
        raise ValidationError("window must be a Window or None.")
    if spacing is None:
        spacing = pixel_spacing_of(ds, frame)
    columns, rows = int(ds.Columns), int(ds.Rows)
    builder = _Builder(columns, rows)
    for annotation in annotations:
        if annotation.visible:
            builder.add(annotation, spacing)
    # highdicom's rule: ReferencedFrameNumber belongs to images whose IOD has frames (US, enhanced CT...)
    multiframe = is_multiframe_image(ds)
    color = int(ds.get("SamplesPerPixel", 1) or 1) == 3
    ref, modality_lut = _reference_view(ds, multiframe=multiframe and not color)
    if window is None and ref is not ds:
        window = default_window(ds, frame)
    try:
        layers = [hd.pr.GraphicLayer(LAYER, order=1, description="CaseDeck annotations")]
        graphic_annotations = []
        if builder.graphics or builder.texts:
            graphic_annotations.append(
                hd.pr.GraphicAnnotation(
                    referenced_images=[ref],
                    graphic_layer=layers[0],
                    referenced_frame_number=frame + 1 if multiframe else None,
                    graphic_objects=builder.graphics or None,
                    text_objects=builder.texts or None,
                )
            )
        common: dict[str, Any] = {
            "referenced_images": [ref],
            "series_instance_uid": series_uid or generate_uid(),
            "series_number": series_number,
            "sop_instance_uid": sop_instance_uid or generate_uid(),
            "instance_number": instance_number,
            "manufacturer": _MANUFACTURER,
            "manufacturer_model_name": _MANUFACTURER,
            "software_versions": _VERSION,
            "device_serial_number": "0",
            "content_label": LAYER,
            "content_description": description[:64],
            "graphic_annotations": graphic_annotations or None,
            "graphic_layers": layers if graphic_annotations else None,
            "graphic_groups": builder.groups or None,
            "specific_character_set": "ISO_IR 192",
        }
        if color:
            icc = ds.get("ICCProfile") or _srgb_input_profile()
            return _with_laterality(hd.pr.ColorSoftcopyPresentationState(icc_profile=icc, **common), ds)
        voi = None
        if window is not None:
            voi = [
                hd.pr.SoftcopyVOILUTTransformation(
                    window_center=float(window.center),
                    window_width=float(window.width),
                    window_explanation="CaseDeck",
                )
            ]
        ps = hd.pr.GrayscaleSoftcopyPresentationState(
            voi_lut_transformations=voi, modality_lut_transformation=modality_lut, **common
        )
        return _with_laterality(ps, ds)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ValidationError(f"A presentation state cannot be made for this image: {exc}") from exc


def _reference_view(ds: Dataset, *, multiframe: bool) -> tuple[Dataset, hd.ModalityLUTTransformation | None]:
    """The image as highdicom should see it, and the rescale to write.

    highdicom reads a multi-frame image's rescale from its shared functional
    groups, which only enhanced images have; a classic multi-frame image
    (ultrasound cine, multi-frame secondary capture) is shown as a copy with
    empty functional groups, and its top-level rescale is passed explicitly
    (its top-level window too, by the caller).
    """
    if not multiframe or "SharedFunctionalGroupsSequence" in ds:
        return ds, None
    view = Dataset(ds)
    view.SharedFunctionalGroupsSequence = [Dataset()]
    view.PerFrameFunctionalGroupsSequence = [Dataset() for _ in range(int(ds.get("NumberOfFrames", 1) or 1))]
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        return view, hd.ModalityLUTTransformation(
            rescale_intercept=float(ds.RescaleIntercept),
            rescale_slope=float(ds.RescaleSlope),
            rescale_type=str(ds.get("RescaleType") or ("HU" if ds.get("Modality") == "CT" else "US")),
        )
    return view, None


# -- reading ----------------------------------------------------------------------------------------


def _meta(description: object) -> dict[str, Any] | None:
    try:
        data = json.loads(str(description))
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("casedeck") == 1 else None


def _points(obj: Dataset, columns: int, rows: int) -> list[Point]:
    raw = [float(v) for v in obj.get("GraphicData", [])]
    pts = list(zip(raw[0::2], raw[1::2], strict=False))
    if str(obj.get("GraphicAnnotationUnits", "PIXEL")) == "DISPLAY":
        pts = [(x * columns, y * rows) for x, y in pts]
    return [Point(x, y) for x, y in pts]


def _text_anchor(obj: Dataset, columns: int, rows: int) -> Point | None:
    for corner, units in (
        ("BoundingBoxTopLeftHandCorner", "BoundingBoxAnnotationUnits"),
        ("AnchorPoint", "AnchorPointAnnotationUnits"),
    ):
        if corner in obj:
            x, y = (float(v) for v in obj[corner].value)
            if str(obj.get(units, "PIXEL")) == "DISPLAY":
                x, y = x * columns, y * rows
            return Point(x, y)
    return None


def _ellipse_from(pts: Sequence[Point], common: dict[str, Any]) -> Annotation:
    (a, b, c, d) = pts[:4]
    center = Point((a.x + b.x) / 2, (a.y + b.y) / 2)
    if math.isclose(a.y, b.y, abs_tol=1e-3) and math.isclose(c.x, d.x, abs_tol=1e-3):
        return Ellipse(center=center, rx=abs(b.x - a.x) / 2, ry=abs(d.y - c.y) / 2, **common)
    if math.isclose(a.x, b.x, abs_tol=1e-3) and math.isclose(c.y, d.y, abs_tol=1e-3):
        return Ellipse(center=center, rx=abs(d.x - c.x) / 2, ry=abs(b.y - a.y) / 2, **common)
    # A rotated ellipse: the model's ellipses are axis-aligned, so keep its outline.
    major, minor = math.dist((a.x, a.y), (b.x, b.y)) / 2, math.dist((c.x, c.y), (d.x, d.y)) / 2
    theta = math.atan2(b.y - a.y, b.x - a.x)
    outline = []
    for i in range(_ELLIPSE_SEGMENTS):
        t = 2 * math.pi * i / _ELLIPSE_SEGMENTS
        ex, ey = major * math.cos(t), minor * math.sin(t)
        outline.append(
            Point(
                center.x + ex * math.cos(theta) - ey * math.sin(theta),
                center.y + ex * math.sin(theta) + ey * math.cos(theta),
            )
        )
    return Polyline(vertices=tuple(outline), closed=True, **common)


def _generic(
    graphics: Sequence[Dataset], texts: Sequence[Dataset], columns: int, rows: int, common: dict[str, Any]
) -> list[Annotation]:
    """Shapes as GSPS has them: polylines, ellipses, text (what any writer's objects read back as)."""
    out: list[Annotation] = []

    def fresh() -> dict[str, Any]:
        kwargs = dict(common)
        if out:
            kwargs.pop("id", None)  # later pieces of one annotation get ids of their own
        return kwargs

    for obj in graphics:
        kind = str(obj.get("GraphicType", "")).upper()
        pts = _points(obj, columns, rows)
        try:
            if kind in ("POLYLINE", "INTERPOLATED") and len(set(pts)) >= 2:
                closed = len(pts) >= 4 and pts[0] == pts[-1] and len(set(pts)) >= 3
                out.append(Polyline(vertices=tuple(pts[:-1] if closed else pts), closed=closed, **fresh()))
            elif kind == "ELLIPSE" and len(pts) == 4:
                out.append(_ellipse_from(pts, fresh()))
            elif kind == "CIRCLE" and len(pts) == 2:
                r = math.dist((pts[0].x, pts[0].y), (pts[1].x, pts[1].y))
                out.append(Ellipse(center=pts[0], rx=r, ry=r, **fresh()))
            elif kind == "POINT" and len(pts) == 1:
                out.append(Ellipse(center=pts[0], rx=1.5, ry=1.5, **fresh()))
        except ValidationError:
            continue  # a degenerate shape (zero size) draws nothing; skip it
    for obj in texts:
        anchor = _text_anchor(obj, columns, rows)
        value = str(obj.get("UnformattedTextValue", ""))
        if anchor is not None and value.strip():
            kwargs = fresh()
            kwargs["text"] = value[:1024]
            kwargs.pop("size", None)
            out.append(Text(anchor=anchor, **kwargs))
    return out


def _casedeck(
    meta: dict[str, Any], graphics: Sequence[Dataset], texts: Sequence[Dataset], columns: int, rows: int
) -> list[Annotation]:
    """An annotation CaseDeck wrote, rebuilt from its group's JSON and its on-image geometry."""
    common: dict[str, Any] = {"id": meta.get("id"), "style": Style.from_dict(meta.get("style", {}))}
    kind = meta.get("kind")
    if kind != "text":
        common["text"] = meta.get("text", "")
    polylines = [_points(g, columns, rows) for g in graphics if str(g.get("GraphicType")) == "POLYLINE"]
    first = polylines[0] if polylines else []
    try:
        if kind in ("arrow", "ruler") and first and len(first) == 2:
            cls = Arrow if kind == "arrow" else Ruler
            return [cls(start=first[0], end=first[1], **common)]
        if kind == "angle" and len(polylines) == 1 and len(first) == 3:
            return [Angle(a=first[0], vertex=first[1], b=first[2], **common)]
        if kind == "ellipse" and len(graphics) == 1 and str(graphics[0].get("GraphicType")) == "ELLIPSE":
            return [_ellipse_from(_points(graphics[0], columns, rows), common)]
        if kind == "rectangle" and len(polylines) == 1 and len(first) == 5 and first[0] == first[4]:
            return [Rectangle.from_corners(first[0], first[2], **common)]
        if kind == "polyline" and len(polylines) == 1:
            closed = bool(meta.get("closed")) and len(first) >= 4 and first[0] == first[-1]
            return [Polyline(vertices=tuple(first[:-1] if closed else first), closed=closed, **common)]
        if kind == "text" and len(texts) == 1 and not graphics:
            anchor = _text_anchor(texts[0], columns, rows)
            if anchor is not None:
                return [
                    Text(anchor=anchor, text=str(texts[0].UnformattedTextValue), size=meta.get("size", 24), **common)
                ]
    except ValidationError:
        pass
    # Clipped into pieces, or edited elsewhere: read back the shapes as they are, without CaseDeck's labels.
    shapes = [g for g in graphics if kind != "arrow" or len(_points(g, columns, rows)) == 2]
    return _generic(shapes, texts if kind == "text" else [], columns, rows, common)


def read_gsps(gsps_ds: Dataset) -> tuple[tuple[Annotation, ...], Window | None]:
    """The annotations and window of a presentation state (CaseDeck's own, or another writer's shapes).

    The window is the first Softcopy VOI LUT's centre/width (None for a colour
    presentation state or one without a window). Use :func:`referenced_image`
    for which image and frame it applies to.
    """
    if not isinstance(gsps_ds, Dataset):
        raise ValidationError("Only a DICOM dataset can be read as a presentation state.")
    if UID(str(gsps_ds.get("SOPClassUID", ""))) not in (GSPS_CLASS, COLOR_PS_CLASS):
        raise ValidationError("This DICOM object is not a grayscale or colour softcopy presentation state.")
    area = (gsps_ds.get("DisplayedAreaSelectionSequence") or [Dataset()])[0]
    columns, rows = (int(v) for v in area.get("DisplayedAreaBottomRightHandCorner", [1, 1]))
    groups: dict[int, dict[str, Any] | None] = {
        int(g.GraphicGroupID): _meta(g.get("GraphicGroupDescription"))
        for g in gsps_ds.get("GraphicGroupSequence", [])
        if "GraphicGroupID" in g
    }
    buckets: dict[int, tuple[list[Dataset], list[Dataset]]] = {}
    loose: list[Annotation] = []
    for item in gsps_ds.get("GraphicAnnotationSequence", []):
        for attribute, slot in (("GraphicObjectSequence", 0), ("TextObjectSequence", 1)):
            for obj in item.get(attribute, []):
                gid = obj.get("GraphicGroupID")
                if gid is not None and groups.get(int(gid)) is not None:
                    buckets.setdefault(int(gid), ([], []))[slot].append(obj)
                else:
                    one = ([obj], []) if slot == 0 else ([], [obj])
                    loose.extend(_generic(*one, columns, rows, {}))
    out: list[Annotation] = []
    for gid, (graphics, texts) in sorted(buckets.items()):
        meta = groups[gid]
        assert meta is not None
        out.extend(_casedeck(meta, graphics, texts, columns, rows))
    out.extend(loose)
    return tuple(out), _window(gsps_ds)


def _window(gsps_ds: Dataset) -> Window | None:
    for item in gsps_ds.get("SoftcopyVOILUTSequence", []):
        center, width = item.get("WindowCenter"), item.get("WindowWidth")
        if center is None or width is None:
            continue
        center = center[0] if isinstance(center, Sequence) and not isinstance(center, str) else center
        width = width[0] if isinstance(width, Sequence) and not isinstance(width, str) else width
        return Window(center=float(center), width=float(width))
    return None


def referenced_image(gsps_ds: Dataset) -> tuple[str, int]:
    """(SOP Instance UID, 0-based frame) of the image a CaseDeck presentation state annotates."""
    for item in gsps_ds.get("GraphicAnnotationSequence", []):
        for ref in item.get("ReferencedImageSequence", []):
            frames = ref.get("ReferencedFrameNumber")
            first = frames[0] if isinstance(frames, Sequence) and not isinstance(frames, str) else frames
            return str(ref.ReferencedSOPInstanceUID), int(first) - 1 if first else 0
    for series in gsps_ds.get("ReferencedSeriesSequence", []):
        for ref in series.get("ReferencedImageSequence", []):
            return str(ref.ReferencedSOPInstanceUID), 0
    raise ValidationError("This presentation state references no image.")
