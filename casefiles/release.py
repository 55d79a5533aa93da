"""The release gate: the one decision whether cases may leave CaseDeck.

Every way out (PowerPoint, PDF, HTML show, Present, package, PACS push, and
any share link) asks :func:`check_release` before it writes a byte. The gate
fails closed: it lets a case out only when CaseDeck can vouch for every image
and every text in it, and otherwise names what holds it back and what to do.
There is no "export anyway".

What holds a case back:

* an image or a clip waiting for a person's burned-in text review;
* an image whose pixels were never screened by the current burned-in rules
  (stored before the rules existed or improved) and no person has confirmed;
* an image whose kept text was cleaned by older free-text rules;
* a case whose title and labels were made from text cleaned by older rules.

Items are named by position ("series 2, image 14", "video 1"), and a case by
its title only when that title was made by the current rules: a message from
the gate never repeats text CaseDeck cannot vouch for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from casefiles.deid.versions import PIXEL_RULES, TEXT_RULES
from casefiles.errors import CaseDeckError
from casefiles.model import Asset, AssetKind, Case, Instance, Review
from casefiles.store.documents import CaseSummary

#: What a person does about each kind of blocker, in words the message repeats.
REVIEW_ACTION = "review it on the case's page (Burned-in text review)"
RECHECK_ACTION = (
    "re-check it with the current rules (Safety page → Re-check the library, or `python -m casefiles recheck`)"
)

_KIND_NAMES = {
    AssetKind.IMAGE: "picture",
    AssetKind.VIDEO: "video",
    AssetKind.SLIDE_DECK: "slides",
    AssetKind.DOCUMENT: "document",
    AssetKind.DICOM_SERIES: "series",
}


@dataclass(frozen=True, slots=True)
class Blocker:
    """One thing in one case that may not leave yet, and what to do about it."""

    case_id: str
    case_name: str  # the title when the current rules made it, else "case <id>"
    item: str  # by position: "series 2, image 14", "video 1", "the title and labels"
    reason: str
    action: str
    asset_id: str | None = None
    count: int = 1  # how many images of the item this blocker stands for

    def describe(self) -> str:
        return f"{self.case_name}: {self.item} {self.reason}; {self.action}."


class ReleaseBlocked(CaseDeckError):
    """Cases asked to leave CaseDeck hold items no one has vouched for; nothing was written."""

    def __init__(self, blockers: Sequence[Blocker], way_out: str) -> None:
        self.blockers = tuple(blockers)
        self.way_out = way_out
        images = sum(b.count for b in self.blockers)
        lines = [b.describe() for b in self.blockers[:12]]
        if len(self.blockers) > 12:
            lines.append(f"… and {len(self.blockers) - 12} more.")
        super().__init__(
            f"Nothing was written: the {way_out} would show {images} item(s) CaseDeck cannot vouch for yet.\n- "
            + "\n- ".join(lines)
        )


def case_name(case: Case) -> str:
    """How the gate names a case: its title only if the current free-text rules made it."""
    if case.text_rules >= TEXT_RULES:
        return case.title
    return f"case {case.id}"


def blockers_of(case: Case) -> tuple[Blocker, ...]:
    """Everything in ``case`` that may not leave yet (empty: the case may leave)."""
    name = case_name(case)
    found: list[Blocker] = []
    if case.text_rules < TEXT_RULES:
        found.append(
            Blocker(
                case.id,
                name,
                "the title and series labels",
                "were made from text cleaned by older rules",
                RECHECK_ACTION,
            )
        )
    ordinals: dict[AssetKind, int] = {}
    for asset in case.assets:
        ordinals[asset.kind] = ordinals.get(asset.kind, 0) + 1
        position = f"{_KIND_NAMES[asset.kind]} {ordinals[asset.kind]}"
        if asset.kind is AssetKind.DICOM_SERIES:
            found.extend(_series_blockers(case.id, name, asset, position))
        elif asset.review is Review.NEEDS_REVIEW:
            found.append(
                Blocker(case.id, name, position, "waits for its burned-in text review", REVIEW_ACTION, asset.id)
            )
    return tuple(found)


def _series_blockers(case_id: str, name: str, asset: Asset, position: str) -> list[Blocker]:
    """At most one blocker per reason for a series, naming its first image and how many there are."""
    rules: list[tuple[tuple[str, str], str, list[int]]] = [
        (("waits for its burned-in text review", "wait for their burned-in text review"), REVIEW_ACTION, []),
        (
            (
                "was never screened for burned-in text by the current rules",
                "were never screened for burned-in text by the current rules",
            ),
            RECHECK_ACTION,
            [],
        ),
        (("has text cleaned by older rules", "have text cleaned by older rules"), RECHECK_ACTION, []),
    ]
    for number, instance in enumerate(asset.instances, start=1):
        for index, held in enumerate(_instance_holds(instance)):
            if held:
                rules[index][2].append(number)
    blockers = []
    for (one, many), action, numbers in rules:
        if not numbers:
            continue
        if len(numbers) == 1:
            item, reason = f"{position}, image {numbers[0]}", one
        else:
            item, reason = f"{position}, {len(numbers)} images from image {numbers[0]}", many
        blockers.append(Blocker(case_id, name, item, reason, action, asset.id, count=len(numbers)))
    return blockers


def _instance_holds(instance: Instance) -> tuple[bool, bool, bool]:
    """(waits for review, pixels never screened by current rules, text cleaned by older rules)."""
    waiting = instance.review is Review.NEEDS_REVIEW
    # A person who confirmed the image has looked at its pixels: that outranks any screening rules.
    unscreened = not waiting and instance.review is not Review.CONFIRMED and instance.pixel_rules < PIXEL_RULES
    return waiting, unscreened, instance.text_rules < TEXT_RULES


def may_be_blocked(summary: CaseSummary) -> bool:
    """Could the case hold anything back? False only when its stored facts vouch for all of it."""
    return summary.held > 0 or summary.lowest_text_rules < TEXT_RULES or summary.lowest_pixel_rules < PIXEL_RULES


def check_release(cases: Iterable[Case], *, way_out: str) -> None:
    """Raise :class:`ReleaseBlocked` unless every case may leave; ``way_out`` names the export for the message."""
    blockers = [b for case in cases for b in blockers_of(case)]
    if blockers:
        raise ReleaseBlocked(blockers, way_out)
