"""Pushing an annotated case: Orthanc receives the images, a GSPS per annotated key image and a KOS
"For Teaching"; what it stores reads back as the presenter's annotations and window."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import pydicom

from casefiles.annotations.gsps import read_gsps, referenced_image
from casefiles.annotations.model import Arrow, Point, Ruler
from casefiles.model import Window
from casefiles.pacs.tce import is_kos, parse_kos
from tests.dicom_factory import FAKE_PHI, write_ct_study
from tests.pacs.test_faults import _orthanc_files, _services, own_orthanc  # noqa: F401 (fixture)


def test_an_annotated_case_reaches_the_pacs_as_images_gsps_and_kos(own_orthanc, tmp_path: Path) -> None:  # noqa: F811
    services = _services(tmp_path, own_orthanc.node())
    report = services.import_dicom(write_ct_study(tmp_path / "source", slices=4))
    case = services.get_case(report.case_ids[0])
    asset = case.assets[0]
    case = services.toggle_key_image(case.id, asset.id, 1, Window(40, 400))
    case = services.toggle_key_image(case.id, asset.id, 3, None)
    arrow = Arrow(start=Point(5, 5), end=Point(30, 28))
    ruler = Ruler(start=Point(10, 50), end=Point(50, 50))
    case = services.annotate_key_image(case.id, asset.id, 1, [arrow, ruler])

    result = services.pacs.push_case(case.id, own_orthanc.node().name)
    assert (result.sent, result.failed) == (4 + 1 + 1, 0), "4 images, 1 presentation state, 1 key object selection"

    stored = [pydicom.dcmread(io.BytesIO(data)) for data in _orthanc_files(own_orthanc)]
    states = [ds for ds in stored if ds.SOPClassUID.name.endswith("Softcopy Presentation State Storage")]
    (state,) = states
    annotations, window = read_gsps(state)
    assert window == Window(40, 400)
    assert [type(a).__name__ for a in annotations] == ["Arrow", "Ruler"]
    assert annotations[0].start.x == arrow.start.x and annotations[1].end == ruler.end
    key_sop = case.assets[0].locate_frame(1)[0].sop_instance_uid
    assert referenced_image(state)[0] == key_sop
    (selection,) = [ds for ds in stored if is_kos(ds)]
    parsed = parse_kos(selection)
    assert parsed.title.value == "For Teaching" or "teach" in str(parsed.title).lower()
    assert set(parsed.referenced_sop_uids) == {key_sop, case.assets[0].locate_frame(3)[0].sop_instance_uid}
    for ds in stored:
        text = str(ds).lower()
        assert not any(phi.lower() in text for phi in FAKE_PHI)

    again = services.pacs.push_case(case.id, own_orthanc.node().name)
    assert again.failed == 0 and own_orthanc.count_instances() == 6, "a second push keeps one copy of each"
    with urllib.request.urlopen(f"http://127.0.0.1:{own_orthanc.http_port}/statistics", timeout=10) as rsp:
        assert json.load(rsp)["CountSeries"] == 3, "images, presentation states, key object selection"
