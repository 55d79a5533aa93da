"""Window presets per modality, as data.

CT has a calibrated scale (Hounsfield units), so its presets are the usual
teaching-file windows in HU (centre/width), the same on every scanner.

MR, CR, DX and MG have no such scale: the same tissue gives different values
on another scanner, coil, sequence, detector or processing, so a fixed window
in their units would be right on one image and blank on the next. Their
presets are therefore :class:`RelativeWindow` s, a change of *the image's own
window* (the one its modality wrote into the file, which the viewer opens with
and Reset returns to), as radiology viewers do for these modalities (derive
windows from the image's stored window or range rather than a fixed number):
narrow the window for contrast, move it onto the brighter or darker half for
detail there, widen it to see everything the file holds. An image without a
window of its own gets none of them (the viewer cannot window it either).

Ultrasound is the exception among the uncalibrated modalities: the scanner
sends display-ready 8-bit grey levels (gain, dynamic range and grey map are
set at the probe), so a few fixed windows over 0–255 mean the same on every
image, as on an ultrasound workstation.

Which way is "brighter" follows the image's photometry: on a MONOCHROME1
radiograph high values show dark, so a preset meant for the bright structures
(bone) moves the window down instead of up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from casefiles.errors import ValidationError
from casefiles.model import Window

__all__ = ["PRESETS", "Preset", "RelativeWindow", "presets_for", "resolve_presets"]


@dataclass(frozen=True, slots=True)
class RelativeWindow:
    """A preset as a change of the image's own window (for modalities without a calibrated scale).

    ``scale``: the preset's width is the own window's width times this (0.5 = twice the contrast).
    ``shift``: the centre moves by this many own-window widths onto what the image shows bright
    (+; bone on a radiograph, fluid on a T2) or dark (−), whichever way the photometry maps values.
    """

    shift: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("shift", "scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValidationError(f"A relative window's {name} must be a finite number.")
        if self.scale <= 0:
            raise ValidationError(f"A relative window's scale must be above 0 (got {self.scale}).")

    def resolve(self, own: Window, *, inverted: bool = False) -> Window:
        """The window this preset means on an image whose own window is ``own`` (``inverted``: MONOCHROME1)."""
        if not isinstance(own, Window):
            raise ValidationError("A relative preset needs the image's own window (a Window).")
        towards_bright = -1.0 if inverted else 1.0
        center = float(own.center) + towards_bright * self.shift * float(own.width)
        width = max(1.0, float(own.width) * self.scale)
        return Window(center=round(center, 2), width=round(width, 2))


Preset = Window | RelativeWindow

_CT: dict[str, Preset] = {
    "brain": Window(center=40, width=80),
    "subdural": Window(center=75, width=215),
    "stroke": Window(center=40, width=40),
    "lung": Window(center=-600, width=1500),
    "mediastinum": Window(center=50, width=350),
    "abdomen": Window(center=40, width=400),
    "liver": Window(center=60, width=160),
    "bone": Window(center=400, width=1800),
}

_MR: dict[str, Preset] = {
    # Half the width: subtle signal differences (grey/white matter, marrow, a faint lesion in the liver).
    "contrast": RelativeWindow(scale=0.5),
    # The upper or lower half of the own window at twice the contrast: detail in bright tissue
    # (fluid, fat, enhancement) or in dark tissue (tendons, ligaments, cortex, blooming).
    "high signal": RelativeWindow(shift=0.25, scale=0.5),
    "low signal": RelativeWindow(shift=-0.25, scale=0.5),
    # Twice the width with the black point kept: what the scanner's window clipped to white shows.
    "wide": RelativeWindow(shift=0.5, scale=2.0),
}

_RADIOGRAPH: dict[str, Preset] = {
    # Projection images (CR, DX): twice the contrast overall, over the bright half (bone, lines,
    # tubes, metal), over the dark half (soft tissue, lung), or the whole exposure at once
    # (skin line and soft-tissue swelling next to dense bone).
    "contrast": RelativeWindow(scale=0.5),
    "bone": RelativeWindow(shift=0.25, scale=0.5),
    "soft tissue": RelativeWindow(shift=-0.25, scale=0.5),
    "wide": RelativeWindow(scale=2.0),
}

_MG: dict[str, Preset] = {
    # Mammograms: twice the contrast (calcifications, distortion), contrast within dense
    # fibroglandular tissue, and the whole exposure (skin line and the densest tissue at once).
    "contrast": RelativeWindow(scale=0.5),
    "dense tissue": RelativeWindow(shift=0.25, scale=0.5),
    "wide": RelativeWindow(scale=2.0),
}

_US: dict[str, Preset] = {
    # 8-bit grey levels as the scanner sent them (undoes any window), a little more contrast, and
    # the dark half spread over the whole grey scale (debris in fluid, thrombus, a hypoechoic lesion).
    "full range": Window(center=128, width=256),
    "contrast": Window(center=128, width=160),
    "low echoes": Window(center=64, width=128),
}


def _frozen(presets: dict[str, Preset]) -> Mapping[str, Preset]:
    return MappingProxyType(dict(presets))


PRESETS: Mapping[str, Mapping[str, Preset]] = MappingProxyType(
    {
        "CT": _frozen(_CT),
        "MR": _frozen(_MR),
        "US": _frozen(_US),
        "CR": _frozen(_RADIOGRAPH),
        "DX": _frozen(_RADIOGRAPH),
        "MG": _frozen(_MG),
    }
)
_NONE: Mapping[str, Preset] = MappingProxyType({})


def presets_for(modality: str) -> Mapping[str, Preset]:
    """Presets for a DICOM Modality code (case-insensitive), in display order; empty when there are none.

    CT's and US's are fixed :class:`~casefiles.model.Window` s; MR's, CR's, DX's and MG's are
    :class:`RelativeWindow` s, which :func:`resolve_presets` turns into windows for one image.
    """
    if not isinstance(modality, str):
        raise ValidationError(f"Modality must be text such as 'CT', not {type(modality).__name__}.")
    return PRESETS.get(modality.strip().upper(), _NONE)


def resolve_presets(
    presets: Mapping[str, Preset], own: Window | None, *, inverted: bool = False
) -> tuple[tuple[str, Window], ...]:
    """``presets`` as windows for an image whose own window is ``own``, in order.

    Fixed windows pass through; relative ones are resolved against ``own`` and
    left out when the image has no window of its own (``own`` None).
    """
    if not isinstance(presets, Mapping):
        raise ValidationError("presets must map a name to a Window or a RelativeWindow.")
    resolved: list[tuple[str, Window]] = []
    for name, preset in presets.items():
        if not isinstance(name, str) or not name:
            raise ValidationError("Each preset needs a name.")
        if isinstance(preset, Window):
            resolved.append((name, preset))
        elif isinstance(preset, RelativeWindow):
            if own is not None:
                resolved.append((name, preset.resolve(own, inverted=inverted)))
        else:
            raise ValidationError("Each preset needs a name and a Window or a RelativeWindow.")
    return tuple(resolved)
