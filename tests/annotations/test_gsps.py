"""GSPS written by CaseDeck: valid (dciodvfy), applied by dcmtk, and read back (round trip)."""

from __future__ import annotations

import re
import subprocess
import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from casefiles.annotations.gsps import COLOR_PS_CLASS, GSPS_CLASS, read_gsps, referenced_image, write_gsps
from casefiles.annotations.model import (
    Angle,
    Arrow,
    Ellipse,
    Point,
    Polyline,
    Rectangle,
    Ruler,
    Style,
    Text,
    annotation_from_dict,
)
from casefiles.errors import ValidationError
from casefiles.imaging.render import render_frame
from casefiles.model import Window
from tests.helpers import require_tool

ALL_KINDS = [
    Arrow(id="arrow1", start=Point(10, 10), end=Point(100, 70), text="Mass", style=Style("#ff0000", 4)),
    Ruler(id="ruler1", start=Point(5, 100), end=Point(120, 110)),
    Angle(id="angle1", a=Point(50, 5), vertex=Point(55, 20), b=Point(62, 6)),
    Ellipse(id="ellipse1", center=Point(40, 35), rx=10, ry=5, style=Style("#00ff00", 2)),
    Ellipse(id="ellipse2", center=Point(90, 90), rx=4, ry=9.5),
    Rectangle(id="rect1", top_left=Point(2, 2), bottom_right=Point(12, 9), text="box"),
    Polyline(id="poly1", vertices=(Point(20, 40), Point(25, 45.5), Point(21, 50)), closed=True),
    Polyline(id="poly2", vertices=(Point(70, 20), Point(80, 25), Point(75, 30))),
    Text(id="text1", anchor=Point(3, 58), text="Hello 37.5°", size=30),
]


def _load(name: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom wheel")
    return dcmread(path)


@pytest.fixture
def ct() -> Dataset:
    return _load("CT_small.dcm")


@pytest.fixture
def files(tmp_path: Path, ct: Dataset) -> tuple[Path, Path]:
    image = tmp_path / "image.dcm"
    ct.save_as(image)
    pstate = tmp_path / "pstate.dcm"
    write_gsps(ct, ALL_KINDS, Window(40, 400)).save_as(pstate, enforce_file_format=True)
    return image, pstate


def _round_trip(ds: Dataset, tmp_path: Path) -> Dataset:
    path = tmp_path / "rt.dcm"
    ds.save_as(path, enforce_file_format=True)
    return dcmread(path)


def _same(a: object, b: object) -> None:
    assert type(a) is type(b)
    da, db = a.to_dict(), b.to_dict()  # type: ignore[attr-defined]
    pa, pb = da.pop("points"), db.pop("points")
    assert da == db
    assert np.allclose(pa, pb, atol=1e-4)


@pytest.mark.dicom3tools
def test_dciodvfy_finds_no_errors(files: tuple[Path, Path]) -> None:
    tool = require_tool("dciodvfy")
    _, pstate = files
    result = subprocess.run([tool, str(pstate)], check=False, capture_output=True, text=True, timeout=60)
    report = result.stdout + result.stderr
    assert "GrayscaleSoftcopyPresentationState" in report
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert errors == []


def _pgm(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(int)


def test_dcmtk_applies_the_window(files: tuple[Path, Path], tmp_path: Path, ct: Dataset) -> None:
    tool = require_tool("dcmp2pgm")
    image, pstate = files
    subprocess.run([tool, "-p", str(pstate), str(image), str(tmp_path / "ps.pgm")], check=True, timeout=60)
    subprocess.run([tool, str(image), str(tmp_path / "plain.pgm")], check=True, timeout=60)
    with_ps, plain = _pgm(tmp_path / "ps.pgm"), _pgm(tmp_path / "plain.pgm")
    assert with_ps.shape == plain.shape == (128, 128)
    assert np.abs(with_ps - plain).mean() > 20  # the presentation state changed the picture
    ours = render_frame(ct, 0, Window(40, 400)).astype(int)
    assert np.abs(with_ps - ours).mean() < 2  # ... to the window CaseDeck wrote


def test_dcmtk_reads_our_graphics_where_we_put_them(files: tuple[Path, Path], tmp_path: Path) -> None:
    """dcmp2pgm renders windows and overlays, not graphics (that is left to viewers); its dump shows what it read."""
    tool = require_tool("dcmp2pgm")
    image, pstate = files
    out = subprocess.run(
        [tool, "-v", "-p", str(pstate), str(image), str(tmp_path / "ps.pgm")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    dump = out.stdout + out.stderr
    assert "window center=40 width=400" in dump
    assert re.search(
        r"graphic \d+: points=2 type=polyline filled=no units=pixel\s+I?:?\s*coordinates: 10\\10, 100\\70,", dump
    )
    assert re.search(r"type=ellipse filled=no units=pixel\s+I?:?\s*coordinates: 30\\35, 50\\35, 40\\30, 40\\40,", dump)
    assert '"Hello 37.5°"' in dump
    assert '"76.4 mm"' in dump  # the ruler's label: 115.4 px × 0.661 mm


def test_round_trip_gives_the_same_annotations_and_window(ct: Dataset, tmp_path: Path) -> None:
    hidden = Arrow(id="hidden", start=Point(1, 1), end=Point(5, 5), visible=False)
    written = _round_trip(write_gsps(ct, [*ALL_KINDS, hidden], Window(-600, 1500)), tmp_path)
    assert written.SOPClassUID == GSPS_CLASS
    annotations, window = read_gsps(written)
    assert window == Window(-600, 1500)
    assert [a.id for a in annotations] == [a.id for a in ALL_KINDS]  # hidden ones are not written
    for got, expected in zip(annotations, ALL_KINDS, strict=True):
        _same(got, expected)
    assert referenced_image(written) == (ct.SOPInstanceUID, 0)
    assert written.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == ct.SOPInstanceUID


def test_no_window_keeps_the_images_own_and_no_annotations_is_fine(ct: Dataset, tmp_path: Path) -> None:
    annotations, window = read_gsps(_round_trip(write_gsps(ct, [], None), tmp_path))
    assert annotations == ()
    assert window is None  # CT_small has no window of its own


def test_parts_off_the_image_are_clipped(ct: Dataset) -> None:
    across = Arrow(id="across", start=Point(-64, 64), end=Point(64, 64))
    gone = Ruler(id="gone", start=Point(-50, -50), end=Point(-10, -10))
    big = Ellipse(id="big", center=Point(64, 64), rx=100, ry=30)
    annotations, _ = read_gsps(write_gsps(ct, [across, gone, big], None))
    by_id = {a.id: a for a in annotations}
    assert "gone" not in by_id
    arrow = by_id["across"]
    assert isinstance(arrow, Arrow)
    assert arrow.points == (Point(0, 64), Point(64, 64))  # the part on the image, still an arrow
    pieces = [a for a in annotations if isinstance(a, Polyline)]  # the ellipse's visible arcs
    assert len(pieces) == 2
    for piece in pieces:
        xs = [p.x for p in piece.points]
        assert min(xs) >= 0 and max(xs) <= 128


def test_multi_frame_images_reference_the_frame(ct: Dataset, tmp_path: Path) -> None:
    ct.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
    ct.NumberOfFrames = 3
    ct.PixelData = ct.PixelData * 3
    ds = write_gsps(ct, [ALL_KINDS[0]], Window(40, 400), frame=2)
    item = ds.GraphicAnnotationSequence[0].ReferencedImageSequence[0]
    assert item.ReferencedFrameNumber == 3
    assert referenced_image(_round_trip(ds, tmp_path)) == (ct.SOPInstanceUID, 2)
    with pytest.raises(ValidationError, match="Frame 4 does not exist"):
        write_gsps(ct, [], None, frame=3)


def test_colour_images_get_a_colour_presentation_state(tmp_path: Path) -> None:
    rgb = _load("SC_rgb_rle.dcm")  # 100 × 100 RGB; its pixels are never decoded
    arrow = Arrow(id="a", start=Point(10, 10), end=Point(60, 80))
    written = _round_trip(write_gsps(rgb, [arrow], Window(40, 400)), tmp_path)
    assert written.SOPClassUID == COLOR_PS_CLASS
    assert "ICCProfile" in written
    annotations, window = read_gsps(written)
    assert window is None  # colour presentation states carry no window
    _same(annotations[0], arrow)


def test_presentation_states_from_elsewhere_read_back_as_shapes(ct: Dataset) -> None:
    layer = hd.pr.GraphicLayer("OTHER", order=1)
    pixel = hd.pr.AnnotationUnitsValues.PIXEL
    annotation = hd.pr.GraphicAnnotation(
        referenced_images=[ct],
        graphic_layer=layer,
        graphic_objects=[
            hd.pr.GraphicObject("POLYLINE", np.array([[1.0, 1.0], [20.0, 20.0]]), pixel),
            hd.pr.GraphicObject("POLYLINE", np.array([[1.0, 1.0], [9.0, 1.0], [9.0, 9.0], [1.0, 1.0]]), pixel),
            hd.pr.GraphicObject("ELLIPSE", np.array([[10.0, 50], [30, 50], [20, 45], [20, 55]]), pixel),
            hd.pr.GraphicObject("CIRCLE", np.array([[64.0, 64], [64, 70]]), pixel),
        ],
        text_objects=[hd.pr.TextObject("note", pixel, anchor_point=(30.0, 30.0))],
    )
    foreign = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=[ct],
        series_instance_uid=generate_uid(),
        series_number=1,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Other",
        manufacturer_model_name="X",
        software_versions="1",
        device_serial_number="1",
        content_label="OTHER",
        graphic_annotations=[annotation],
        graphic_layers=[layer],
    )
    annotations, _ = read_gsps(foreign)
    line, triangle, ellipse, circle, text = annotations
    assert isinstance(line, Polyline) and not line.closed and len(line.points) == 2
    assert isinstance(triangle, Polyline) and triangle.closed and len(triangle.points) == 3
    assert isinstance(ellipse, Ellipse) and (ellipse.center, ellipse.rx, ellipse.ry) == (Point(20, 50), 10, 5)
    assert isinstance(circle, Ellipse) and circle.rx == circle.ry == 6
    assert isinstance(text, Text) and text.text == "note" and text.anchor == Point(30, 30)


def test_json_from_the_editor_goes_straight_to_gsps(ct: Dataset) -> None:
    data = {
        "kind": "arrow",
        "id": "js1",
        "points": [[20, 30], [60, 64]],
        "style": {"color": "#ffd400", "width": 3},
        "visible": True,
        "text": "",
    }
    annotations, _ = read_gsps(write_gsps(ct, [annotation_from_dict(data)], None))
    assert annotations[0].to_dict() == {**data, "points": [[20.0, 30.0], [60.0, 64.0]]}


def test_bad_inputs(ct: Dataset) -> None:
    with pytest.raises(ValidationError, match="not a grayscale or colour softcopy presentation state"):
        read_gsps(ct)
    with pytest.raises(ValidationError, match="DICOM image dataset"):
        write_gsps("image.dcm", [], None)  # type: ignore[arg-type]
    del ct.SOPInstanceUID
    with pytest.raises(ValidationError, match="lacks SOPInstanceUID"):
        write_gsps(ct, [], None)


@pytest.mark.dicom3tools
def test_dciodvfy_accepts_colour_and_multi_frame_presentation_states(ct: Dataset, tmp_path: Path) -> None:
    tool = require_tool("dciodvfy")
    rgb = _load("SC_rgb_rle.dcm")
    ct.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word Secondary Capture
    ct.NumberOfFrames = 3
    ct.PixelData = ct.PixelData * 3
    arrow = Arrow(start=Point(10, 10), end=Point(60, 80), text="x")
    for name, ds in (("colour", write_gsps(rgb, [arrow], None)), ("frames", write_gsps(ct, [arrow], None, frame=1))):
        path = tmp_path / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        result = subprocess.run([tool, str(path)], check=False, capture_output=True, text=True, timeout=60)
        errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], name
