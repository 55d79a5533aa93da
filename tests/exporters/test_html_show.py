"""The offline HTML presentation as a file: what is in it, what never is, and how export fails safely.

The browser behaviour (keys, wheel, cine, layout) is in test_html_browser.py.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from casefiles.errors import Cancelled, ExportError
from casefiles.model import CasePlan, KeyImage, Window
from casefiles.progress import CancelToken
from exporters.html_show import MAX_STACK_FRAMES, STACK_SIDE, export_conference_html, render_conference_html
from tests.exporters.html_media import (
    QUIZ_DIAGNOSIS,
    SCRIPT_TEXT,
    ArrayMedia,
    bundle_of,
    identifiers,
    pancoast_case,
    series,
    text_only_case,
    two_case_bundle,
)

_SECTION = re.compile(r'<section class="slide[^"]*" data-kind="(\w+)">(.*?)</section>', re.S)
_DATA_URI = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)")


def slides(document: str) -> list[tuple[str, str]]:
    """(kind, visible text) of every slide, in order."""
    out = []
    for kind, body in _SECTION.findall(document):
        visible = re.sub(r"<script.*?</script>", "", body, flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", " ", visible))
        out.append((kind, " ".join(text.split())))
    return out


def stack_frames(document: str) -> list[list[str]]:
    return [json.loads(m) for m in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', document, re.S)]


def decoded_images(document: str) -> list[bytes]:
    return [base64.b64decode(data) for _, data in _DATA_URI.findall(document)]


def export(tmp_path: Path, bundle=None, media=None, name: str = "show.html", **kw) -> str:  # type: ignore[no-untyped-def]
    path = export_conference_html(bundle or two_case_bundle(), media or ArrayMedia(), tmp_path / name, **kw)
    return path.read_text(encoding="utf-8")


def test_one_file_references_nothing_outside_itself(tmp_path: Path) -> None:
    document = export(tmp_path)
    assert "http://" not in document and "https://" not in document
    assert 'src="/' not in document and "url(" not in document and "@import" not in document
    assert re.findall(r'\bsrc="([^"]*)"', document)  # the key images are there...
    assert all(src.startswith("data:image/") for src in re.findall(r'\bsrc="([^"]*)"', document))  # ...inline
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', document)
    assert policy is not None and "default-src 'none'" in policy.group(1)
    assert [p.name for p in tmp_path.iterdir()] == ["show.html"]  # no side files, no leftovers


def test_slides_follow_the_deck_plan_and_reveal_the_answer_only_after_the_images(tmp_path: Path) -> None:
    shown = slides(export(tmp_path, two_case_bundle()))
    kinds = [kind for kind, _ in shown]
    texts = [text for _, text in shown]
    assert "Thoracic tumor board" in texts[0] and "Thursday 26 November 2026" in texts[0]
    assert "Dr A. Presenter" in texts[0]
    assert "Right apical mass eroding the first rib" in texts[1] and "Case 2 — CT · Abdomen" in texts[1]
    assert "Wedge-shaped" not in texts[1]  # the quiz case's title would give the answer away
    # Case 1: divider, history, two key images, its series as a stack, findings and diagnosis, teaching points.
    assert kinds[2:9] == ["divider", "text", "image", "image", "stack", "text", "text"]
    assert "Apical mass, soft-tissue window" in texts[4] and "W 400 / L 40" in texts[4]
    assert "Axial CT — image 2 of 2" in texts[5] and "W 1500 / L -600" in texts[5]
    assert "Slice 4 / 40" in texts[6]  # the stack opens at the first key image's slice
    assert "Superior sulcus (Pancoast) tumour" in texts[7] and "Teaching points" in texts[8]
    # Case 2 (reveal): nothing before the answer slide names the diagnosis or the title.
    assert kinds[9:14] == ["divider", "text", "image", "text", "text"]
    answer = next(i for i, text in enumerate(texts) if QUIZ_DIAGNOSIS in text)
    assert answer == 12 and texts[12].startswith("Case 2 of 2 Answer Wedge-shaped splenic defect")
    assert all("Wedge-shaped splenic" not in text for text in texts[:answer])
    assert kinds[-1] == "divider" and "Questions?" in texts[-1] and len(shown) == 15


def test_case_text_is_escaped_not_markup(tmp_path: Path) -> None:
    hostile = '"><img src=x onerror=alert(2)>'
    case = pancoast_case().edited(title=f"Mass {hostile}")
    bundle = bundle_of((case, CasePlan(case.id)), title=f"Board {SCRIPT_TEXT}")
    document = export(tmp_path, bundle)
    assert SCRIPT_TEXT not in document and hostile not in document
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert document.count("<script") == 1  # only the presentation's own script
    assert all(SCRIPT_TEXT in text for _, text in slides(document)[3:4])  # shown as text on the history slide


def test_no_ids_and_no_image_metadata_reach_the_file(tmp_path: Path, kit: SimpleNamespace) -> None:
    bundle = two_case_bundle()

    class LeakyMedia(ArrayMedia):
        """Images carrying fake PHI in PNG text chunks, EXIF, comments and trailers."""

        def key_image(self, case, key, /):  # type: ignore[no-untyped-def]
            pixels = kit.scene(500, 400, seed=key.frame)
            return kit.png_with_phi(pixels) if key.frame % 2 == 0 else kit.jpeg_with_phi(pixels)

        def stack_frames(self, case, asset, window, /, *, max_frames=300, max_side=768):  # type: ignore[no-untyped-def]
            return [kit.jpeg_with_phi(kit.scene(200, 200, seed=i)) for i in range(5)]

    document = export(tmp_path, bundle, LeakyMedia())
    for identifier in identifiers(bundle):
        assert identifier not in document
    images = decoded_images(document)  # key images and stack frames alike
    assert len(images) == 3 + 5
    for data in images:
        assert not any(phi.encode() in data for phi in kit.FAKE_PHI)
        Image.open(io.BytesIO(data)).load()  # still a valid image


def test_image_the_source_cannot_render_becomes_a_placeholder(tmp_path: Path) -> None:
    bundle = two_case_bundle()
    media = ArrayMedia(
        failing_keys=frozenset({("case-pancoast-93f", 20)}), failing_stacks=frozenset({"asset-pancoast-7c1"})
    )
    shown = slides(export(tmp_path, bundle, media))
    assert "Image unavailable" in shown[5][1] and "Axial CT — image 2 of 2" in shown[5][1]
    assert "Image unavailable" not in shown[4][1]
    assert "Series unavailable" in shown[6][1]
    assert len(shown) == 15


def test_case_without_images_gets_a_text_slide(tmp_path: Path) -> None:
    case = text_only_case()
    document = export(tmp_path, bundle_of((case, CasePlan(case.id, stacks=True))))
    shown = slides(document)
    assert [kind for kind, _ in shown] == ["title", "text", "divider", "text", "text", "text", "divider"]
    assert "Key images" in shown[4][1] and "No key images selected." in shown[4][1]
    assert "Sarcoidosis" in shown[5][1]
    assert "<img" not in document and "<canvas" not in document


def test_empty_conference_still_exports(tmp_path: Path) -> None:
    shown = slides(export(tmp_path, bundle_of()))
    assert [kind for kind, _ in shown] == ["title", "text", "divider"]
    assert "No cases in this conference" in shown[1][1]


def test_thousand_slice_stack_is_sampled_to_a_small_file(tmp_path: Path) -> None:
    big = pancoast_case().edited(
        assets=(series("asset-big", 1000),), key_images=(KeyImage("asset-big", frame=500, window=Window(40, 400)),)
    )
    bundle = bundle_of((big, CasePlan(big.id, stacks=True)))
    polite = ArrayMedia(frame_side=96)
    document = export(tmp_path, bundle, polite)
    assert polite.stack_calls and all(f <= MAX_STACK_FRAMES and s <= STACK_SIDE for f, s in polite.stack_calls)
    (frames,) = stack_frames(document)
    assert len(frames) == MAX_STACK_FRAMES
    # Sampled slice 76 is slice 504 of 1000, the nearest to the key image (slice 501): the viewer opens there.
    assert "Slice 76 / 150" in slides(document)[5][1]

    # A source that ignores the limits is sampled, and scaled down, anyway.
    rude = ArrayMedia(ignore_limits=True, frame_side=48)
    (frames,) = stack_frames(export(tmp_path, bundle, rude, name="rude.html"))
    assert len(frames) == MAX_STACK_FRAMES
    small = pancoast_case().edited(
        assets=(series("asset-pancoast-7c1", 3),), key_images=(KeyImage("asset-pancoast-7c1"),)
    )
    oversized = ArrayMedia(ignore_limits=True, frame_side=700)
    (frames,) = stack_frames(export(tmp_path, bundle_of((small, CasePlan(small.id, stacks=True))), oversized))
    sizes = [Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size for uri in frames]
    assert sizes == [(STACK_SIDE, STACK_SIDE)] * 3


def test_long_unicode_and_rtl_text_continues_on_further_slides(tmp_path: Path) -> None:
    paragraph = "Progressive dyspnoea over eighteen months with weight loss and night sweats. " * 6
    history = "\n".join(
        [paragraph] * 8 + ["مريض يبلغ من العمر ٥٨ عامًا يعاني من ألم في الكتف", "肺尖部腫瘤 🫁", "\x00\ud800"]
    )
    case = text_only_case(history=history, title="ΤΊΤΛΟΣ " + "VERY LONG TITLE " * 18)
    shown = slides(export(tmp_path, bundle_of((case, CasePlan(case.id)))))
    history_slides = [text for kind, text in shown if "Clinical history" in text]
    assert len(history_slides) >= 3
    assert all("Clinical history (continued)" in text for text in history_slides[1:])
    assert "ألم في الكتف" in history_slides[-1] and "🫁" in history_slides[-1]
    assert "…" in shown[2][1]  # the over-long title is cut to fit its slide


def test_same_conference_gives_the_same_bytes(tmp_path: Path) -> None:
    first = export(tmp_path, name="a.html")
    second = export(tmp_path, name="b.html")
    assert first == second
    assert render_conference_html(two_case_bundle(), ArrayMedia()) == first


def test_progress_counts_every_slide_then_the_save(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    export(tmp_path, progress=lambda done, total, _: calls.append((done, total)))
    total = calls[0][1]
    assert [done for done, _ in calls] == list(range(1, total + 1))
    assert {t for _, t in calls} == {total}


def test_cancel_leaves_no_file_and_keeps_an_older_one(tmp_path: Path) -> None:
    out = tmp_path / "show.html"
    out.write_text("older presentation")
    token = CancelToken()

    def progress(done: int, total: int, message: str) -> None:
        if done == 4:
            token.cancel()

    with pytest.raises(Cancelled):
        export_conference_html(two_case_bundle(), ArrayMedia(), out, progress=progress, cancel=token)
    assert out.read_text() == "older presentation"
    assert [p.name for p in tmp_path.iterdir()] == ["show.html"]


@pytest.mark.parametrize(
    ("name", "message"),
    [("show.pptx", "the .html extension"), ("missing/show.html", "does not exist"), ("folder.html", "is a folder")],
)
def test_unusable_destination_is_refused_with_a_plain_message(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(ExportError, match=message):
        export_conference_html(two_case_bundle(), ArrayMedia(), tmp_path / name)


def test_wrong_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="conference bundle"):
        export_conference_html(object(), ArrayMedia(), tmp_path / "x.html")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="media source"):
        export_conference_html(two_case_bundle(), object(), tmp_path / "x.html")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_media_source_cancelling_propagates(tmp_path: Path) -> None:
    class Cancelling(ArrayMedia):
        def key_image(self, case, key, /):  # type: ignore[no-untyped-def]
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        export(tmp_path, media=Cancelling())
    assert not list(tmp_path.iterdir())


def test_image_of_the_wrong_kind_is_a_placeholder_not_a_crash(tmp_path: Path) -> None:
    class Garbage(ArrayMedia):
        def key_image(self, case, key, /):  # type: ignore[no-untyped-def]
            return b"not an image"

        def pixel_spacing_mm(self, case, key, /):  # type: ignore[no-untyped-def]
            return float("nan")

    shown = slides(export(tmp_path, media=Garbage()))
    assert sum("Image unavailable" in text for _, text in shown) == 3


def test_large_png_key_images_are_kept_small(tmp_path: Path) -> None:
    class Huge(ArrayMedia):
        def key_image(self, case, key, /):  # type: ignore[no-untyped-def]
            import numpy as np

            noise = np.random.default_rng(key.frame).integers(0, 255, (1600, 2400), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(noise).save(buf, format="PNG")
            return buf.getvalue()

    document = export(tmp_path, media=Huge())
    for data in decoded_images(document):
        with Image.open(io.BytesIO(data)) as im:
            assert max(im.size) <= 1920
        assert len(data) < 2_500_000


def test_many_key_images_go_four_to_a_slide_like_the_deck(tmp_path: Path) -> None:
    case = pancoast_case()
    keys = tuple(KeyImage("asset-pancoast-7c1", frame=i, caption=f"Level {i + 1}") for i in range(6))
    case = case.edited(key_images=keys)
    media = ArrayMedia(failing_keys=frozenset({(case.id, 2)}))
    document = export(tmp_path, bundle_of((case, CasePlan(case.id))), media)
    grids = [text for kind, text in slides(document) if kind == "grid"]
    assert len(grids) == 2
    assert all(f"Level {i}" in grids[0] for i in (1, 2, 3, 4)) and "Image unavailable" in grids[0]
    assert "Level 5" in grids[1] and "Level 6" in grids[1]
    assert document.count("<img ") == 5
