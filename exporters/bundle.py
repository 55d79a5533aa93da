"""What every conference exporter receives: the conference, its cases, and a media source.

Exporters never read the store or render DICOM themselves: the caller (the
services layer) hands them a :class:`ConferenceBundle` and a
:class:`MediaSource` that renders exactly what the presenter chose, from
de-identified data only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from casefiles.errors import ValidationError
from casefiles.model import Asset, Case, CasePlan, Conference, Instance, KeyImage, Window


@dataclass(frozen=True, slots=True)
class ConferenceBundle:
    """A conference with its cases in presentation order (one per item)."""

    conference: Conference
    cases: tuple[Case, ...]

    def __post_init__(self) -> None:
        ids = tuple(c.id for c in self.cases)
        if ids != self.conference.case_ids:
            raise ValidationError("The cases handed to an exporter must match the conference's order.")

    def entries(self) -> Iterator[tuple[Case, CasePlan]]:
        """(case, its plan) in presentation order."""
        yield from zip(self.cases, self.conference.items, strict=True)

    @classmethod
    def single(cls, case: Case, conference: Conference) -> ConferenceBundle:
        return cls(conference=conference, cases=(case,))


class MediaSource(Protocol):
    """Renders what a deck shows. Every method raises a CaseDeckError subclass on failure."""

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        """The key image as the presenter saw it (window applied), PNG or JPEG, longest side <= 1920."""
        ...

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        """Millimetres per pixel of the image ``key_image`` returns (for scale bars); None if unknown."""
        ...

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        """JPEG frames of a whole series in display order, evenly sampled down to ``max_frames``."""
        ...

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        """The series as an H.264 MP4 clip (yuv420p, faststart) that plays in PowerPoint and browsers."""
        ...

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        """A PNG of the series' middle frame, for a clip's poster frame."""
        ...

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        """The stored, de-identified DICOM files of a series (for teaching-file packages)."""
        ...

    def asset_file(self, case: Case, asset: Asset, /) -> bytes:
        """The stored, scrubbed file of a single-file asset (a PowerPoint deck, a PDF, a video)."""
        ...

    def asset_previews(self, case: Case, asset: Asset, /) -> Sequence[bytes]:
        """PNG pictures of a PDF's pages or a PowerPoint's slides, in order (empty when none were made)."""
        ...
