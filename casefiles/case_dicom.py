"""A case's presentation as DICOM: a presentation state per annotated key image and a key object selection.

What a PACS viewer needs to show the case the way the presenter set it up:
each DICOM key image with annotations or a chosen window gets a Grayscale (or
Color) Softcopy Presentation State, and one Key Object Selection titled "For
Teaching" (IHE TCE, CID 7010) lists the key images. UIDs are derived from the
content, so pushing the same case twice gives the same objects (the PACS keeps
one copy) and changed annotations give new ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from casefiles.annotations.gsps import with_study_attributes, write_gsps
from casefiles.annotations.model import annotations_to_list
from casefiles.errors import ValidationError
from casefiles.model import AssetKind, Case, KeyImage

FOR_TEACHING = Code("113004", "DCM", "For Teaching")

#: The stored, de-identified dataset of an instance blob (Services.dataset).
DatasetOf = Callable[[str], Dataset]


@dataclass(frozen=True, slots=True)
class PresentationObjects:
    """The presentation states (one per annotated or windowed key image) and the key object selection."""

    presentation_states: tuple[Dataset, ...]
    key_object_selection: Dataset | None

    def all(self) -> list[Dataset]:
        return [*self.presentation_states, *([self.key_object_selection] if self.key_object_selection else [])]


def _uid(*parts: str) -> str:
    # 2.25 + a 128-bit integer (PS3.5 B.2): stable for the same content, unique otherwise.
    digest = hashlib.sha256("\x1f".join(("casedeck-presentation", *parts)).encode()).digest()[:16]
    return f"2.25.{int.from_bytes(digest, 'big')}"


def _key_image_source(case: Case, key: KeyImage, dataset_of: DatasetOf) -> tuple[Dataset, int] | None:
    asset = case.asset(key.asset_id)
    if asset.kind is not AssetKind.DICOM_SERIES:
        return None
    instance, within = asset.locate_frame(key.frame)
    return dataset_of(instance.blob), within


def presentation_objects(case: Case, dataset_of: DatasetOf) -> PresentationObjects:
    """GSPS for each DICOM key image carrying annotations or a window, and a KOS "For Teaching" of them all.

    Photos and other non-DICOM key images are left out: their annotations
    travel burned into the exported pictures instead.
    """
    states: list[Dataset] = []
    images: list[Dataset] = []
    seen: set[str] = set()
    state_series = _uid(case.id, "presentation states")
    for number, key in enumerate(case.key_images, start=1):
        source = _key_image_source(case, key, dataset_of)
        if source is None:
            continue
        image, frame = source
        if image.SOPInstanceUID not in seen:
            seen.add(image.SOPInstanceUID)
            images.append(image)
        if not key.annotations and key.window is None:
            continue
        content = json.dumps(
            {
                "annotations": annotations_to_list(key.annotations),
                "window": key.window.to_dict() if key.window else None,
            },
            sort_keys=True,
        )
        states.append(
            write_gsps(
                image,
                key.annotations,
                key.window,
                frame=frame,
                series_uid=state_series,
                sop_instance_uid=_uid(str(image.SOPInstanceUID), str(frame), content),
                instance_number=number,
            )
        )
    if not images:
        return PresentationObjects(tuple(states), None)
    return PresentationObjects(tuple(states), _key_object_selection(case, images))


def _key_object_selection(case: Case, images: list[Dataset]) -> Dataset:
    studies = {str(image.StudyInstanceUID) for image in images}
    if len(studies) != 1:
        # A KOS belongs to one study; a case mixing studies is presented without one.
        raise ValidationError("The key images of this case come from several studies; no single KOS can list them.")
    # highdicom copies the patient/study modules from the evidence; pixels are not needed for that.
    evidence = [with_study_attributes(image, keep_pixels=False) for image in images]
    content = hd.ko.KeyObjectSelection(
        document_title=FOR_TEACHING,
        referenced_objects=evidence,
        description=case.title[:1024],
    )
    return hd.ko.KeyObjectSelectionDocument(
        evidence=evidence,
        content=content,
        series_instance_uid=_uid(case.id, "key object selection"),
        series_number=901,
        sop_instance_uid=_uid(case.id, *sorted(str(i.SOPInstanceUID) for i in images)),
        instance_number=1,
    )
