"""Window presets per modality, as data.

CT values are the usual teaching-file choices in HU (centre/width). Other
modalities have no fixed scale, so they rely on the image's own VOI or an
auto window and have no presets.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from casefiles.errors import ValidationError
from casefiles.model import Window

_CT: dict[str, Window] = {
    "brain": Window(center=40, width=80),
    "subdural": Window(center=75, width=215),
    "stroke": Window(center=40, width=40),
    "lung": Window(center=-600, width=1500),
    "mediastinum": Window(center=50, width=350),
    "abdomen": Window(center=40, width=400),
    "liver": Window(center=60, width=160),
    "bone": Window(center=400, width=1800),
}

PRESETS: Mapping[str, Mapping[str, Window]] = MappingProxyType({"CT": MappingProxyType(_CT)})
_NONE: Mapping[str, Window] = MappingProxyType({})


def presets_for(modality: str) -> Mapping[str, Window]:
    """Presets for a DICOM Modality code (case-insensitive), in display order; empty when there are none."""
    if not isinstance(modality, str):
        raise ValidationError(f"Modality must be text such as 'CT', not {type(modality).__name__}.")
    return PRESETS.get(modality.strip().upper(), _NONE)
