"""The domain model: the single source of truth for cases, assets and conferences.

Frozen, slotted dataclasses whose constructors validate every argument and
name it in the error. ``to_dict``/``from_dict`` give the JSON shape the stores
persist; a store never invents fields of its own.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import typing
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from casefiles.annotations.model import Annotation, annotations_from_list, annotations_to_list
from casefiles.errors import ValidationError
from casefiles.visibility import Sharing

#: A new case or conference before anyone is named its owner: seen by admins only (fail closed).
PRIVATE_UNOWNED = Sharing()

JsonDict = dict[str, Any]


def new_id() -> str:
    """A random identifier for a case, asset or conference (never derived from PHI)."""
    return uuid.uuid4().hex[:12]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _require_str(name: str, value: object, *, allow_empty: bool = True, max_len: int = 20_000) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, not {type(value).__name__}.")
    if not allow_empty and not value.strip():
        raise ValidationError(f"{name} must not be empty.")
    if len(value) > max_len:
        raise ValidationError(f"{name} is too long ({len(value)} characters; the limit is {max_len}).")
    return value


def _require_rules_version(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a whole number ≥ 0, not {value!r}.")


def _require_str_tuple(name: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(f"{name} must be a list of texts.")
    out = tuple(values)
    for item in out:
        _require_str(name, item, max_len=2_000)
    return out


class AssetKind(enum.StrEnum):
    """What an asset holds; exporters and viewers dispatch on it."""

    DICOM_SERIES = "dicom_series"
    IMAGE = "image"
    VIDEO = "video"
    SLIDE_DECK = "slide_deck"
    DOCUMENT = "document"


class Difficulty(enum.StrEnum):
    UNSET = ""
    INTRODUCTORY = "introductory"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class ConferenceKind(enum.StrEnum):
    TUMOR_BOARD = "tumor_board"
    GRAND_ROUNDS = "grand_rounds"
    MORBIDITY_MORTALITY = "morbidity_mortality"
    TRAINING_SET = "training_set"
    UNKNOWN_CASE_QUIZ = "unknown_case_quiz"

    @property
    def label(self) -> str:
        return {
            "tumor_board": "Tumor board",
            "grand_rounds": "Grand rounds",
            "morbidity_mortality": "Morbidity & mortality",
            "training_set": "Teaching / training set",
            "unknown_case_quiz": "Unknown-case quiz",
        }[self.value]


@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window in modality units (HU for CT): centre and width."""

    center: float
    width: float

    def __post_init__(self) -> None:
        for name in ("center", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValidationError(f"Window {name} must be a finite number.")
        if self.width < 1:
            raise ValidationError(f"Window width must be at least 1 (got {self.width}).")

    def to_dict(self) -> JsonDict:
        return {"center": float(self.center), "width": float(self.width)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Window:
        return cls(center=float(data["center"]), width=float(data["width"]))


class Review(enum.StrEnum):
    """Whether a person must look at an image for burned-in text before it is presented."""

    NOT_NEEDED = ""
    NEEDS_REVIEW = "needs_review"
    CONFIRMED = "confirmed"


@dataclass(frozen=True, slots=True)
class Region:
    """A rectangle in image pixels (e.g. a blanked text box): origin top-left, size in pixels."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("x", "y", "width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"Region {name} must be a whole number of pixels.")
        if self.x < 0 or self.y < 0:
            raise ValidationError("A region must start inside the image (x and y ≥ 0).")
        if self.width < 1 or self.height < 1:
            raise ValidationError("A region must be at least 1 pixel wide and high.")

    def to_list(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]

    @classmethod
    def from_list(cls, values: Iterable[int]) -> Region:
        x, y, width, height = (int(v) for v in values)
        return cls(x, y, width, height)


@dataclass(frozen=True, slots=True)
class Instance:
    """One stored, de-identified DICOM instance of a series.

    ``blob`` is the content address (SHA-256) of the de-identified file in the
    blob store; ``position`` is the slice location along the stack normal.
    """

    sop_instance_uid: str
    blob: str
    instance_number: int | None = None
    position: float | None = None
    frames: int = 1
    review: Review = Review.NOT_NEEDED
    redacted: tuple[Region, ...] = ()
    #: Versions of the rules this instance's text and pixels went through (casefiles.deid.versions);
    #: 0 means never, e.g. stored before the rules were versioned. The release gate compares them.
    text_rules: int = 0
    pixel_rules: int = 0
    #: While held for review: the encrypted review area's item holding the unblanked original
    #: (casefiles.review_area); the stored blob is a blank placeholder until a person confirms.
    review_original: str = ""

    def __post_init__(self) -> None:
        _require_str("sop_instance_uid", self.sop_instance_uid, allow_empty=False, max_len=64)
        _require_str("review_original", self.review_original, max_len=128)
        _require_rules_version("text_rules", self.text_rules)
        _require_rules_version("pixel_rules", self.pixel_rules)
        _require_str("blob", self.blob, allow_empty=False, max_len=128)
        if not isinstance(self.frames, int) or self.frames < 1:
            raise ValidationError(f"Instance frames must be a positive whole number (got {self.frames!r}).")
        if not isinstance(self.review, Review):
            raise ValidationError(f"Instance review must be one of {[r.value for r in Review]}.")
        object.__setattr__(self, "redacted", tuple(self.redacted))
        if not all(isinstance(r, Region) for r in self.redacted):
            raise ValidationError("Instance redacted regions must be Region values.")

    def to_dict(self) -> JsonDict:
        return {
            "sop_instance_uid": self.sop_instance_uid,
            "blob": self.blob,
            "instance_number": self.instance_number,
            "position": self.position,
            "frames": self.frames,
            "review": self.review.value,
            "redacted": [r.to_list() for r in self.redacted],
            "text_rules": self.text_rules,
            "pixel_rules": self.pixel_rules,
            "review_original": self.review_original,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instance:
        return cls(
            sop_instance_uid=data["sop_instance_uid"],
            blob=data["blob"],
            instance_number=data.get("instance_number"),
            position=data.get("position"),
            frames=int(data.get("frames", 1)),
            review=Review(data.get("review", "")),
            redacted=tuple(Region.from_list(r) for r in data.get("redacted", ())),
            text_rules=int(data.get("text_rules", 0)),
            pixel_rules=int(data.get("pixel_rules", 0)),
            review_original=str(data.get("review_original", "")),
        )


@dataclass(frozen=True, slots=True)
class Asset:
    """Something shown in a case: a DICOM series, an image, a video, slides or a document.

    A DICOM series lists its instances in display order; single-file media
    keep their (scrubbed) file in ``blob``. ``thumbnail`` is a PNG blob.
    """

    id: str
    kind: AssetKind
    label: str = ""
    modality: str = ""
    instances: tuple[Instance, ...] = ()
    blob: str | None = None
    media_type: str = ""
    thumbnail: str | None = None
    study_uid: str = ""
    series_uid: str = ""
    body_part: str = ""
    default_window: Window | None = None
    caption: str = ""
    #: Slides of a PowerPoint chosen for the deck (0-based, in order); empty means all of them.
    chosen: tuple[int, ...] = ()
    #: PNG blobs, one per page of a PDF or slide of a PowerPoint, in order (empty when none could be made).
    previews: tuple[str, ...] = ()
    #: For a clip or picture as a whole (a DICOM series keeps it per instance): must a person look
    #: for burned-in names before it is presented?
    review: Review = Review.NOT_NEEDED

    def __post_init__(self) -> None:
        _require_str("asset id", self.id, allow_empty=False, max_len=64)
        previews = tuple(self.previews)
        if not all(isinstance(p, str) and p for p in previews):
            raise ValidationError("Page previews must be blob ids.")
        object.__setattr__(self, "previews", previews)
        chosen = tuple(self.chosen)
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in chosen) or len(set(chosen)) != len(
            chosen
        ):
            raise ValidationError("Chosen slides must be distinct slide numbers (0-based).")
        object.__setattr__(self, "chosen", chosen)
        if not isinstance(self.kind, AssetKind):
            raise ValidationError(f"Asset kind must be one of {[k.value for k in AssetKind]}.")
        _require_str("asset label", self.label, max_len=500)
        _require_str("caption", self.caption, max_len=2_000)
        if self.kind is AssetKind.DICOM_SERIES:
            if not self.instances:
                raise ValidationError("A DICOM series asset needs at least one instance.")
        elif self.blob is None:
            raise ValidationError(f"A {self.kind.value} asset needs its file (blob).")

    @property
    def frame_count(self) -> int:
        """Number of displayable frames: slices of a stack, or frames of a multi-frame image."""
        if self.kind is AssetKind.DICOM_SERIES:
            return sum(i.frames for i in self.instances)
        return 1

    @property
    def blob_ids(self) -> frozenset[str]:
        """Every stored file this asset refers to (so none is deleted while it is in use)."""
        ids = {self.blob, self.thumbnail, *self.previews, *(i.blob for i in self.instances)}
        return frozenset(i for i in ids if i)

    def locate_frame(self, index: int) -> tuple[Instance, int]:
        """Map a stack-wide frame index to (instance, frame within instance)."""
        if index < 0:
            raise ValidationError(f"Frame index must not be negative (got {index}).")
        remaining = index
        for inst in self.instances:
            if remaining < inst.frames:
                return inst, remaining
            remaining -= inst.frames
        raise ValidationError(f"Frame {index + 1} does not exist; this series has {self.frame_count} frames.")

    def to_dict(self, *, with_instances: bool = True) -> JsonDict:
        """The JSON shape; ``with_instances=False`` leaves the instance records out (a store that keeps
        them apart, and already has them, need not serialise them again)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "label": self.label,
            "modality": self.modality,
            "instances": [i.to_dict() for i in self.instances] if with_instances else [],
            "blob": self.blob,
            "media_type": self.media_type,
            "thumbnail": self.thumbnail,
            "study_uid": self.study_uid,
            "series_uid": self.series_uid,
            "body_part": self.body_part,
            "default_window": self.default_window.to_dict() if self.default_window else None,
            "caption": self.caption,
            "chosen": list(self.chosen),
            "previews": list(self.previews),
            "review": self.review.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Asset:
        window = data.get("default_window")
        return cls(
            id=data["id"],
            kind=AssetKind(data["kind"]),
            label=data.get("label", ""),
            modality=data.get("modality", ""),
            instances=tuple(Instance.from_dict(i) for i in data.get("instances", ())),
            blob=data.get("blob"),
            media_type=data.get("media_type", ""),
            thumbnail=data.get("thumbnail"),
            study_uid=data.get("study_uid", ""),
            series_uid=data.get("series_uid", ""),
            body_part=data.get("body_part", ""),
            default_window=Window.from_dict(window) if window else None,
            caption=data.get("caption", ""),
            chosen=tuple(int(n) for n in data.get("chosen", ())),
            previews=tuple(str(p) for p in data.get("previews", ())),
            review=Review(data.get("review", "")),
        )


_ANNOTATION_TYPES = typing.get_args(Annotation)


@dataclass(frozen=True, slots=True)
class KeyImage:
    """A frame of an asset chosen for presentation, with the window and annotations the presenter set.

    Annotations are in the image's own pixel coordinates (see casefiles.annotations.model), so they
    survive any display size and burn into every export at the same place.
    """

    asset_id: str
    frame: int = 0
    window: Window | None = None
    caption: str = ""
    annotations: tuple[Annotation, ...] = ()

    def __post_init__(self) -> None:
        _require_str("key image asset id", self.asset_id, allow_empty=False, max_len=64)
        if isinstance(self.frame, bool) or not isinstance(self.frame, int) or self.frame < 0:
            raise ValidationError(f"Key image frame must be a whole number ≥ 0 (got {self.frame!r}).")
        _require_str("key image caption", self.caption, max_len=2_000)
        annotations = tuple(self.annotations)
        if not all(isinstance(a, _ANNOTATION_TYPES) for a in annotations):
            raise ValidationError("Key image annotations must be annotation objects (see casefiles.annotations).")
        if len({a.id for a in annotations}) != len(annotations):
            raise ValidationError("Two annotations of one key image share an id.")
        object.__setattr__(self, "annotations", annotations)

    def to_dict(self) -> JsonDict:
        return {
            "asset_id": self.asset_id,
            "frame": self.frame,
            "window": self.window.to_dict() if self.window else None,
            "caption": self.caption,
            "annotations": annotations_to_list(self.annotations),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyImage:
        window = data.get("window")
        return cls(
            asset_id=data["asset_id"],
            frame=int(data.get("frame", 0)),
            window=Window.from_dict(window) if window else None,
            caption=data.get("caption", ""),
            annotations=annotations_from_list(data.get("annotations") or ()),
        )


#: The fields of a case a person edits (the Case page's form, ``case edit`` on the CLI), in form order.
CASE_EDITABLE_FIELDS = (
    "title",
    "history",
    "findings",
    "diagnosis",
    "differential",
    "teaching_points",
    "tags",
    "modality",
    "body_part",
    "difficulty",
    "author",
    "category",
)


@dataclass(frozen=True, slots=True)
class Case:
    """A teaching case: the clinical story, the images and what to learn from them."""

    id: str
    title: str
    history: str = ""
    findings: str = ""
    diagnosis: str = ""
    differential: tuple[str, ...] = ()
    teaching_points: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    modality: str = ""
    body_part: str = ""
    difficulty: Difficulty = Difficulty.UNSET
    author: str = ""
    #: The diagnosis category (a term of casefiles.vocabulary, or free text), for search filters.
    category: str = ""
    created: dt.datetime = field(default_factory=utcnow)
    updated: dt.datetime = field(default_factory=utcnow)
    assets: tuple[Asset, ...] = ()
    key_images: tuple[KeyImage, ...] = ()
    #: Version of the free-text rules that cleaned the text this case took from DICOM (title, series
    #: labels, a KOS description in the history); 0 means never. The release gate compares it.
    text_rules: int = 0
    #: Who owns the case and who else sees it (casefiles.visibility); the domain checks it on every use.
    sharing: Sharing = PRIVATE_UNOWNED
    #: Keyed hashes of the ORIGINAL Study Instance UIDs of its studies (casefiles.deid.keys.study_key),
    #: so importing a study already here is recognised; never the UIDs. Meaningful only under this
    #: installation's secret; a case imported before they existed has none (and is never matched).
    study_keys: tuple[str, ...] = ()
    #: The store's version of this case (0: never stored). A save made on an older version is
    #: refused by the store (optimistic concurrency); not part of the JSON shape, the store keeps it.
    version: int = 0

    def __post_init__(self) -> None:
        _require_str("case id", self.id, allow_empty=False, max_len=64)
        _require_rules_version("version", self.version)
        _require_rules_version("text_rules", self.text_rules)
        _require_str("title", self.title, allow_empty=False, max_len=300)
        for name in ("history", "findings", "diagnosis"):
            _require_str(name, getattr(self, name))
        _require_str("modality", self.modality, max_len=64)
        _require_str("body part", self.body_part, max_len=64)
        _require_str("author", self.author, max_len=200)
        _require_str("category", self.category, max_len=100)
        study_keys = _require_str_tuple("study keys", self.study_keys)
        if not all(_is_study_key(k) for k in study_keys):
            raise ValidationError("A study key must be 64 lower-case hexadecimal digits.")
        object.__setattr__(self, "study_keys", tuple(dict.fromkeys(study_keys)))
        object.__setattr__(self, "differential", _require_str_tuple("differential", self.differential))
        object.__setattr__(self, "teaching_points", _require_str_tuple("teaching points", self.teaching_points))
        tags = _require_str_tuple("tags", self.tags)
        object.__setattr__(self, "tags", tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip())))
        if not isinstance(self.difficulty, Difficulty):
            raise ValidationError(f"Difficulty must be one of {[d.value for d in Difficulty]}.")
        asset_ids = [a.id for a in self.assets]
        if len(set(asset_ids)) != len(asset_ids):
            raise ValidationError("Two assets of a case share one id.")
        by_id = {a.id: a for a in self.assets}
        for key in self.key_images:
            asset = by_id.get(key.asset_id)
            if asset is None:
                raise ValidationError("A key image points at an asset that is not in this case.")
            if key.frame >= asset.frame_count:
                raise ValidationError(
                    f"A key image points at frame {key.frame + 1}, but that series has {asset.frame_count} frames."
                )

    def asset(self, asset_id: str) -> Asset:
        for asset in self.assets:
            if asset.id == asset_id:
                return asset
        raise ValidationError("That asset is not part of this case.")

    def edited(self, **changes: Any) -> Case:
        """A copy with ``changes`` applied and ``updated`` set to now."""
        changes.setdefault("updated", utcnow())
        return replace(self, **changes)

    def to_dict(self) -> JsonDict:
        return {
            "id": self.id,
            "title": self.title,
            "history": self.history,
            "findings": self.findings,
            "diagnosis": self.diagnosis,
            "differential": list(self.differential),
            "teaching_points": list(self.teaching_points),
            "tags": list(self.tags),
            "modality": self.modality,
            "body_part": self.body_part,
            "difficulty": self.difficulty.value,
            "author": self.author,
            "category": self.category,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "assets": [a.to_dict() for a in self.assets],
            "key_images": [k.to_dict() for k in self.key_images],
            "text_rules": self.text_rules,
            "sharing": self.sharing.to_dict(),
            "study_keys": list(self.study_keys),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        return cls(
            id=data["id"],
            title=data["title"],
            history=data.get("history", ""),
            findings=data.get("findings", ""),
            diagnosis=data.get("diagnosis", ""),
            differential=tuple(data.get("differential", ())),
            teaching_points=tuple(data.get("teaching_points", ())),
            tags=tuple(data.get("tags", ())),
            modality=data.get("modality", ""),
            body_part=data.get("body_part", ""),
            difficulty=Difficulty(data.get("difficulty", "")),
            author=data.get("author", ""),
            category=data.get("category", ""),
            created=dt.datetime.fromisoformat(data["created"]),
            updated=dt.datetime.fromisoformat(data["updated"]),
            assets=tuple(Asset.from_dict(a) for a in data.get("assets", ())),
            key_images=tuple(KeyImage.from_dict(k) for k in data.get("key_images", ())),
            text_rules=int(data.get("text_rules", 0)),
            sharing=Sharing.from_dict(data.get("sharing")),
            study_keys=tuple(data.get("study_keys", ())),
        )


def _is_study_key(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


@dataclass(frozen=True, slots=True)
class CasePlan:
    """How one case is shown in a conference.

    ``key_images`` picks key images by their index in ``Case.key_images``
    (``None``: all of them, in the case's order). ``reveal``: images and
    history first, the diagnosis on the following slide (unknown-case quiz).
    ``stacks``: also show each key image's series as a scrollable clip.
    """

    case_id: str
    key_images: tuple[int, ...] | None = None
    reveal: bool = False
    stacks: bool = False

    def __post_init__(self) -> None:
        _require_str("case id", self.case_id, allow_empty=False, max_len=64)
        if self.key_images is not None:
            picked = tuple(self.key_images)
            if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in picked):
                raise ValidationError("Key images of a case plan are picked by index (whole numbers ≥ 0).")
            if len(set(picked)) != len(picked):
                raise ValidationError("A key image is picked twice in a case plan.")
            object.__setattr__(self, "key_images", picked)

    def chosen(self, case: Case) -> tuple[KeyImage, ...]:
        """The key images of ``case`` this plan shows (indexes past the end are skipped)."""
        if self.key_images is None:
            return case.key_images
        return tuple(case.key_images[i] for i in self.key_images if i < len(case.key_images))

    def to_dict(self) -> JsonDict:
        return {
            "case_id": self.case_id,
            "key_images": None if self.key_images is None else list(self.key_images),
            "reveal": self.reveal,
            "stacks": self.stacks,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CasePlan:
        picked = data.get("key_images")
        return cls(
            case_id=data["case_id"],
            key_images=None if picked is None else tuple(int(i) for i in picked),
            reveal=bool(data.get("reveal", False)),
            stacks=bool(data.get("stacks", False)),
        )


@dataclass(frozen=True, slots=True)
class Conference:
    """An ordered set of cases presented together: a tumor board, grand rounds, a training set.

    ``items`` is the single source of order; ``case_ids`` is derived from it.
    """

    id: str
    title: str
    kind: ConferenceKind = ConferenceKind.TUMOR_BOARD
    date: dt.date | None = None
    presenters: tuple[str, ...] = ()
    items: tuple[CasePlan, ...] = ()
    created: dt.datetime = field(default_factory=utcnow)
    updated: dt.datetime = field(default_factory=utcnow)
    #: Who owns the conference and who else sees it (casefiles.visibility).
    sharing: Sharing = PRIVATE_UNOWNED
    #: The store's version of this conference (0: never stored); see ``Case.version``.
    version: int = 0

    def __post_init__(self) -> None:
        _require_str("conference id", self.id, allow_empty=False, max_len=64)
        _require_rules_version("version", self.version)
        _require_str("conference title", self.title, allow_empty=False, max_len=300)
        if not isinstance(self.kind, ConferenceKind):
            raise ValidationError(f"Conference kind must be one of {[k.value for k in ConferenceKind]}.")
        object.__setattr__(self, "presenters", _require_str_tuple("presenters", self.presenters))
        items = tuple(self.items)
        if not all(isinstance(i, CasePlan) for i in items):
            raise ValidationError("Conference items must be case plans.")
        ids = [i.case_id for i in items]
        if len(set(ids)) != len(ids):
            raise ValidationError("A case appears twice in the conference.")
        object.__setattr__(self, "items", items)

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(i.case_id for i in self.items)

    def plan(self, case_id: str) -> CasePlan:
        for item in self.items:
            if item.case_id == case_id:
                return item
        raise ValidationError("That case is not part of this conference.")

    def edited(self, **changes: Any) -> Conference:
        changes.setdefault("updated", utcnow())
        return replace(self, **changes)

    def to_dict(self) -> JsonDict:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind.value,
            "date": self.date.isoformat() if self.date else None,
            "presenters": list(self.presenters),
            "items": [i.to_dict() for i in self.items],
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "sharing": self.sharing.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conference:
        date = data.get("date")
        return cls(
            id=data["id"],
            title=data["title"],
            kind=ConferenceKind(data.get("kind", ConferenceKind.TUMOR_BOARD.value)),
            date=dt.date.fromisoformat(date) if date else None,
            presenters=tuple(data.get("presenters", ())),
            items=tuple(CasePlan.from_dict(i) for i in data.get("items", ())),
            created=dt.datetime.fromisoformat(data["created"]),
            updated=dt.datetime.fromisoformat(data["updated"]),
            sharing=Sharing.from_dict(data.get("sharing")),
        )
