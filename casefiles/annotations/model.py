"""Annotations drawn on a key image, in image pixel coordinates.

Coordinates
-----------
``x`` grows to the right, ``y`` downwards, both floats in *image pixels*
(independent of how large the image is shown). The origin ``(0, 0)`` is the
top-left corner of the top-left pixel, so the centre of the pixel in column
``c``, row ``r`` (0-based) is ``(c + 0.5, r + 0.5)`` and the bottom-right
corner of the image is ``(columns, rows)``. This is exactly DICOM's
``PIXEL`` annotation units (PS3.3 C.10.5.1.2: "the origin, which is at the
Top Left Hand Corner (TLHC) of the TLHC pixel, is 0.0\\0.0; the BRHC of the
TLHC pixel is 1.0\\1.0; the BRHC of the BRHC pixel is Columns\\Rows"), and
of an HTML canvas, so no conversion happens on the way to GSPS or the
browser. Points may lie outside the image (the part off the image is clipped
when drawn) but must be finite and within ±1,000,000 pixels.

JSON shape (stored with the case and exchanged with the browser editor)
-----------------------------------------------------------------------
Every kind uses one uniform ``points`` list of ``[x, y]`` pairs::

    {"kind": "arrow", "id": "3f2a9c1b4d5e", "points": [[x, y], [x, y]],
     "style": {"color": "#ffd400", "width": 3}, "visible": true, "text": ""}

=========== ============================== =======================================
kind        points                         extra keys
=========== ============================== =======================================
arrow       [tail, head]                   ``text``: optional label at the tail
ruler       [start, end]                   ``text``: optional prefix of the length
angle       [a, vertex, b]                 ``text``: optional prefix of the angle
ellipse     two opposite bounding-box      ``text``: optional label
            corners
rectangle   two opposite corners           ``text``: optional label
polyline    n ≥ 2 points (n ≥ 3 if closed) ``closed``: bool; ``text``: optional
text        [anchor] (top-left of text)    ``text`` (required), ``size``
=========== ============================== =======================================

``id`` (letters, digits, ``-``/``_``, up to 40; generated when absent),
``style`` (default yellow ``#ffd400``, width 3), ``visible`` (default true)
and ``text`` (default "") are optional. ``style.width`` and ``size`` are in
pixels *as seen on a 1024-pixel-wide display*: burn-in scales them with the
image so a 512² CT and a 3000² radiograph look alike. Unknown keys are
refused so that a typo in the editor is caught, not silently dropped.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from casefiles.errors import ValidationError

JsonDict = dict[str, Any]

#: Coordinates further than this from the image are refused (they are typing or unit errors).
COORDINATE_LIMIT = 1_000_000.0
#: Freehand outlines longer than this are refused (a mouse drag gives a few hundred).
MAX_POINTS = 10_000
#: Longest text of a text annotation (DICOM ST, used by GSPS text objects, holds 1024 characters).
MAX_TEXT = 1024
#: Longest optional label of the other kinds.
MAX_LABEL = 256
DEFAULT_COLOR = "#ffd400"
DEFAULT_WIDTH = 3.0
DEFAULT_TEXT_SIZE = 24.0

_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def new_annotation_id() -> str:
    """A short random id (never derived from image content)."""
    return uuid.uuid4().hex[:12]


def _a(kind: str) -> str:
    """'an arrow', 'a ruler'."""
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number, not {type(value).__name__}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(f"{name} must be a finite number (got {value!r}).")
    return number


@dataclass(frozen=True, slots=True)
class Point:
    """A position in image pixels: x to the right, y down, (0, 0) the image's top-left corner."""

    x: float
    y: float

    def __post_init__(self) -> None:
        for name in ("x", "y"):
            number = _number(f"Point {name}", getattr(self, name))
            if abs(number) > COORDINATE_LIMIT:
                raise ValidationError(
                    f"Point {name} = {number:g} is too far from the image (limit ±{COORDINATE_LIMIT:,.0f} pixels)."
                )
            object.__setattr__(self, name, number)

    def to_list(self) -> list[float]:
        return [self.x, self.y]

    @classmethod
    def from_value(cls, value: object) -> Point:
        """A point from ``[x, y]`` (JSON) or a Point."""
        if isinstance(value, Point):
            return value
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence) or len(value) != 2:
            raise ValidationError("Each point must be a pair of numbers [x, y].")
        return cls(value[0], value[1])

    def scaled(self, sx: float, sy: float) -> Point:
        return Point(self.x * sx, self.y * sy)


@dataclass(frozen=True, slots=True)
class Style:
    """How an annotation is drawn: ``#rrggbb`` colour and line width in pixels on a 1024-pixel display."""

    color: str = DEFAULT_COLOR
    width: float = DEFAULT_WIDTH

    def __post_init__(self) -> None:
        if not isinstance(self.color, str) or not _COLOR.fullmatch(self.color):
            raise ValidationError(
                f"Annotation colour must be written #rrggbb, e.g. {DEFAULT_COLOR} (got {self.color!r})."
            )
        object.__setattr__(self, "color", self.color.lower())
        width = _number("Line width", self.width)
        if not 0.5 <= width <= 50:
            raise ValidationError(f"Line width must be between 0.5 and 50 pixels (got {width:g}).")
        object.__setattr__(self, "width", width)

    @property
    def rgb(self) -> tuple[int, int, int]:
        return int(self.color[1:3], 16), int(self.color[3:5], 16), int(self.color[5:7], 16)

    def to_dict(self) -> JsonDict:
        width = int(self.width) if self.width.is_integer() else self.width
        return {"color": self.color, "width": width}

    @classmethod
    def from_dict(cls, data: object) -> Style:
        if not isinstance(data, Mapping):
            raise ValidationError('An annotation style must be an object like {"color": "#ffd400", "width": 3}.')
        unknown = set(data) - {"color", "width"}
        if unknown:
            raise ValidationError(f"Unknown style setting(s): {', '.join(sorted(map(str, unknown)))}.")
        return cls(color=data.get("color", DEFAULT_COLOR), width=data.get("width", DEFAULT_WIDTH))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Base:
    """Fields every annotation has. Subclasses set ``kind`` and their geometry."""

    kind: ClassVar[str] = ""
    n_points: ClassVar[int | None] = None
    id: str = field(default_factory=new_annotation_id)
    style: Style = field(default_factory=Style)
    visible: bool = True
    text: str = ""

    def _check_common(self, *, text_limit: int = MAX_LABEL) -> None:
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ValidationError(f"An annotation id must be 1–40 letters, digits, '-' or '_' (got {self.id!r:.50}).")
        if not isinstance(self.style, Style):
            raise ValidationError("An annotation style must be a Style.")
        if not isinstance(self.visible, bool):
            raise ValidationError("An annotation's visible flag must be true or false.")
        if not isinstance(self.text, str):
            raise ValidationError(f"Annotation text must be text, not {type(self.text).__name__}.")
        if len(self.text) > text_limit:
            raise ValidationError(
                f"The text of {_a(self.kind)} is too long ({len(self.text)} characters; the limit is {text_limit})."
            )

    @property
    def points(self) -> tuple[Point, ...]:
        raise NotImplementedError

    def _extra(self) -> JsonDict:
        return {}

    def to_dict(self) -> JsonDict:
        """The JSON-safe form described in the module docstring."""
        return {
            "kind": self.kind,
            "id": self.id,
            "points": [p.to_list() for p in self.points],
            "style": self.style.to_dict(),
            "visible": self.visible,
            "text": self.text,
            **self._extra(),
        }


def _check_point(kind: str, name: str, value: object) -> None:
    if not isinstance(value, Point):
        raise ValidationError(f"The {name} of {_a(kind)} must be a Point.")


def _distinct(kind: str, a: Point, b: Point, what: str) -> None:
    if a == b:
        raise ValidationError(f"{_a(kind).capitalize()} needs {what} at two different places.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrow(_Base):
    """An arrow pointing from ``start`` (tail, where its optional label goes) to ``end`` (head)."""

    kind: ClassVar[str] = "arrow"
    n_points: ClassVar[int | None] = 2
    start: Point
    end: Point

    def __post_init__(self) -> None:
        self._check_common()
        _check_point(self.kind, "start", self.start)
        _check_point(self.kind, "end", self.end)
        _distinct(self.kind, self.start, self.end, "its tail and head")

    @property
    def points(self) -> tuple[Point, ...]:
        return (self.start, self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ruler(_Base):
    """A straight line that shows its length (mm with pixel spacing, else pixels)."""

    kind: ClassVar[str] = "ruler"
    n_points: ClassVar[int | None] = 2
    start: Point
    end: Point

    def __post_init__(self) -> None:
        self._check_common()
        _check_point(self.kind, "start", self.start)
        _check_point(self.kind, "end", self.end)
        _distinct(self.kind, self.start, self.end, "its two ends")

    @property
    def points(self) -> tuple[Point, ...]:
        return (self.start, self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class Angle(_Base):
    """The angle at ``vertex`` between the arms towards ``a`` and ``b``."""

    kind: ClassVar[str] = "angle"
    n_points: ClassVar[int | None] = 3
    a: Point
    vertex: Point
    b: Point

    def __post_init__(self) -> None:
        self._check_common()
        for name in ("a", "vertex", "b"):
            _check_point(self.kind, name, getattr(self, name))
        _distinct(self.kind, self.a, self.vertex, "its first arm's end and its vertex")
        _distinct(self.kind, self.b, self.vertex, "its second arm's end and its vertex")

    @property
    def points(self) -> tuple[Point, ...]:
        return (self.a, self.vertex, self.b)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ellipse(_Base):
    """An axis-aligned ellipse: centre and radii in pixels (JSON: two bounding-box corners)."""

    kind: ClassVar[str] = "ellipse"
    n_points: ClassVar[int | None] = 2
    center: Point
    rx: float
    ry: float

    def __post_init__(self) -> None:
        self._check_common()
        _check_point(self.kind, "centre", self.center)
        for name in ("rx", "ry"):
            radius = _number(f"Ellipse {name}", getattr(self, name))
            if radius <= 0 or radius > COORDINATE_LIMIT:
                raise ValidationError("An ellipse needs a width and a height: drag out its box.")
            object.__setattr__(self, name, radius)

    @property
    def points(self) -> tuple[Point, ...]:
        c = self.center
        return (Point(c.x - self.rx, c.y - self.ry), Point(c.x + self.rx, c.y + self.ry))

    @classmethod
    def from_corners(cls, p: Point, q: Point, **common: Any) -> Ellipse:
        center = Point((p.x + q.x) / 2, (p.y + q.y) / 2)
        return cls(center=center, rx=abs(q.x - p.x) / 2, ry=abs(q.y - p.y) / 2, **common)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rectangle(_Base):
    """An axis-aligned rectangle from its top-left to its bottom-right corner."""

    kind: ClassVar[str] = "rectangle"
    n_points: ClassVar[int | None] = 2
    top_left: Point
    bottom_right: Point

    def __post_init__(self) -> None:
        self._check_common()
        _check_point(self.kind, "top-left corner", self.top_left)
        _check_point(self.kind, "bottom-right corner", self.bottom_right)
        if not (self.top_left.x < self.bottom_right.x and self.top_left.y < self.bottom_right.y):
            raise ValidationError(
                "A rectangle needs a width and a height, with its top-left corner above and left of the other."
            )

    @property
    def points(self) -> tuple[Point, ...]:
        return (self.top_left, self.bottom_right)

    @property
    def corners(self) -> tuple[Point, Point, Point, Point]:
        """Clockwise from the top-left."""
        tl, br = self.top_left, self.bottom_right
        return (tl, Point(br.x, tl.y), br, Point(tl.x, br.y))

    @classmethod
    def from_corners(cls, p: Point, q: Point, **common: Any) -> Rectangle:
        return cls(
            top_left=Point(min(p.x, q.x), min(p.y, q.y)),
            bottom_right=Point(max(p.x, q.x), max(p.y, q.y)),
            **common,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Polyline(_Base):
    """A freehand line or, with ``closed``, a polygon/outline through ``vertices``."""

    kind: ClassVar[str] = "polyline"
    vertices: tuple[Point, ...]
    closed: bool = False

    def __post_init__(self) -> None:
        self._check_common()
        if isinstance(self.vertices, str | bytes) or not isinstance(self.vertices, Iterable):
            raise ValidationError("A polyline's points must be a list of points.")
        vertices = tuple(self.vertices)
        for vertex in vertices:
            _check_point(self.kind, "points", vertex)
        object.__setattr__(self, "vertices", vertices)
        if not isinstance(self.closed, bool):
            raise ValidationError("A polyline's closed flag must be true or false.")
        needed = 3 if self.closed else 2
        if len(vertices) < needed or len(set(vertices)) < needed:
            shape = "A closed outline" if self.closed else "A line"
            raise ValidationError(f"{shape} needs at least {needed} different points (got {len(set(vertices))}).")
        if len(vertices) > MAX_POINTS:
            raise ValidationError(
                f"A freehand outline may have at most {MAX_POINTS:,} points (got {len(vertices):,}); simplify it."
            )

    @property
    def points(self) -> tuple[Point, ...]:
        return self.vertices

    def _extra(self) -> JsonDict:
        return {"closed": self.closed}


@dataclass(frozen=True, slots=True, kw_only=True)
class Text(_Base):
    """A text label whose top-left corner is at ``anchor``; ``size`` is its height on a 1024-pixel display."""

    kind: ClassVar[str] = "text"
    n_points: ClassVar[int | None] = 1
    anchor: Point
    size: float = DEFAULT_TEXT_SIZE

    def __post_init__(self) -> None:
        self._check_common(text_limit=MAX_TEXT)
        _check_point(self.kind, "anchor", self.anchor)
        if not self.text.strip():
            raise ValidationError("A text annotation needs some text.")
        size = _number("Text size", self.size)
        if not 4 <= size <= 400:
            raise ValidationError(f"Text size must be between 4 and 400 pixels (got {size:g}).")
        object.__setattr__(self, "size", size)

    @property
    def points(self) -> tuple[Point, ...]:
        return (self.anchor,)

    def _extra(self) -> JsonDict:
        return {"size": int(self.size) if self.size.is_integer() else self.size}


Annotation = Union[Arrow, Ruler, Angle, Ellipse, Rectangle, Polyline, Text]  # noqa: UP007 (runtime alias)

KINDS: dict[str, type[Annotation]] = {
    cls.kind: cls for cls in (Arrow, Ruler, Angle, Ellipse, Rectangle, Polyline, Text)
}
_COMMON_KEYS = {"kind", "id", "points", "style", "visible", "text"}
_EXTRA_KEYS = {"polyline": {"closed"}, "text": {"size"}}


def annotation_from_dict(data: object) -> Annotation:
    """Build and validate an annotation from its JSON form (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise ValidationError("An annotation must be a JSON object.")
    raw_kind = data.get("kind")
    cls = KINDS.get(raw_kind) if isinstance(raw_kind, str) else None
    if cls is None:
        raise ValidationError(f"Unknown annotation kind {raw_kind!r:.40}; expected one of {', '.join(KINDS)}.")
    kind = cls.kind
    unknown = set(data) - _COMMON_KEYS - _EXTRA_KEYS.get(kind, set())
    if unknown:
        raise ValidationError(f"Unknown key(s) in {_a(kind)} annotation: {', '.join(sorted(map(str, unknown)))}.")
    raw_points = data.get("points")
    if isinstance(raw_points, str | bytes | Mapping) or not isinstance(raw_points, Sequence):
        raise ValidationError(f"{_a(kind).capitalize()} needs its points as a list of [x, y] pairs.")
    if cls.n_points is not None and len(raw_points) != cls.n_points:
        raise ValidationError(f"{_a(kind).capitalize()} needs exactly {cls.n_points} point(s), got {len(raw_points)}.")
    if len(raw_points) > MAX_POINTS:
        raise ValidationError(f"An annotation may have at most {MAX_POINTS:,} points (got {len(raw_points):,}).")
    pts = [Point.from_value(p) for p in raw_points]
    common: dict[str, Any] = {
        "style": Style.from_dict(data.get("style", {})),
        "visible": data.get("visible", True),
        "text": data.get("text", ""),
    }
    if "id" in data:
        common["id"] = data["id"]
    if cls is Arrow:
        return Arrow(start=pts[0], end=pts[1], **common)
    if cls is Ruler:
        return Ruler(start=pts[0], end=pts[1], **common)
    if cls is Angle:
        return Angle(a=pts[0], vertex=pts[1], b=pts[2], **common)
    if cls is Ellipse:
        return Ellipse.from_corners(pts[0], pts[1], **common)
    if cls is Rectangle:
        return Rectangle.from_corners(pts[0], pts[1], **common)
    if cls is Polyline:
        return Polyline(vertices=tuple(pts), closed=data.get("closed", False), **common)
    return Text(anchor=pts[0], size=data.get("size", DEFAULT_TEXT_SIZE), **common)


def annotations_from_list(items: object) -> tuple[Annotation, ...]:
    """A list of annotation JSON objects (as stored with a key image); ids must be unique."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise ValidationError("Annotations must be a list.")
    out = tuple(annotation_from_dict(item) for item in items)
    ids = [a.id for a in out]
    if len(set(ids)) != len(ids):
        raise ValidationError("Two annotations of one image share an id.")
    return out


def annotations_to_list(annotations: Iterable[Annotation]) -> list[JsonDict]:
    return [a.to_dict() for a in annotations]


def scaled(annotation: Annotation, sx: float, sy: float | None = None) -> Annotation:
    """The annotation moved onto the same image resized by ``sx`` (and ``sy``; default ``sx``).

    Coordinates scale about the image origin (the top-left corner), so an
    annotation drawn on a 512² image lands on the same anatomy of its 1024²
    version. Style widths and text sizes do not change: they are relative to
    the display already.
    """
    sx = _number("Horizontal scale", sx)
    sy = sx if sy is None else _number("Vertical scale", sy)
    if sx <= 0 or sy <= 0:
        raise ValidationError("Scale factors must be greater than 0.")
    data = annotation.to_dict()
    data["points"] = [[x * sx, y * sy] for x, y in data["points"]]
    return annotation_from_dict(data)
