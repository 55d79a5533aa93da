"""Black out on a DICOM slice: the stored instance is blanked, the slice stays a key image, and a black-out the
user makes on an image nobody flagged does not put it in the burned-in review queue."""

from __future__ import annotations

from pathlib import Path

from casefiles.config import Settings
from casefiles.model import AssetKind, Region, Review
from casefiles.services import Services
from tests.dicom_factory import write_ct_study


def test_black_out_on_a_slice_blanks_the_stored_instance(tmp_path: Path) -> None:
    library = Services(Settings(data_dir=tmp_path / "data", seed_samples=False))
    case_id = library.import_dicom(write_ct_study(tmp_path / "ct", slices=3)).case_ids[0]
    series = next(a for a in library.get_case(case_id).assets if a.kind is AssetKind.DICOM_SERIES)
    library.toggle_key_image(case_id, series.id, 1, None)
    instance, _ = series.locate_frame(1)
    assert instance.review is Review.NOT_NEEDED

    case = library.black_out(case_id, series.id, [Region(0, 0, 16, 8)], frame=1)

    changed, _ = case.asset(series.id).locate_frame(1)
    assert changed.blob != instance.blob and not library.blobs.exists(instance.blob), "the old pixels are gone"
    pixels = library.dataset(changed.blob).pixel_array
    assert (pixels[:8, :16] == pixels.min()).all() and pixels[8:, 16:].max() > pixels.min()
    assert changed.review is Review.NOT_NEEDED and library.images_for_review(case) == []
    assert changed.redacted == (Region(0, 0, 16, 8),)
    assert [(k.asset_id, k.frame) for k in case.key_images] == [(series.id, 1)]
    untouched, _ = case.asset(series.id).locate_frame(0)
    assert untouched.blob == series.locate_frame(0)[0].blob
