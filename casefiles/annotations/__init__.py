"""Annotations on key images: the model (image-pixel geometry), measurements, burn-in and DICOM GSPS.

Import from the submodules; this package re-exports the names callers use most.
"""

from casefiles.annotations.burn import burn_in
from casefiles.annotations.measure import PixelSpacing, pixel_spacing_of
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
    annotation_from_dict,
    annotations_from_list,
    annotations_to_list,
    scaled,
)

__all__ = [
    "Angle",
    "Annotation",
    "Arrow",
    "Ellipse",
    "PixelSpacing",
    "Point",
    "Polyline",
    "Rectangle",
    "Ruler",
    "Style",
    "Text",
    "annotation_from_dict",
    "annotations_from_list",
    "annotations_to_list",
    "burn_in",
    "pixel_spacing_of",
    "scaled",
]
