"""The de-identification engine: dataset in, de-identified dataset and a report of counts out.

One pass over the input builds a new dataset. Elements the profile keeps are
shared as pydicom's raw, immutable elements (no decoding, no deep copy); only
elements that change are decoded. The input is never modified. A leak check on
the result then hunts the input's identifiers, and an instance that fails it is
refused, never returned.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from array import array
from dataclasses import dataclass, field, fields
from functools import lru_cache, partial
from io import BytesIO
from typing import ClassVar, cast

from pydicom import config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)

from casefiles import __version__
from casefiles.deid import keys
from casefiles.deid.access import (
    AnyElement,
    Encoding,
    convert,
    encoding_of,
    get_element,
    text_values,
    vr_of,
)
from casefiles.deid.burned_in import burned_in_reasons, declares_burned_in, is_capture
from casefiles.deid.freetext import (
    CODE_MEANING,
    CODE_VALUE_TAGS,
    CODING_SCHEME_DESIGNATOR,
    PROSE_VRS,
    STANDARD_SCHEMES,
    clean_free_text,
)
from casefiles.deid.identifiers import REMOVED, clean_text, collect_identifiers
from casefiles.deid.leaks import LeakNeedles, find_leaks
from casefiles.deid.private import SAFE_PRIVATE
from casefiles.deid.profiles import BASIC_PROFILE_CODE, OPTION_CODES, TEACHING_FILE, Profile
from casefiles.deid.table import Action, Option, compile_table
from casefiles.deid.values import DUMMIES, MAX_LENGTH, age_string, parse_da, shift_da, shift_dt
from casefiles.deid.versions import PIXEL_RULES, TEXT_RULES
from casefiles.errors import DeidentificationError, ValidationError
from casefiles.model import Region
from casefiles.redaction.clean import clean_pixels

# Our own implementation class UID: a fixed 2.25 UUID-derived UID (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.196536124953470939214431069862128624385"
IMPLEMENTATION_VERSION_NAME = f"CASEDECK_{__version__.replace('.', '')}"[:16]

PATIENT_NAME, PATIENT_ID, ISSUER_OF_PATIENT_ID = 0x00100010, 0x00100020, 0x00100021
PATIENT_BIRTH_DATE, PATIENT_AGE = 0x00100030, 0x00101010
SOP_CLASS_UID, SOP_INSTANCE_UID = 0x00080016, 0x00080018
STUDY_UID, SERIES_UID, FRAME_OF_REFERENCE_UID = 0x0020000D, 0x0020000E, 0x00200052
KEY_UIDS = (STUDY_UID, SERIES_UID, SOP_INSTANCE_UID, FRAME_OF_REFERENCE_UID)
EXAM_DATES = (0x00080020, 0x00080021, 0x00080022, 0x00080023)  # study, series, acquisition, content
PATIENT_IDENTITY_REMOVED, DEIDENTIFICATION_METHOD, DEIDENTIFICATION_METHOD_CODES = 0x00120062, 0x00120063, 0x00120064
LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = 0x00280303
PIXEL_DATA = 0x7FE00010
#: The free-text rules _clean applies: the fail-closed safe-list cleaner (deid.freetext).
TEXT_RULES_APPLIED = TEXT_RULES
# Elements the engine writes from constants and the pseudonym: no input value can be in them.
WRITTEN_BY_ENGINE = frozenset(
    {
        PATIENT_NAME,
        PATIENT_ID,
        PATIENT_IDENTITY_REMOVED,
        DEIDENTIFICATION_METHOD,
        DEIDENTIFICATION_METHOD_CODES,
        LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
    }
)

# Text VRs the Clean action rewrites; AS (an age) and numbers are kept as they are.
_CLEANABLE_VRS = frozenset({"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
_STRING_VRS = _CLEANABLE_VRS | frozenset({"AS", "DA", "DS", "DT", "IS", "TM", "UI"})
_SINGLE_VALUED_TEXT = frozenset({"LT", "ST", "UT", "UR"})  # backslash is text here, not a separator
_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}  # big endian input: byte order to fix by hand
_ARRAY_CODE = {2: "H", 4: "I", 8: "Q"}
# Text VRs the engine writes raw (see _element), with the byte pydicom pads them to even length with.
# PN is included (an ASCII name encodes as its text); IS and DS are not (pydicom re-formats numbers).
_RAW_PADDING = {vr: b" " for vr in ("AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT")}
_RAW_PADDING["UI"] = b"\x00"
_LONG_LENGTH_VRS = frozenset({"UC", "UR", "UT"})  # 32-bit value length in explicit VR
# Registry OIDs used as coding-scheme UIDs (HL7 code systems): identify a terminology, not a patient.
_WELL_KNOWN_ROOTS = ("2.16.840.1.113883.6.",)


@lru_cache(maxsize=4096)
def is_well_known_uid(uid: str) -> bool:
    """DICOM-registered UIDs (SOP classes, transfer syntaxes, coding schemes...) are never remapped."""
    return not UID(uid).is_private or uid.startswith(_WELL_KNOWN_ROOTS)


@dataclass(frozen=True, slots=True)
class DeidReport:
    """What de-identification did, in counts only: it never holds a value from the input."""

    removed: int = 0
    emptied: int = 0
    replaced: int = 0
    cleaned: int = 0
    uids_remapped: int = 0
    dates_shifted: int = 0
    private_removed: int = 0
    regions_redacted: int = 0  # text boxes blanked in pixel data
    pixels_cleaned: int = 0  # instances whose burned-in text was blanked and a second OCR pass found none
    needs_review: int = 0  # instances a person should look at for burned-in text
    burned_in_suspected: bool = False
    reasons_burned_in: tuple[str, ...] = ()

    EMPTY: ClassVar[DeidReport]

    def merged(self, other: DeidReport) -> DeidReport:
        """The sum of two reports (to total an import); reasons are listed once each."""
        if not isinstance(other, DeidReport):
            raise ValidationError(f"A report can only be merged with another report, not {type(other).__name__}.")
        counts = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name not in ("burned_in_suspected", "reasons_burned_in")
        }
        return DeidReport(
            **counts,
            burned_in_suspected=self.burned_in_suspected or other.burned_in_suspected,
            reasons_burned_in=tuple(dict.fromkeys(self.reasons_burned_in + other.reasons_burned_in)),
        )


DeidReport.EMPTY = DeidReport()


@dataclass(frozen=True, slots=True)
class DeidResult:
    dataset: Dataset
    report: DeidReport
    redacted: tuple[Region, ...] = ()  # where text was blanked in the pixels (image coordinates)
    #: Which versions of the free-text and pixel rules this instance went through (deid.versions).
    text_rules: int = 0
    pixel_rules: int = 0
    #: A held image's unblanked pixels (header de-identified), for the encrypted review area only.
    original: Dataset | None = None


@dataclass(slots=True)
class _Run:
    """Mutable state of one deidentify() call."""

    encoding_flags: tuple[bool | None, bool | None]
    shift_days: int | None
    cleaning: re.Pattern[str] | None
    big_endian: bool
    where: list[int | str] = field(default_factory=list)  # the element being handled, for error messages
    remapped: set[str] = field(default_factory=set)
    removed: int = 0
    emptied: int = 0
    replaced: int = 0
    cleaned: int = 0
    uids_remapped: int = 0
    dates_shifted: int = 0
    private_removed: int = 0


@dataclass(frozen=True, slots=True)
class _Level:
    """One dataset level being de-identified: its source, text encoding and the output being built."""

    src: Dataset
    run: _Run
    encoding: Encoding
    free_text: bool  # inside a sequence the profile cleans: free text not in the table is cleaned too
    out: dict[BaseTag, AnyElement]


class Deidentifier:
    """Applies one profile with one installation secret; safe to share between threads."""

    def __init__(self, secret: bytes, profile: Profile = TEACHING_FILE) -> None:
        self._secret = keys.validate_secret(secret)
        # Study, series and frame of reference UIDs repeat in every instance of a series: each is hashed once.
        self._remapped_uid = lru_cache(maxsize=4096)(partial(keys.remap_uid, self._secret))
        self._study_key = lru_cache(maxsize=256)(partial(keys.study_key, self._secret))
        if not isinstance(profile, Profile):
            raise ValidationError(f"profile must be a Profile, not {type(profile).__name__}.")
        self._profile = profile
        self._clean_pixels = Option.CLEAN_PIXEL_DATA in profile.options
        self._options = profile.options
        self._table = compile_table(profile.options)
        self._retain_uids = Option.RETAIN_UIDS in profile.options
        self._full_dates = Option.RETAIN_LONG_FULL_DATES in profile.options
        self._safe_private = Option.RETAIN_SAFE_PRIVATE in profile.options
        self._safe_creators = frozenset(creator for creator, _, _ in SAFE_PRIVATE)
        method = [f"CaseDeck {profile.name} profile"[:64], BASIC_PROFILE_CODE[1]]
        method += [OPTION_CODES[o][1] for o in sorted(profile.options)]
        codes = [BASIC_PROFILE_CODE] + [OPTION_CODES[o] for o in sorted(profile.options)]
        if Option.RETAIN_LONG_FULL_DATES in profile.options:
            temporal = "UNMODIFIED"
        elif Option.RETAIN_LONG_MODIFIED_DATES in profile.options:
            temporal = "MODIFIED"
        else:
            temporal = "REMOVED"
        self._record = _record_elements(method, codes, temporal)
        # For an image whose burned-in text could not be shown to be gone, the record must not claim
        # the Clean Pixel Data option (PS3.15 E.1.1: the codes say what was actually done).
        unclean = sorted(profile.options - {Option.CLEAN_PIXEL_DATA})
        self._record_pixels_not_cleaned = _record_elements(
            [*method[:2], *(OPTION_CODES[o][1] for o in unclean)],
            [BASIC_PROFILE_CODE] + [OPTION_CODES[o] for o in unclean],
            temporal,
        )

    @property
    def profile(self) -> Profile:
        return self._profile

    def __reduce__(self) -> tuple[type[Deidentifier], tuple[bytes, Profile]]:
        """Pickled as its recipe (secret + profile), so import workers can build their own.

        The secret is as sensitive in a worker's pipe as in the parent's memory; it never goes to disk.
        """
        return (Deidentifier, (self._secret, self._profile))

    def remap_uid(self, uid: str) -> str:
        """The replacement for ``uid``: the same for every instance and import under this secret."""
        if not isinstance(uid, str) or not uid.strip():
            raise ValidationError("uid must be a non-empty text.")
        return keys.remap_uid(self._secret, uid.strip().rstrip("\x00"))

    def study_key(self, study_uid: str) -> str:
        """The keyed hash of an original Study Instance UID (:func:`casefiles.deid.keys.study_key`).

        Computed before de-identification and stored on the case instead of the UID, so a study
        imported again is recognised; "" for a missing UID.
        """
        if not isinstance(study_uid, str):
            return ""
        return self._study_key(study_uid)

    def pseudonym(self, patient_id: str, issuer: str = "") -> tuple[str, str]:
        """(PatientName, PatientID) standing in for one original patient."""
        if not isinstance(patient_id, str) or not isinstance(issuer, str):
            raise ValidationError("patient_id and issuer must be texts.")
        return keys.pseudonym(self._secret, patient_id.strip(), issuer.strip())

    # -- the pass ---------------------------------------------------------------------------------

    def deidentify(self, ds: Dataset) -> DeidResult:
        """A de-identified copy of ``ds`` (never modified) and the counts of what changed.

        Raises DeidentificationError when the instance cannot be made safe: it cannot be
        read completely, lacks the UIDs a stored instance needs, or an identifier survived.
        """
        if not isinstance(ds, Dataset):
            raise DeidentificationError(f"Only DICOM datasets can be de-identified, not {type(ds).__name__}.")
        where: list[int | str] = []
        try:
            return self._deidentify(ds, where)
        except DeidentificationError:
            raise
        except Exception as exc:
            # Neither the message nor the cause may carry values from the input: name the element only.
            place = f" at {_place(where[-1])}" if where else ""
            raise DeidentificationError(
                f"This instance could not be made safe: it could not be read completely{place} "
                f"({type(exc).__name__}). It was not stored."
            ) from None

    def _deidentify(self, ds: Dataset, where: list[int | str]) -> DeidResult:
        if PATIENT_NAME not in ds or PATIENT_ID not in ds:
            # Both are type 2 in every composite IOD. Without them (a damaged or cut-off file) the
            # patient's name cannot be looked for in descriptions, so the instance's safety is unknown.
            raise DeidentificationError(
                "This instance has no Patient's Name or Patient ID element (a damaged or incomplete file?), "
                "so it cannot be checked for the patient's identity. It was not stored."
            )
        encoding = encoding_of(ds)
        identifiers = collect_identifiers(ds, encoding, self._options)
        key_id, key_issuer = self._patient_key(ds, encoding)
        flags = ds.original_encoding
        run = _Run(
            encoding_flags=flags,
            shift_days=keys.date_offset_days(self._secret, key_id, key_issuer)
            if Option.RETAIN_LONG_MODIFIED_DATES in self._options
            else None,
            cleaning=identifiers.cleaning_pattern(),
            big_endian=flags[1] is False,
            where=where,
        )
        out = self._walk(ds, run, encoding, free_text=False)
        where.append("the de-identification attributes")
        self._finish(ds, out, run, encoding, key=(key_id, key_issuer))
        where.append("the file meta")
        out.file_meta = self._file_meta(ds, out)

        embedded = [] if self._retain_uids else [u for tag in KEY_UIDS for u in text_values(ds, tag, encoding)]
        needles = LeakNeedles.build(identifiers, run.remapped, embedded)
        leaks = find_leaks(out, needles, skip=WRITTEN_BY_ENGINE)
        if leaks:
            raise DeidentificationError(
                f"This instance could not be made safe: an identifier survived in {leaks[0]}. It was not stored."
            )
        reasons = burned_in_reasons(ds, encoding)
        outcome = None
        if self._clean_pixels and PIXEL_DATA in ds:
            where.append("the pixel data")
            outcome = clean_pixels(out, suspicious=is_capture(reasons), declared=declares_burned_in(ds, encoding))
            out = outcome.dataset
            if outcome.boxes:
                _compress_losslessly(out)
        # Without screening, the header rules alone decide; with it, only text that could not be cleared.
        held = outcome.held if outcome is not None else bool(reasons)
        cleaned_pixels = outcome is not None and bool(outcome.boxes) and not outcome.held
        if held or (reasons and outcome is None):
            for tag, raw in self._record_pixels_not_cleaned.items():
                out[tag] = raw
        redacted = tuple(Region(b.x, b.y, b.width, b.height) for b in outcome.boxes) if outcome else ()
        report = DeidReport(
            removed=run.removed,
            emptied=run.emptied,
            replaced=run.replaced,
            cleaned=run.cleaned,
            uids_remapped=run.uids_remapped,
            dates_shifted=run.dates_shifted,
            private_removed=run.private_removed,
            regions_redacted=len(redacted),
            pixels_cleaned=int(cleaned_pixels),
            needs_review=int(held),
            burned_in_suspected=bool(reasons),
            reasons_burned_in=reasons,
        )
        screened = outcome is not None or PIXEL_DATA not in ds
        return DeidResult(
            out,
            report,
            redacted,
            text_rules=TEXT_RULES_APPLIED,
            pixel_rules=PIXEL_RULES if screened else 0,
            original=outcome.original if outcome is not None else None,
        )

    def _patient_key(self, ds: Dataset, encoding: Encoding) -> tuple[str, str]:
        """Who the patient is, for pseudonym and date offset: ID + issuer, else name + birth date, else study.

        The fallbacks start with a NUL, which no real Patient ID contains, so they cannot collide with one.
        """
        pid = " ".join(text_values(ds, PATIENT_ID, encoding)).strip()
        issuer = " ".join(text_values(ds, ISSUER_OF_PATIENT_ID, encoding)).strip()
        if pid:
            return pid, issuer
        name = " ".join(text_values(ds, PATIENT_NAME, encoding)).strip().upper()
        if name:
            return "\x00name:" + name + "|" + " ".join(text_values(ds, PATIENT_BIRTH_DATE, encoding)), ""
        return "\x00study:" + " ".join(text_values(ds, STUDY_UID, encoding)), ""

    def _walk(self, src: Dataset, run: _Run, parent: Encoding, *, free_text: bool) -> Dataset:
        """De-identify one dataset level into a new one; sequences recurse with the same table.

        The new dataset is built from a plain dict (pydicom's documented ``Dataset(dict)``):
        per-element ``__setitem__`` bookkeeping would cost more than the whole table lookup.
        """
        level = _Level(src=src, run=run, encoding=encoding_of(src, parent), free_text=free_text, out={})
        actions = self._table.actions
        safe_private = self._safe_private
        creators = self._creators(level) if safe_private else {}
        shifting = run.shift_days is not None
        out = level.out
        where = run.where
        slot = len(where)
        where.append(0)  # this level's slot: the element being handled, overwritten per element
        for tag, item in list(src.items()):
            elem: AnyElement = item
            where[slot] = tag
            group = tag >> 16
            number = int(tag)  # plain int: looking a BaseTag up in an int-keyed table calls its Python __eq__
            if isinstance(elem, RawDataElement) and elem.value is None and elem.length:
                # A deferred read (dcmread's defer_size): read now, unless the element is dropped unread.
                dropped = group <= 0x0002 or _curve_or_overlay(group) or actions.get(number) is Action.REMOVE
                if (group & 1 and safe_private) or not (group & 1 or dropped):
                    elem = cast("AnyElement", get_element(src, tag))
            if group & 1:
                self._private(level, tag, elem, creators)
            elif group <= 0x0002 or number & 0xFFFF == 0:
                pass  # command set (never stored), file meta (rebuilt from the output), retired group lengths
            elif (action := actions.get(number)) is not None:
                self._apply(level, tag, elem, vr=vr_of(elem), action=action)
            elif 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x601E:  # _curve_or_overlay, inlined
                run.removed += 1
            else:  # not in the table: kept, except UIDs, names, dates and free text being cleaned
                vr = vr_of(elem)
                if vr == "SQ":
                    self._apply(level, tag, elem, vr=vr, action=Action.KEEP)
                elif vr == "UI":
                    self._apply(level, tag, elem, vr=vr, action=Action.KEEP if self._retain_uids else Action.REMAP)
                elif vr == "PN":
                    # Every person name is someone's identity (reviewers, evaluators, authors added to
                    # the standard after this table's edition): never kept, whatever the table lists.
                    self._apply(level, tag, elem, vr=vr, action=Action.EMPTY)
                elif vr in ("DA", "DT") and not (shifting or self._full_dates):
                    # Without a retain-dates option the record says dates were REMOVED: make it true.
                    self._apply(level, tag, elem, vr=vr, action=Action.EMPTY)
                elif (vr in ("DA", "DT") and shifting) or (free_text and vr in _CLEANABLE_VRS):
                    self._clean(level, tag, elem, vr)
                else:
                    out[tag] = _kept(level, elem, vr)
        del where[slot:]
        result = Dataset(level.out)
        if None not in run.encoding_flags:
            # Big endian input is converted element by element (see _kept), so the output is little endian.
            result.set_original_encoding(bool(run.encoding_flags[0]), True, src.original_character_set)
        return result

    def _apply(self, level: _Level, tag: BaseTag, elem: AnyElement, *, vr: str, action: Action) -> None:
        out, run = level.out, level.run
        if action is Action.REMOVE:
            run.removed += 1
        elif action is Action.EMPTY or (action is Action.DUMMY and vr == "SQ"):
            # An empty sequence is the only dummy that fits every sequence: a dummy item would need
            # the content's own template.
            out[tag] = _element(tag, vr, [] if vr == "SQ" else ("" if vr in _STRING_VRS else None))
            run.emptied += 1
        elif action is Action.DUMMY:
            out[tag] = _element(tag, vr, DUMMIES.get(vr, b"\x00\x00"))
            run.replaced += 1
        elif action is Action.REMAP:
            self._remap(level, tag, elem, vr)
        elif vr == "SQ":  # KEEP or CLEAN: de-identify the items; CLEAN also cleans their free text
            items = convert(elem, level.encoding, level.src).value or []
            cleaning = level.free_text or action is Action.CLEAN
            seq = Sequence([self._walk(item, run, level.encoding, free_text=cleaning) for item in items])
            out[tag] = _element(tag, "SQ", seq)
        elif action is Action.CLEAN:
            self._clean(level, tag, elem, vr)
        else:
            out[tag] = _kept(level, elem, vr)

    def _remap(self, level: _Level, tag: BaseTag, elem: AnyElement, vr: str) -> None:
        run = level.run
        if vr != "UI":  # the table only says U for UIDs; anything else cannot be remapped
            level.out[tag] = _element(tag, vr, None)
            run.emptied += 1
            return
        values = [v.strip("\x00 ") for v in _joined(elem.value).split("\\")]
        new: list[str] = []
        for uid in values:
            if not uid or is_well_known_uid(uid):
                new.append(uid)
                continue
            new.append(self._remapped_uid(uid))
            run.remapped.add(uid)
            run.uids_remapped += 1
        level.out[tag] = _element(tag, "UI", new[0] if len(new) == 1 else new)

    def _clean(self, level: _Level, tag: BaseTag, elem: AnyElement, vr: str) -> None:
        out, run = level.out, level.run
        if vr in ("DA", "DT"):
            text = _joined(elem.value).strip("\x00 ")
            if not text:
                out[tag] = _element(tag, vr, "")
                return
            try:
                if run.shift_days is None:  # no offset to shift by: a date cannot be cleaned otherwise
                    raise ValueError("no shift")
                shifted = shift_da(text, run.shift_days) if vr == "DA" else shift_dt(text, run.shift_days)
            except ValueError:  # not a date we can read, so it cannot be shifted: it goes
                out[tag] = _element(tag, vr, "")
                run.emptied += 1
                return
            out[tag] = _element(tag, vr, shifted)
            run.dates_shifted += 1
        elif vr == "PN":  # a person's name is never prose to clean: it goes whole
            out[tag] = _element(tag, vr, "")
            run.emptied += 1
        elif vr in _CLEANABLE_VRS:
            text = _joined(convert(elem, level.encoding, level.src).value)
            if vr in PROSE_VRS and not _is_code(level, int(tag)):
                # This patient's identifiers first (the leak check hunts them), then everything else
                # the free-text cleaner cannot vouch for (other people, places, numbers, dates).
                cleaned = clean_free_text(clean_text(text, run.cleaning))
            elif int(tag) in CODE_VALUE_TAGS or int(tag) == CODE_MEANING:
                # A coding scheme's value or published meaning: only this patient's identifiers are cut
                # (the generic patterns would take 6-digit DCM codes such as 121071 for record numbers).
                pattern = run.cleaning
                cleaned = text if pattern is None else pattern.sub(REMOVED, text)
            else:  # codes (CS), AE titles and URLs: this patient's identifiers and the generic patterns
                cleaned = clean_text(text, run.cleaning)
            if cleaned == text:
                out[tag] = _kept(level, elem, vr)
                return
            limit = MAX_LENGTH.get(vr)
            parts = [cleaned] if vr in _SINGLE_VALUED_TEXT else [p[:limit] for p in cleaned.split("\\")]
            out[tag] = _element(tag, vr, parts[0] if len(parts) == 1 else parts)
            run.cleaned += 1
        else:  # times, ages, numbers: nothing that names anyone
            out[tag] = _kept(level, elem, vr)

    def _creators(self, level: _Level) -> dict[tuple[int, int], str]:
        """(group, block) -> private creator, for the Retain Safe Private lookup."""
        found: dict[tuple[int, int], str] = {}
        for tag in list(level.src.keys()):
            group, element = tag >> 16, tag & 0xFFFF
            if group & 1 and 0x0010 <= element <= 0x00FF:
                values = text_values(level.src, tag, level.encoding)
                if values:
                    found[(group, element)] = values[0].strip()
        return found

    def _private(self, level: _Level, tag: BaseTag, elem: AnyElement, creators: dict[tuple[int, int], str]) -> None:
        group, element = tag >> 16, tag & 0xFFFF
        if self._safe_private:
            if 0x0010 <= element <= 0x00FF:
                keep = creators.get((group, element)) in self._safe_creators
            else:
                creator = creators.get((group, element >> 8), "")
                keep = (creator, group, element & 0xFF) in SAFE_PRIVATE
            if keep:
                vr = vr_of(elem)
                is_creator = 0x0010 <= element <= 0x00FF  # names its block: must stay as it is
                if not is_creator and (vr in PROSE_VRS or vr == "PN"):  # kept private text is cleaned too
                    self._clean(level, tag, elem, vr)
                else:
                    level.out[tag] = _kept(level, elem, vr)
                return
        level.run.private_removed += 1

    def _finish(self, src: Dataset, out: Dataset, run: _Run, encoding: Encoding, *, key: tuple[str, str]) -> None:
        """Pseudonym, computed age and the attributes that record what was done (PS3.15 E.1.1)."""
        name, pid = keys.pseudonym(self._secret, *key)
        out[PATIENT_NAME] = _element(PATIENT_NAME, "PN", name)
        out[PATIENT_ID] = _element(PATIENT_ID, "LO", pid)
        run.replaced += 2
        if Option.RETAIN_PATIENT_CHARACTERISTICS in self._options and not text_values(src, PATIENT_AGE, encoding):
            age = _age(src, encoding)
            if age:
                out[PATIENT_AGE] = _element(PATIENT_AGE, "AS", age)
        for tag, raw in self._record.items():
            out[tag] = raw

    def _file_meta(self, src: Dataset, out: Dataset) -> FileMetaDataset:
        """File meta rebuilt from the output: nothing of the input's (source AE, private info) survives."""
        sop_class = out.get(SOP_CLASS_UID)
        sop_instance = out.get(SOP_INSTANCE_UID)
        if sop_class is None or not sop_class.value or sop_instance is None or not sop_instance.value:
            raise DeidentificationError(
                "This instance has no SOP Class or SOP Instance UID, so it is not a storable DICOM object. "
                "It was not stored."
            )
        meta = FileMetaDataset()
        for tag, vr, value in (
            (0x00020001, "OB", b"\x00\x01"),
            (0x00020002, "UI", sop_class.value),
            (0x00020003, "UI", sop_instance.value),
            (0x00020010, "UI", _output_syntax(src)),
            (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
            (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME),
        ):
            meta[tag] = _converted_element(tag, vr, value)
        return meta


def _compress_losslessly(ds: Dataset) -> None:
    """RLE-compress redacted pixels (lossless): uncompressed, an ultrasound cine grows about fourfold.

    Left uncompressed when the encoder refuses the data (e.g. an unusual bit depth): still valid, only bigger.
    """
    try:
        ds.compress(RLELossless, generate_instance_uid=False)
    except Exception:
        return
    ds.file_meta.TransferSyntaxUID = RLELossless


def _record_elements(method: list[str], codes: list[tuple[str, str]], temporal: str) -> dict[BaseTag, AnyElement]:
    """Patient Identity Removed, De-identification Method (+ codes) and Longitudinal Temporal
    Information Modified, encoded once per profile as raw elements: immutable, so every output
    can share them, and as cheap to add as the elements kept from the input."""
    record = Dataset()
    record.PatientIdentityRemoved = "YES"
    record.DeidentificationMethod = method
    items = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    record.DeidentificationMethodCodeSequence = items
    record.LongitudinalTemporalInformationModified = temporal
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, record)
    parsed = read_dataset(BytesIO(buffer.getvalue()), is_implicit_VR=False, is_little_endian=True)
    return dict(parsed.items())


def _is_code(level: _Level, tag: int) -> bool:
    """A code item's value, or the meaning of a code from a published scheme (DCM, SNOMED, LOINC...)."""
    if tag in CODE_VALUE_TAGS:
        return True
    if tag != CODE_MEANING:
        return False
    schemes = text_values(level.src, CODING_SCHEME_DESIGNATOR, level.encoding)
    return bool(schemes) and schemes[0].strip().upper() in STANDARD_SCHEMES


def _curve_or_overlay(group: int) -> bool:
    """Curves (50xx) and overlay planes (60xx, even): removed whole, since either can hold text
    drawn over the image; cleaning them needs the pixel cleaner of a later version."""
    return 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x601E


def _element(tag: int, vr: str, value: object) -> AnyElement:
    """A new element for a value the engine made (remapped UID, shifted date, dummy...): these are
    valid by construction, so pydicom's per-value validation is skipped.

    ASCII text is encoded here, as the raw explicit VR little endian element pydicom's writer would
    make of it (ASCII reads the same in every DICOM character set): the writer then copies its bytes
    instead of converting it again, like the raw elements kept from the input.
    """
    if vr in _RAW_PADDING:
        text = value if isinstance(value, str) else _text_list(value)
        if text is not None and text.isascii() and "\x1b" not in text:  # no ISO 2022 escape to honour
            data = text.encode("ascii")
            if len(data) % 2:
                data += _RAW_PADDING[vr]
            if len(data) <= 0xFFFF or vr in _LONG_LENGTH_VRS:
                return RawDataElement(BaseTag(tag), vr, len(data), data, 0, False, True)
    return _converted_element(tag, vr, value)


def _converted_element(tag: int, vr: str, value: object) -> DataElement:
    return DataElement(tag, vr, value, validation_mode=config.IGNORE)


def _text_list(value: object) -> str | None:
    """A list of texts joined as DICOM multi-values, or None for anything else."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\\".join(value)
    return None


def _place(step: int | str) -> str:
    return step if isinstance(step, str) else f"({step >> 16:04X},{step & 0xFFFF:04X})"


def _joined(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list | tuple) or hasattr(value, "__iter__"):
        return "\\".join("" if v is None else str(v) for v in value)
    return str(value)


def _kept(level: _Level, elem: AnyElement, vr: str) -> AnyElement:
    """The element to put in the output for a kept one: the raw element itself (immutable, shared),
    a copy of a converted one, or for big endian input a little endian conversion (pydicom does not
    swap OB/OW-like values itself)."""
    if not level.run.big_endian:
        return elem if isinstance(elem, RawDataElement) else copy.deepcopy(elem)
    converted = copy.deepcopy(convert(elem, level.encoding, level.src))
    if vr in _SWAP_WIDTH:
        converted.value = _little_endian(converted.value, _SWAP_WIDTH[vr])
    return converted


def _little_endian(value: object, width: int) -> bytes:
    data = bytes(value) if isinstance(value, bytes | bytearray) else b""
    usable = len(data) - len(data) % width
    swapped = array(_ARRAY_CODE[width])
    swapped.frombytes(data[:usable])
    swapped.byteswap()
    return swapped.tobytes() + data[usable:]


def _age(src: Dataset, encoding: Encoding) -> str:
    """Patient's Age from birth and exam dates (before any shift), or '' when either is missing."""
    try:
        birth = parse_da(" ".join(text_values(src, PATIENT_BIRTH_DATE, encoding)))
    except ValueError:
        return ""
    for tag in EXAM_DATES:
        try:
            exam: dt.date = parse_da(" ".join(text_values(src, tag, encoding)))
            return age_string(birth, exam)
        except ValueError:
            continue
    return ""


def _output_syntax(src: Dataset) -> UID:
    """Explicit VR Little Endian, unless the pixel data is encapsulated: then its compressed syntax stays."""
    meta = getattr(src, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if syntax is None:
        implicit, little = src.original_encoding
        syntax = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    syntax = UID(str(syntax))
    if syntax.is_encapsulated and PIXEL_DATA in src:
        return syntax
    return ExplicitVRLittleEndian
