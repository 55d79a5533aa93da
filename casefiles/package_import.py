"""Import a teaching-file package (from ``exporters.package``) into the library, trusting none of it.

A package may come from another installation, or have been altered on the
way: it is unpacked with the import's zip-safety rules into the quarantine,
its manifest is validated against the model, and every DICOM file goes
through the de-identifier again, every photo, video clip and PowerPoint deck
through the same scrubbing as an upload
(:func:`casefiles.media_import.scrub_media_file`). Because another installation's secret
remaps UIDs differently, instances are matched to the manifest by their
place in the series (the file order the exporter wrote), never by UID.

Decisions: a recreated case has no study keys (packages do not carry them:
they are made with the exporting installation's secret and would never match
here), so importing a package never warns of a study already in the library,
and a study imported later is not matched to the package's case. A case or
conference keeps its id unless the library already has one with that id,
in which case it gets a new one (an import never overwrites). Series thumbnails are made anew from the re-de-identified
files; the package's pictures are not imported. An image that the
de-identifier suspects of burned-in text is marked for review here, whatever
the package said. Media items get their thumbnails and slide pictures made
anew from the scrubbed file, keep their label, caption and chosen slides,
and must be of the kind the manifest says (a deck posing as a photo is
refused). PDFs are never in a package (their text could name the patient);
a case's PDF is reported as left out.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pydicom

from casefiles.deid import Deidentifier
from casefiles.errors import (
    Cancelled,
    CaseDeckError,
    DeidentificationError,
    ImportFailure,
    NotFoundError,
    ReviewAreaError,
    StorageError,
    ValidationError,
)
from casefiles.imaging import thumbnail_png
from casefiles.ingest.grouping import summarize
from casefiles.ingest.quarantine import QuarantineFolder
from casefiles.ingest.reading import encode, is_directory, read_dataset, source_syntax
from casefiles.ingest.report import ImportProblem
from casefiles.ingest.zipsafe import DEFAULT_ZIP_LIMITS, MemberProblem, ZipLimits, unpack_zip
from casefiles.media_import import ScrubbedMedia, scrub_media_file
from casefiles.model import Asset, AssetKind, Case, CasePlan, Conference, Instance, Review, new_id
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.recheck import clean_case_text
from casefiles.review_area import PendingOriginals, ReviewShelf
from casefiles.store import BlobStore, CaseStore

__all__ = ["FORMAT_NAME", "SUPPORTED_VERSION", "PackageImportResult", "import_package"]

FORMAT_NAME = "casedeck-package"
SUPPORTED_VERSION = 1
MANIFEST_NAME = "manifest.json"
_PREFIX = "package › "
_MAX_MANIFEST_BYTES = 64 * 1024**2
_SAFETY_REFUSALS = ("unsafe path", "symbolic link")
#: Media kinds a package carries as files; a case's PDF never leaves the library it came from.
_CARRIED_MEDIA = frozenset({AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.SLIDE_DECK})
PDF_LEFT_OUT = (
    "a PDF is not carried by packages, because its text (a referral letter, a report) can name the patient "
    "and CaseDeck cannot check text. The PDF itself stays in the library it came from; pages added to the case "
    "as images are included"
)
_KIND_NAMES = {
    AssetKind.IMAGE: "an image",
    AssetKind.VIDEO: "a video clip",
    AssetKind.SLIDE_DECK: "a PowerPoint deck",
    AssetKind.DOCUMENT: "a PDF",
    AssetKind.DICOM_SERIES: "a DICOM series",
}


@dataclass(frozen=True, slots=True)
class PackageImportResult:
    """The cases and conference created, and what was left out and why (for the screen only)."""

    case_ids: tuple[str, ...]
    conference_id: str
    problems: tuple[ImportProblem, ...]


def import_package(
    path: Path,
    *,
    store: CaseStore,
    blobs: BlobStore,
    deidentifier: Deidentifier,
    quarantine_dir: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
    limits: ZipLimits = DEFAULT_ZIP_LIMITS,
    review_area: ReviewShelf | None = None,
) -> PackageImportResult:
    """Recreate the conference and cases of the package at ``path``, with freshly de-identified images.

    Raises :class:`~casefiles.errors.ImportFailure` when the file is not a
    package this version can read, is damaged or unsafe (nothing is saved);
    :class:`~casefiles.errors.Cancelled` if ``cancel`` fires (nothing saved;
    de-identified blobs written so far may stay, unreferenced). A series
    whose files are missing or cannot be made safe is left out of its case,
    with its key images, and reported in ``problems``; so is a media item
    whose file is missing, cannot be scrubbed or is not of its stated kind,
    and every PDF (packages do not carry them).
    """
    if not isinstance(path, str | Path):
        raise ValidationError("The package to import must be a file path.")
    source = Path(path)
    if not source.is_file():
        raise ImportFailure("The package file cannot be found; choose it again.")
    folder = QuarantineFolder(Path(quarantine_dir), "package-")
    work = folder.path
    run: _Import | None = None
    try:
        try:
            unpacked = unpack_zip(source, work / "members", limits=limits, cancel=cancel)
        except OSError as exc:  # its message would name the file
            raise ImportFailure(f"The package cannot be read or unpacked ({exc.strerror}).") from None
        _refuse_unsafe(unpacked.problems, has_files=bool(unpacked.files))
        members = {u.name: u.path for u in unpacked.files}
        manifest = _read_manifest(members)
        run = _Import(
            store,
            blobs,
            deidentifier,
            members,
            work / "media",
            cancel=cancel,
            progress=progress,
            review_area=review_area,
        )
        # members are named by position: an altered package could carry any names at all
        run.problems.extend(
            ImportProblem(
                "package" if p.number is None else f"{_PREFIX}file {p.number} of {unpacked.members_seen}", p.reason
            )
            for p in unpacked.problems
        )
        result = run.all(manifest)
        run.originals.settled()
        return result
    finally:
        folder.remove()
        if run is not None:
            run.originals.discard()  # a package import that did not finish leaves no original behind


# -- unpacking and the manifest ------------------------------------------------------------------


def _refuse_unsafe(problems: Sequence[MemberProblem], *, has_files: bool) -> None:
    """A package CaseDeck wrote never holds unsafe names or links: one that does was altered; refuse it."""
    for problem in problems:
        if problem.reason.startswith(_SAFETY_REFUSALS):
            raise ImportFailure(
                f"This package holds a file that could write outside its folder ({problem.reason}); "
                "packages written by CaseDeck never do, so it may have been altered. Nothing was imported."
            )
    if not has_files:
        reason = problems[0].reason if problems else "it is empty"
        raise ImportFailure(f"This package cannot be opened: {reason}.")


def _read_manifest(members: Mapping[str, Path]) -> dict[str, Any]:
    where = members.get(MANIFEST_NAME)
    if where is None:
        raise ImportFailure(f"This is not a CaseDeck teaching-file package: it has no {MANIFEST_NAME}.")
    if where.stat().st_size > _MAX_MANIFEST_BYTES:
        raise ImportFailure("The package's manifest is implausibly large; it was not imported.")
    try:
        manifest = json.loads(where.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailure("The package's manifest is damaged (it is not valid JSON); it was not imported.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ImportFailure("This zip is not a CaseDeck teaching-file package (its manifest names another format).")
    version = manifest.get("version")
    if version != SUPPORTED_VERSION:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > SUPPORTED_VERSION
        hint = "update CaseDeck to import it" if newer else "it cannot be imported"
        shown = version if isinstance(version, int) else "unknown"
        raise ImportFailure(
            f"This package is format version {shown}; this CaseDeck reads version {SUPPORTED_VERSION}, so {hint}."
        )
    return manifest


def _parse(manifest: Mapping[str, Any]) -> tuple[Conference, list[Case], dict[str, dict[str, Any]]]:
    """The conference, the cases and each case's file listing, validated by the model itself."""
    try:
        conference = Conference.from_dict(manifest["conference"])
        cases = [Case.from_dict(c) for c in manifest["cases"]]
        contents = {str(c["case_id"]): dict(c) for c in manifest.get("contents", ())}
    except ValidationError as exc:
        raise ImportFailure(f"The package's manifest describes something invalid: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImportFailure("The package's manifest is incomplete or damaged; it was not imported.") from exc
    if [c.id for c in cases] != list(conference.case_ids):
        raise ImportFailure("The package's manifest is inconsistent: its cases do not match its conference.")
    return conference, cases, contents


# -- de-identifying again -----------------------------------------------------------------------


# -- recreating cases ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Series:
    """A series rebuilt from the package: new instances in the manifest's order."""

    instances: tuple[Instance, ...]
    study_uid: str
    series_uid: str
    thumbnail: str | None


@dataclass(slots=True)
class _Import:
    """One package import: the library it writes to, the members unpacked, and the problems met."""

    store: CaseStore
    blobs: BlobStore
    deidentifier: Deidentifier
    members: Mapping[str, Path]
    workdir: Path
    cancel: CancelToken
    progress: ProgressFn
    review_area: ReviewShelf | None = None
    originals: PendingOriginals = field(init=False)  # what this import put in the review area
    problems: list[ImportProblem] = field(default_factory=list)
    done: int = 0
    total: int = 1
    media_count: int = 0

    def __post_init__(self) -> None:
        self.originals = PendingOriginals(self.review_area)

    def all(self, manifest: Mapping[str, Any]) -> PackageImportResult:
        conference, cases, contents = _parse(manifest)
        self.total = 1 + sum(
            len(files) if isinstance(files := s.get("files"), list) else 0
            for c in contents.values()
            for s in _listed(c, "series")
        )
        self.total += sum(1 for c in contents.values() for _ in _listed(c, "media"))
        self.progress(0, self.total, "Importing the package")
        rebuilt: list[Case] = []
        plans: list[CasePlan] = []
        for number, (case, plan) in enumerate(zip(cases, conference.items, strict=True), 1):
            new_case, new_plan = self.case(number, case, plan, contents.get(case.id, {}))
            rebuilt.append(new_case)
            plans.append(new_plan)
        self.cancel.raise_if_cancelled()
        conference_id = conference.id if not self._conference_exists(conference.id) else new_id()
        new_conference = replace(conference, id=conference_id, items=tuple(plans))
        for case in rebuilt:
            self.store.save_case(case)
        self.store.save_conference(new_conference)
        self.progress(self.total, self.total, "Package imported")
        return PackageImportResult(tuple(c.id for c in rebuilt), conference_id, tuple(self.problems))

    def case(self, number: int, case: Case, plan: CasePlan, contents: Mapping[str, Any]) -> tuple[Case, CasePlan]:
        listing = {str(s.get("asset_id")): s for s in _listed(contents, "series")}
        media = {str(m.get("asset_id")): m for m in _listed(contents, "media")}
        assets: list[Asset] = []
        dropped: set[str] = set()
        series_number = 0
        for position, asset in enumerate(case.assets, 1):
            self.cancel.raise_if_cancelled()
            if asset.kind is not AssetKind.DICOM_SERIES:
                item = self.media_item(f"case {number}, item {position}", asset, media.get(asset.id))
                if item is None:
                    dropped.add(asset.id)
                else:
                    assets.append(item)
                continue
            series_number += 1
            series = self.series(number, series_number, asset, listing.get(asset.id))
            if series is None:
                dropped.add(asset.id)
                continue
            assets.append(
                replace(
                    asset,
                    instances=series.instances,
                    study_uid=series.study_uid,
                    series_uid=series.series_uid,
                    thumbnail=series.thumbnail,
                )
            )
        kept = [n for n, k in enumerate(case.key_images) if k.asset_id not in dropped]
        new_index = {old: new for new, old in enumerate(kept)}
        case_id = case.id if not self._case_exists(case.id) else new_id()
        try:
            new_case = replace(
                case,
                id=case_id,
                assets=tuple(assets),
                key_images=tuple(case.key_images[n] for n in kept),
                text_rules=0,  # whatever the manifest claims: its title and labels are cleaned here
                # Study keys are made with one installation's secret; a package carries none, and any an
                # altered one claims are dropped: the recreated case is never taken for a re-imported study.
                study_keys=(),
            )
            new_case, _changed = clean_case_text(new_case)
        except ValidationError as exc:
            raise ImportFailure(f"Case {number} of the package cannot be recreated: {exc}") from exc
        picked = None if plan.key_images is None else tuple(new_index[i] for i in plan.key_images if i in new_index)
        return new_case, replace(plan, case_id=case_id, key_images=picked)

    def series(
        self, number: int, series_number: int, asset: Asset, listing: Mapping[str, Any] | None
    ) -> _Series | None:
        """The series' files de-identified and stored in the manifest's order, or None (reported) if it fails."""
        files = listing.get("files") if listing is not None else None
        if listing is None or not isinstance(files, list) or not files:
            self._problem(number, series_number, "its files are not in the package; the series was left out")
            return None
        if listing.get("complete") is not True or len(files) != len(asset.instances):
            self._problem(number, series_number, "the package holds only part of it; the series was left out")
            self._advance(len(files))
            return None
        instances: list[Instance] = []
        encoded: list[bytes] = []
        uids: tuple[str, str] = ("", "")
        for index, (name, described) in enumerate(zip(files, asset.instances, strict=True)):
            self.cancel.raise_if_cancelled()
            where = self.members.get(name) if isinstance(name, str) else None
            result = self._instance(where, described)
            self._advance(1)
            if isinstance(result, str):
                self._problem(number, series_number, f"file {index + 1}: {result}; the series was left out")
                self._advance(len(files) - index - 1)
                return None
            instance, data, study_uid, series_uid = result
            if uids == ("", ""):
                uids = (study_uid, series_uid)
            instances.append(instance)
            encoded.append(data)
        frames = sum(i.frames for i in instances)
        if frames != asset.frame_count:
            self._problem(number, series_number, "its images do not match the manifest; the series was left out")
            return None
        return _Series(tuple(instances), uids[0], uids[1], self._thumbnail(encoded[len(encoded) // 2]))

    def media_item(self, item: str, asset: Asset, listing: Mapping[str, Any] | None) -> Asset | None:
        """The asset with its file scrubbed again and stored, or None (reported) if it cannot be."""
        if asset.kind not in _CARRIED_MEDIA:
            self._report(item, PDF_LEFT_OUT if asset.kind is AssetKind.DOCUMENT else "it cannot be carried; left out")
            return None
        name = listing.get("path") if listing is not None else None
        where = self.members.get(name) if isinstance(name, str) else None
        if where is None:
            self._advance(1 if listing is not None else 0)
            self._report(item, f"the file of {_KIND_NAMES[asset.kind]} is not in the package; left out")
            return None
        self.media_count += 1
        folder = self.workdir / f"{self.media_count:06d}"
        try:
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise StorageError(
                    f"The quarantine folder cannot be written ({exc.strerror}); is the disk full?"
                ) from exc
            result = self._scrub(where, folder, asset)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self._advance(1)
        if isinstance(result, str):
            self._report(item, f"{result}; left out")
            return None
        scrubbed, chosen = result
        if len(chosen) < len(asset.chosen):
            missing = ", ".join(str(n + 1) for n in asset.chosen if n not in chosen)
            self._report(item, f"the deck has no slide {missing}, chosen for the conference; not chosen any more")
        return replace(
            asset,
            blob=self.blobs.put(scrubbed.data),
            media_type=scrubbed.media_type,
            thumbnail=self.blobs.put(scrubbed.thumbnail) if scrubbed.thumbnail else None,
            previews=tuple(self.blobs.put(p) for p in scrubbed.previews),
            chosen=chosen,
        )

    def _scrub(self, where: Path, folder: Path, asset: Asset) -> tuple[ScrubbedMedia, tuple[int, ...]] | str:
        """The member scrubbed like an upload, and the chosen slides that exist; or why not (never data)."""
        try:
            scrubbed = scrub_media_file(where, folder, self.cancel)
            if scrubbed.kind is not asset.kind:
                return (
                    f"the package holds {_KIND_NAMES[scrubbed.kind]} where the case has "
                    f"{_KIND_NAMES[asset.kind]}, so it may have been altered"
                )
            chosen = asset.chosen
            if asset.kind is AssetKind.SLIDE_DECK and chosen:
                from casefiles.media.slides import inspect_deck

                deck = folder / "scrubbed.pptx"
                deck.write_bytes(scrubbed.data)
                count = inspect_deck(deck).slide_count
                chosen = tuple(n for n in chosen if n < count)
        except (Cancelled, StorageError):
            raise
        except CaseDeckError as exc:
            return str(exc).rstrip(".")
        except Exception:  # a damaged file met inside a library: the package's fault, not ours
            return f"{_KIND_NAMES[asset.kind]} in the package is damaged and could not be made safe to store"
        return scrubbed, chosen

    def _instance(self, where: Path | None, described: Instance) -> tuple[Instance, bytes, str, str] | str:
        """One file read, de-identified again and stored; or why not (never with data from the file)."""
        if where is None:
            return "it is missing from the package"
        try:
            original = read_dataset(where.read_bytes())
            if is_directory(original):
                return "it is a disc index, not an image"
            fallback = source_syntax(original)
            result = self.deidentifier.deidentify(original)
            summary = summarize(result.dataset, blob="")
            if not (summary.study_uid and summary.series_uid and summary.sop_uid):
                return "it has no Study, Series or SOP Instance UID"
            data = encode(result.dataset, fallback_syntax=fallback)
        except ImportFailure as exc:
            return str(exc)
        except DeidentificationError as exc:
            return f"it could not be made safe to store ({exc})"
        except (Cancelled, StorageError):
            raise
        except Exception:  # damaged elements surface only when the de-identifier touches them
            return "it could not be made safe to store (damaged data elements)"
        review = described.review
        if result.report.needs_review and review is not Review.NEEDS_REVIEW:
            review = Review.NEEDS_REVIEW  # the reviewer who confirmed it was at another installation
        kept = ""
        if result.original is not None:
            try:
                kept = self.originals.keep(encode(result.original, fallback_syntax=fallback))
            except ReviewAreaError as exc:
                return f"it is held for burned-in text review and could not be kept ({exc})"
        instance = Instance(
            sop_instance_uid=summary.sop_uid,
            blob=self.blobs.put(data),
            instance_number=summary.instance_number,
            position=summary.normal_position if summary.normal_position is not None else summary.slice_location,
            frames=summary.frames,
            review=review,
            redacted=(*described.redacted, *result.redacted),
            text_rules=result.text_rules,
            pixel_rules=result.pixel_rules,
            review_original=kept,
        )
        return instance, data, summary.study_uid, summary.series_uid

    def _thumbnail(self, data: bytes) -> str | None:
        try:
            return self.blobs.put(thumbnail_png(pydicom.dcmread(io.BytesIO(data))))
        except StorageError:
            raise
        except CaseDeckError:
            return None  # the viewer shows a placeholder; the series itself is fine

    def _case_exists(self, case_id: str) -> bool:
        try:
            self.store.get_case(case_id)
        except NotFoundError:
            return False
        return True

    def _conference_exists(self, conference_id: str) -> bool:
        try:
            self.store.get_conference(conference_id)
        except NotFoundError:
            return False
        return True

    def _problem(self, case_number: int, series_number: int | None, reason: str) -> None:
        item = f"case {case_number}" if series_number is None else f"case {case_number}, series {series_number}"
        self._report(item, reason)

    def _report(self, item: str, reason: str) -> None:
        self.problems.append(ImportProblem(f"{_PREFIX}{item}", reason))

    def _advance(self, steps: int) -> None:
        self.done = min(self.total, self.done + steps)
        if steps:
            self.progress(self.done, self.total, f"De-identifying {self.done} of {self.total - 1} files")


def _listed(contents: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The entries of one listing in a case's contents that are objects (anything else is ignored)."""
    entries = contents.get(key)
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, Mapping)]
