"""Seed the library with the shipped sample studies and their authored teaching content.

The samples go through the same import and de-identification as any other
study (their fake PHI is there to show it working). ``sample_data/cases.json``
holds what a radiologist wrote for each: title, history, findings, diagnosis,
differential, teaching points, tags and key images as (series number order,
frame, optional window), and the media a tumour board adds to a case (photos,
a clip, a PDF, PowerPoint slides), whose fake PHI sits in their metadata for
the media import to scrub.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from casefiles.errors import CaseDeckError, NotFoundError, StorageError, ValidationError
from casefiles.model import Asset, AssetKind, Case, Difficulty, KeyImage, Window
from casefiles.services import Services
from casefiles.visibility import Sharing, Visibility

SAMPLE_ROOT = Path(__file__).resolve().parent.parent / "sample_data"
SEEDED_FLAG = "samples_seeded"
#: Meta key prefix naming the case(s) of a sample whose import started but whose content and media
#: are not all in yet; a later start deletes them and imports that sample again.
PENDING_FLAG = "samples_pending"
#: The file whose lock one seeding at a time holds, across processes (app, CLI, a second app).
LOCK_NAME = "seeding.lock"
#: How long a second seeding waits for the first before giving up with a message.
LOCK_WAIT_S = 15 * 60.0


def seed_samples(services: Services, *, force: bool = False, root: Path = SAMPLE_ROOT) -> list[str]:
    """Import every sample study once per data directory; return the new case ids.

    Each sample goes in exactly once, whoever asks and however often: one seeding at a time holds
    a lock file in the data directory (the app, ``python -m casefiles seed`` and a second app
    process wait for each other, and the later one finds the samples in), every sample is flagged
    as soon as it is complete, and a sample left half-done by an interrupted start is removed and
    imported again. A process started by ``multiprocessing`` that imports the parent's main script
    again (the import's fork server re-running ``app.py``) never seeds: its parent does.
    """
    if _reimported_by_multiprocessing():
        return []
    if not force and services.store.get_meta(SEEDED_FLAG):
        return []
    with _seeding_lock(services.settings.data_dir / LOCK_NAME):
        if not force and services.store.get_meta(SEEDED_FLAG):
            return []  # another process seeded while this one waited
        return _seed_locked(services, force=force, root=root)


def _seed_locked(services: Services, *, force: bool, root: Path) -> list[str]:
    manifest_path = root / "cases.json"
    if not manifest_path.is_file():
        raise ValidationError("The sample cases are missing (sample_data/cases.json not found).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError("The sample case list (sample_data/cases.json) is unreadable.") from exc
    created: list[str] = []
    for entry in manifest["cases"]:
        # One flag per study, set as soon as it is complete: a first start interrupted half-way resumes
        # where it stopped instead of importing the earlier samples a second time.
        study_flag = f"{SEEDED_FLAG}:{entry['study']}"
        if not force and services.store.get_meta(study_flag):
            continue
        study_dir = root / "studies" / entry["study"]
        media = _media_of(entry, root)  # a broken manifest stops here, before anything is imported
        _remove_unfinished(services, entry["study"])
        pending_flag = f"{PENDING_FLAG}:{entry['study']}"
        report = services.import_dicom([study_dir], title=entry["title"], author=entry.get("author", ""))
        # Interrupted before this line, the next start's import finds the study in the library and
        # names the same case (an import merges a study it already holds), still without media.
        services.store.set_meta(pending_flag, ",".join(report.case_ids))
        for case_id in report.case_ids:
            case = services.get_case(case_id)
            services.store.save_case(_with_authored_content(services, case, entry))
            _add_media(services, case_id, media)
            created.append(case_id)
        services.store.set_meta(study_flag, "1")
        services.store.set_meta(pending_flag, "")
    services.store.set_meta(SEEDED_FLAG, "1")
    return created


def _remove_unfinished(services: Services, study: str) -> None:
    """Delete the case(s) an interrupted seeding left of this sample: some of its media may be in."""
    pending = services.store.get_meta(f"{PENDING_FLAG}:{study}") or ""
    for case_id in filter(None, pending.split(",")):
        with contextlib.suppress(NotFoundError):
            services.delete_case(case_id)
    services.store.set_meta(f"{PENDING_FLAG}:{study}", "")


def _reimported_by_multiprocessing() -> bool:
    """Whether this process is multiprocessing's copy of the parent's main script (a fork server or a
    spawned worker importing ``app.py`` as ``__mp_main__``), not a start of CaseDeck.

    multiprocessing marks the process as inheriting while it imports the main script there.
    """
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


@contextlib.contextmanager
def _seeding_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (waiting for another process or thread that holds it).

    ``flock`` locks belong to the open file, so two threads of one process wait for each other too;
    the lock goes with the process if it dies, so a killed start never blocks the next one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(
                        "Another CaseDeck process has been loading the sample cases for a long time; "
                        f"if none is running, delete {path} and start again."
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _series_in_order(services: Services, case: Case) -> list[Asset]:
    """The case's DICOM series ordered by SeriesNumber, as the manifest counts them."""

    def series_number(asset: Asset) -> int:
        try:
            return int(services.dataset(asset.instances[0].blob).get("SeriesNumber", 0) or 0)
        except (CaseDeckError, ValueError, TypeError):
            return 0

    series = [a for a in case.assets if a.kind is AssetKind.DICOM_SERIES]
    return sorted(series, key=series_number)


#: The sample cases belong to nobody in particular and every signed-in user sees them.
SAMPLE_SHARING = Sharing("", Visibility.DEPARTMENT)


def _with_authored_content(services: Services, case: Case, entry: Mapping[str, Any]) -> Case:
    series = _series_in_order(services, case)
    keys: list[KeyImage] = []
    for key in entry.get("key_images", ()):
        index = int(key.get("series", 0))
        if not 0 <= index < len(series):
            raise ValidationError("A sample key image points at a series that was not imported.")
        asset = series[index]
        window = key.get("window")
        keys.append(
            KeyImage(
                asset_id=asset.id,
                frame=min(int(key.get("frame", 0)), asset.frame_count - 1),
                window=Window(float(window["center"]), float(window["width"])) if window else None,
                caption=str(key.get("caption", "")),
            )
        )
    return case.edited(
        title=entry["title"],
        history=entry.get("history", ""),
        findings=entry.get("findings", ""),
        diagnosis=entry.get("diagnosis", ""),
        differential=tuple(entry.get("differential", ())),
        teaching_points=tuple(entry.get("teaching_points", ())),
        tags=tuple(entry.get("tags", ())),
        modality=entry.get("modality", case.modality),
        body_part=entry.get("body_part", case.body_part),
        difficulty=Difficulty(entry.get("difficulty", "")),
        author=entry.get("author", ""),
        key_images=tuple(keys),
        sharing=SAMPLE_SHARING,  # teaching material for everyone who signs in
    )


@dataclass(frozen=True, slots=True)
class _SampleMedia:
    """One file of a case's ``media`` list in cases.json."""

    path: Path
    caption: str
    key_image: bool
    pages: tuple[int, ...]
    slides: tuple[int, ...]


def _media_of(entry: Mapping[str, Any], root: Path) -> list[_SampleMedia]:
    """The entry's media files, checked to exist under ``root`` before its study is imported."""
    media: list[_SampleMedia] = []
    for item in entry.get("media", ()):
        relative = PurePosixPath(str(item["file"]))
        if relative.is_absolute() or ".." in relative.parts:
            raise ValidationError("A sample media file must lie inside sample_data (check cases.json).")
        path = root / relative
        if not path.is_file():
            raise ValidationError(
                "A sample media file is missing; regenerate the samples with python -m sample_data.generate."
            )
        media.append(
            _SampleMedia(
                path=path,
                caption=str(item.get("caption", "")),
                key_image=bool(item.get("key_image", False)),
                pages=tuple(int(n) for n in item.get("pages", ())),
                slides=tuple(int(n) for n in item.get("slides", ())),
            )
        )
    return media


def _add_media(services: Services, case_id: str, media: Sequence[_SampleMedia]) -> None:
    """Add each file through the ordinary media import, then caption it, add PDF pages, choose slides.

    Files go in one at a time so each result pairs with its manifest entry. A file
    the import refuses (for example when a tool it needs is missing) is left out:
    the case still opens with everything else rather than blocking the first start.
    """
    for item in media:
        report = services.import_media(case_id, [item.path])
        if not report.asset_ids:
            continue
        asset_id = report.asset_ids[0]
        if item.caption:
            services.set_asset_caption(case_id, asset_id, item.caption)
        if item.pages:
            services.add_pdf_pages(case_id, asset_id, item.pages)
        if item.slides:
            services.choose_slides(case_id, asset_id, item.slides)
        if item.key_image:
            case = services.get_case(case_id)
            key = KeyImage(asset_id=asset_id, frame=0, window=None, caption=item.caption)
            services.set_key_images(case_id, (*case.key_images, key))
