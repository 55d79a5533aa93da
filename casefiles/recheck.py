"""Re-check what is already stored with the current de-identification rules.

A library imported before a rule improved is not trusted by the release gate
(it compares each instance's and case's rules versions with
:mod:`casefiles.deid.versions`). This use case brings it up to date:

* every kept free-text value of each stored instance is cleaned again by the
  current free-text cleaner (the file is rewritten only when a value changed);
* each image not yet confirmed by a person is screened for burned-in text
  as an import would screen it: text found is blanked; an image whose text
  cannot be cleared is stored blank, its original kept in the encrypted
  review area, and waits for a person's review;
* each case's title and DICOM-derived series labels are cleaned again.

What people typed (history, findings, captions, teaching points) is not
rewritten: CaseDeck does not silently edit a teacher's prose. Instances
already current are skipped, so running it twice costs little. Nothing read
from a file is reported, only counts.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from casefiles.deid.access import encoding_of
from casefiles.deid.burned_in import declares_burned_in, looks_like_capture
from casefiles.deid.freetext import clean_free_text, reclean_dataset
from casefiles.deid.versions import PIXEL_RULES, TEXT_RULES
from casefiles.errors import CaseDeckError, DeidentificationError, NotFoundError
from casefiles.ingest.reading import encode
from casefiles.model import Asset, AssetKind, Case, Instance, Region, Review
from casefiles.progress import NEVER_CANCELLED, CancelToken, ProgressFn, no_progress
from casefiles.redaction.clean import clean_pixels
from casefiles.review_area import ReviewShelf
from casefiles.store.documents import CaseQuery, CaseSummary


class CaseShelf(Protocol):
    """The part of the case store re-checking needs."""

    def get_case(self, case_id: str) -> Case: ...
    def summaries(self, query: CaseQuery | None = None) -> list[CaseSummary]: ...
    def update_case(self, case_id: str, change: Callable[[Case], Case]) -> Case: ...


class BlobShelf(Protocol):
    """The part of the blob store re-checking needs."""

    def get(self, digest: str) -> bytes: ...
    def put(self, data: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class RecheckReport:
    """Counts only: what the re-check looked at and what it changed."""

    cases: int = 0
    instances: int = 0  # instances brought up to the current rules
    texts_cleaned: int = 0  # stored instances with a free-text value cleaned again
    titles_cleaned: int = 0  # case titles and series labels that changed
    pixels_cleaned: int = 0  # images with burned-in text found and blanked
    newly_held: int = 0  # images that now wait for a burned-in text review
    unreadable: int = 0  # stored files that could not be read: held for review, not vouched for
    replaced_blobs: tuple[str, ...] = ()  # files rewritten; the caller drops them if nothing else uses them

    def __add__(self, other: RecheckReport) -> RecheckReport:
        return RecheckReport(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def summary(self) -> str:
        return (
            f"{self.cases} case(s) and {self.instances} image(s) re-checked: {self.texts_cleaned} image(s) had text "
            f"cleaned, {self.titles_cleaned} title(s) or label(s) changed, {self.pixels_cleaned} image(s) had "
            f"burned-in text blanked, {self.newly_held} image(s) now wait "
            f"for a burned-in text review, {self.unreadable} could not be read (held for review)."
        )


@dataclass(frozen=True, slots=True)
class _InstanceUpdate:
    asset_id: str
    read: Instance  # as it was when its file was read
    instance: Instance  # re-checked


def recheck_library(
    cases: CaseShelf,
    blobs: BlobShelf,
    review_area: ReviewShelf,
    case_ids: Sequence[str] | None = None,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> RecheckReport:
    """Re-check ``case_ids`` (every case when None) and save each case as soon as it is done.

    Cancelling stops between cases; the cases finished so far keep their new state.
    """
    ids = [c.id for c in cases.summaries()] if case_ids is None else list(case_ids)
    total = RecheckReport()
    for done, case_id in enumerate(ids):
        cancel.raise_if_cancelled()
        progress(done, len(ids), f"Re-checking case {done + 1} of {len(ids)}")
        total += recheck_case(cases, blobs, review_area, case_id)
    progress(len(ids), len(ids), "Re-check finished")
    return total


def recheck_case(cases: CaseShelf, blobs: BlobShelf, review_area: ReviewShelf, case_id: str) -> RecheckReport:
    """Re-check one case; its instances are read and rewritten before the case is saved once."""
    case = cases.get_case(case_id)  # NotFoundError names no data
    updates: list[_InstanceUpdate] = []
    report = RecheckReport(cases=1)
    for asset in case.assets:
        for instance in asset.instances:
            if instance.text_rules >= TEXT_RULES and instance.pixel_rules >= PIXEL_RULES:
                continue
            updated, counts = _recheck_instance(instance, blobs, review_area)
            updates.append(_InstanceUpdate(asset.id, instance, updated))
            report += counts
    # Apply to the case as it is now: someone may have edited it while its files were read.
    titles_cleaned = 0

    def apply(latest: Case) -> Case:
        nonlocal titles_cleaned
        relabelled, titles_cleaned = clean_case_text(latest)
        return _with_updates(relabelled, updates)

    cases.update_case(case_id, apply)
    return report + RecheckReport(titles_cleaned=titles_cleaned)


def _recheck_instance(instance: Instance, blobs: BlobShelf, review_area: ReviewShelf) -> tuple[Instance, RecheckReport]:
    try:
        ds: Dataset = pydicom.dcmread(io.BytesIO(blobs.get(instance.blob)))
        ds.decode()  # a damaged element surfaces here, not halfway through cleaning
    except NotFoundError:
        raise
    except Exception:  # a stored file CaseDeck cannot read cannot be vouched for
        held = instance.review if instance.review is Review.CONFIRMED else Review.NEEDS_REVIEW
        return replace(instance, review=held), RecheckReport(unreadable=1)
    counts = RecheckReport(instances=1)
    changed = instance.text_rules < TEXT_RULES and reclean_dataset(ds) > 0
    if changed:
        counts += RecheckReport(texts_cleaned=1)
    updated = replace(instance, text_rules=TEXT_RULES, pixel_rules=PIXEL_RULES)
    # A person who confirmed the image has looked at its pixels; an image already waiting with its
    # original in the review area was screened by these rules. The others are screened now.
    if instance.pixel_rules < PIXEL_RULES and instance.review is not Review.CONFIRMED and not instance.review_original:
        try:
            ds, updated, pixel_counts = _screened(ds, updated, review_area)
        except DeidentificationError:  # pixels that cannot be decoded cannot be vouched for
            return replace(instance, review=Review.NEEDS_REVIEW), counts + RecheckReport(unreadable=1)
        changed = changed or pixel_counts.pixels_cleaned > 0 or pixel_counts.newly_held > 0
        counts += pixel_counts
    if not changed:
        return updated, counts
    blob = blobs.put(_encoded(ds))
    return replace(updated, blob=blob), counts + RecheckReport(replaced_blobs=(instance.blob,))


def _screened(ds: Dataset, instance: Instance, review_area: ReviewShelf) -> tuple[Dataset, Instance, RecheckReport]:
    """The stored image screened for burned-in text with the current rules, as an import would."""
    encoding = encoding_of(ds)
    outcome = clean_pixels(ds, suspicious=looks_like_capture(ds, encoding), declared=declares_burned_in(ds, encoding))
    found = tuple(Region(b.x, b.y, b.width, b.height) for b in outcome.boxes)
    if outcome.held and outcome.original is not None:
        kept = review_area.put(_encoded(outcome.original))
        held = replace(
            instance, review=Review.NEEDS_REVIEW, review_original=kept, redacted=(*instance.redacted, *found)
        )
        return outcome.dataset, held, RecheckReport(newly_held=1)
    if outcome.boxes:
        cleaned = replace(instance, review=Review.NOT_NEEDED, redacted=(*instance.redacted, *found))
        return outcome.dataset, cleaned, RecheckReport(pixels_cleaned=1)
    # Nothing found: an image the old header rules held is cleared by screening.
    return ds, replace(instance, review=Review.NOT_NEEDED), RecheckReport()


def _encoded(ds: Dataset) -> bytes:
    try:
        return encode(ds, fallback_syntax=ExplicitVRLittleEndian)
    except CaseDeckError:
        raise
    except Exception as exc:  # the message of a library error may quote a value: name only its kind
        raise CaseDeckError(
            f"A stored image could not be rewritten after its text was cleaned ({type(exc).__name__})."
        ) from None


def clean_case_text(case: Case) -> tuple[Case, int]:
    """The case with its title and DICOM-derived labels cleaned by the current rules, and how many changed.

    A case whose text is already stamped with the current rules is returned as it is; pass one
    from outside (a package) with ``text_rules=0`` to have its text cleaned whatever it claims.
    """
    if case.text_rules >= TEXT_RULES:
        return case, 0
    changed = 0
    title = clean_free_text(case.title).strip() or "Untitled case"
    changed += title != case.title
    assets: list[Asset] = []
    for asset in case.assets:
        label = clean_free_text(asset.label).strip() if _from_dicom(asset) else asset.label
        changed += label != asset.label
        assets.append(replace(asset, label=label))
    # ``replace`` rather than ``edited``: a re-check is not an edit by a person.
    return replace(case, title=title, assets=tuple(assets), text_rules=TEXT_RULES), changed


def _from_dicom(asset: Asset) -> bool:
    """A series, or a clip, document or slide picture converted from DICOM (its label came from a header)."""
    return asset.kind is AssetKind.DICOM_SERIES or bool(asset.series_uid)


def _with_updates(case: Case, updates: Iterable[_InstanceUpdate]) -> Case:
    """Apply re-checked instances to instances still as they were read.

    One a person changed meanwhile (a region blanked, a review confirmed) keeps that change
    and its old rules versions, so the gate keeps asking for a re-check of it.
    """
    by_key = {(u.asset_id, u.read): u.instance for u in updates}
    if not by_key:
        return case
    assets = tuple(
        replace(asset, instances=tuple(by_key.get((asset.id, inst), inst) for inst in asset.instances))
        if asset.instances
        else asset
        for asset in case.assets
    )
    return replace(case, assets=assets)
