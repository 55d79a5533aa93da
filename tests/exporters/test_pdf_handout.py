"""The PDF handout as a reader gets it: pages that render, text that can be searched, no PHI."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest

from casefiles.errors import Cancelled, ExportError, RenderError
from casefiles.model import Asset, Case, CasePlan, Conference, ConferenceKind, Instance, KeyImage, Window
from casefiles.progress import CancelToken
from exporters import pdf_handout
from exporters.bundle import ConferenceBundle
from exporters.pdf_handout import export_conference_pdf
from tests.helpers import require_tool
from tests.support.office import is_blank


@pytest.fixture(autouse=True)
def _poppler() -> None:
    require_tool("pdftoppm")
    require_tool("pdftotext")
    require_tool("pdfinfo")


class SceneMedia:
    """A MediaSource double: real PNG/JPEG renders of a test pattern (with planted PHI in their metadata).

    Frames listed in ``broken`` fail the way the real renderer fails (RenderError).
    """

    def __init__(self, kit: SimpleNamespace, broken: Sequence[int] = ()) -> None:
        self.kit = kit
        self.broken = set(broken)

    def key_image(self, case: Case, key: KeyImage, /) -> bytes:
        if key.frame in self.broken:
            raise RenderError("The stored image cannot be decoded.")
        pixels = self.kit.scene(400 + 60 * key.frame, 300, seed=key.frame)
        return self.kit.png_with_phi(pixels) if key.frame % 2 == 0 else self.kit.jpeg_with_phi(pixels)

    def pixel_spacing_mm(self, case: Case, key: KeyImage, /) -> float | None:
        return 0.7

    def stack_frames(
        self, case: Case, asset: Asset, window: Window | None, /, *, max_frames: int = 300, max_side: int = 768
    ) -> Sequence[bytes]:
        raise RenderError("not used by the handout")

    def stack_video(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        raise RenderError("not used by the handout")

    def stack_poster(self, case: Case, asset: Asset, window: Window | None, /) -> bytes:
        raise RenderError("not used by the handout")

    def dicom_instances(self, case: Case, asset: Asset, /) -> Iterator[tuple[Instance, bytes]]:
        raise RenderError("not used by the handout")


def bundle_of(
    cases: Sequence[Case], *, reveal: bool = False, title: str = "Tumor board, Thu 26 Nov"
) -> ConferenceBundle:
    conference = Conference(
        id="conf1",
        title=title,
        kind=ConferenceKind.UNKNOWN_CASE_QUIZ if reveal else ConferenceKind.TUMOR_BOARD,
        date=dt.date(2026, 11, 26),
        items=tuple(CasePlan(c.id, reveal=reveal) for c in cases),
    )
    return ConferenceBundle(conference, tuple(cases))


def two_cases(kit: SimpleNamespace) -> list[Case]:
    first = kit.make_case(images=3, captions=("Apical mass", "", "Rib erosion"))
    second = kit.make_case(
        images=1, title="Pancreatic head lesion with double duct sign", diagnosis="Pancreatic adenocarcinoma"
    )
    from dataclasses import replace

    return [first, replace(second, id="case2")]


def page_texts(pdf: Path) -> list[str]:
    """The text of each page, as pdftotext extracts it (form feed between pages)."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def render(pdf: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(pdf), str(out_dir / "p")], check=True, capture_output=True)
    return sorted(out_dir.glob("p-*.png"))


def pdf_info(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_every_page_renders_with_content_and_the_case_titles_are_searchable(
    tmp_path: Path, kit: SimpleNamespace
) -> None:
    cases = two_cases(kit)
    pdf = export_conference_pdf(bundle_of(cases), SceneMedia(kit), tmp_path / "handout.pdf")

    pages = render(pdf, tmp_path / "pages")
    assert len(pages) >= 2
    assert not [p.name for p in pages if is_blank(p)]
    text = " ".join(" ".join(page_texts(pdf)).split())
    for case in cases:
        assert case.title in text
        assert case.diagnosis in text
    assert "Apical mass" in text and "W 400 / L 40" in text  # captions with their windows
    assert "Check the lung apices on every chest radiograph." in text
    texts = page_texts(pdf)
    first_of_case2 = next(n for n, t in enumerate(texts) if "Pancreatic head lesion" in t)
    assert first_of_case2 >= 1 and "Right apical mass" not in texts[first_of_case2]  # each case on its own page


def test_a_quiz_case_keeps_its_answer_off_the_page_with_the_images(tmp_path: Path, kit: SimpleNamespace) -> None:
    case = kit.make_case(images=2)
    pdf = export_conference_pdf(bundle_of([case], reveal=True), SceneMedia(kit), tmp_path / "quiz.pdf")

    texts = page_texts(pdf)
    with_history = next(t for t in texts if "58-year-old smoker" in t)
    assert "Pancoast" not in with_history
    assert any("Superior sulcus (Pancoast) tumour" in t and "answer" in t for t in texts)


def test_metadata_names_the_conference_and_casedeck_only(tmp_path: Path, kit: SimpleNamespace) -> None:
    pdf = export_conference_pdf(bundle_of(two_cases(kit)), SceneMedia(kit), tmp_path / "handout.pdf")

    info = pdf_info(pdf)
    assert info["Title"] == "Tumor board, Thu 26 Nov"
    assert info["Author"] == "CaseDeck"
    assert info["Producer"] == "CaseDeck" and info["Creator"] == "CaseDeck"
    raw = pdf.read_bytes()
    everything = raw.decode("latin-1") + " ".join(info.values()) + " ".join(page_texts(pdf))
    for phi in kit.FAKE_PHI:
        assert phi not in everything
    for machine in (Path.home().name, Path.cwd().name, str(tmp_path)):
        assert machine.encode() not in raw


def test_the_same_conference_gives_the_same_bytes(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = export_conference_pdf(bundle_of(two_cases(kit)), SceneMedia(kit), tmp_path / "a.pdf")
    b = export_conference_pdf(bundle_of(two_cases(kit)), SceneMedia(kit), tmp_path / "b.pdf")
    assert a.read_bytes() == b.read_bytes()


def test_an_image_that_cannot_be_rendered_prints_as_unavailable(tmp_path: Path, kit: SimpleNamespace) -> None:
    pdf = export_conference_pdf(bundle_of([kit.make_case(images=2)]), SceneMedia(kit, broken=[1]), tmp_path / "h.pdf")

    text = " ".join(page_texts(pdf))
    assert "Image unavailable" in text
    assert "Figure 2" in text and "Figure 1" in text


def test_a_case_without_key_images_says_so(tmp_path: Path, kit: SimpleNamespace) -> None:
    pdf = export_conference_pdf(bundle_of([kit.make_case(images=0)]), SceneMedia(kit), tmp_path / "h.pdf")
    assert "No key images selected." in " ".join(page_texts(pdf))


@pytest.mark.parametrize("layout", pdf_handout.LAYOUTS)
def test_long_rtl_and_unbroken_text_neither_crash_nor_leave_pages_blank(
    tmp_path: Path, kit: SimpleNamespace, layout: str
) -> None:
    from dataclasses import replace

    case = replace(
        kit.make_case(images=3, captions=("ש" * 10 + " long caption " * 40, "", "")),
        title="تضخم الغدة الدرقية — גוש בבלוטת התריס — 甲状腺腫",
        history=("A very long history sentence about the presentation. " * 350).strip(),
        findings="x" * 3000,
        teaching_points=tuple(f"Point {n}: " + "עברית ועربية " * 20 for n in range(30)),
    )
    pdf = export_conference_pdf(bundle_of([case]), SceneMedia(kit), tmp_path / f"{layout}.pdf", layout=layout)

    pages = render(pdf, tmp_path / "pages")
    assert pages and not [p.name for p in pages if is_blank(p)]
    assert "A very long history sentence" in " ".join(page_texts(pdf))


def test_slides_per_page_layouts_put_several_slides_on_a_page(tmp_path: Path, kit: SimpleNamespace) -> None:
    cases = two_cases(kit)
    counts = {}
    for layout in pdf_handout.LAYOUTS:
        pdf = export_conference_pdf(bundle_of(cases), SceneMedia(kit), tmp_path / f"{layout}.pdf", layout=layout)
        counts[layout] = int(pdf_info(pdf)["Pages"])
        assert cases[1].title in " ".join(" ".join(page_texts(pdf)).split())
    # case 1: title, history, 3 images, answer = 6 panels; case 2: 4 panels; each case starts a page
    assert counts == {"case-per-page": 2, "slides-2-per-page": 3 + 2, "slides-6-per-page": 1 + 1}


def test_without_dejavu_the_handout_falls_back_to_helvetica(
    tmp_path: Path, kit: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_handout, "DEJAVU_DIR", tmp_path / "no-fonts")
    from dataclasses import replace

    case = replace(kit.make_case(images=1), title="Café au lait spots — גוש")
    pdf = export_conference_pdf(bundle_of([case]), SceneMedia(kit), tmp_path / "h.pdf")

    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert "Helvetica" in fonts and "DejaVu" not in fonts
    assert "Café au lait spots" in " ".join(page_texts(pdf))


def test_bad_requests_are_refused_plainly_and_cancel_leaves_nothing(tmp_path: Path, kit: SimpleNamespace) -> None:
    bundle = bundle_of([kit.make_case(images=2)])
    with pytest.raises(ExportError, match="layout"):
        export_conference_pdf(bundle, SceneMedia(kit), tmp_path / "h.pdf", layout="poster")
    with pytest.raises(ExportError, match=r"\.pdf"):
        export_conference_pdf(bundle, SceneMedia(kit), tmp_path / "h.docx")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        export_conference_pdf(bundle, SceneMedia(kit), tmp_path / "h.pdf", cancel=token)
    assert list(tmp_path.iterdir()) == []


def test_progress_ends_complete(tmp_path: Path, kit: SimpleNamespace) -> None:
    seen: list[tuple[int, int]] = []
    export_conference_pdf(
        bundle_of(two_cases(kit)), SceneMedia(kit), tmp_path / "h.pdf", progress=lambda d, t, m: seen.append((d, t))
    )
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
