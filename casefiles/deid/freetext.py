"""The fail-closed free-text cleaner: a word stays only if it can be vouched for.

Descriptions, histories and SR text name people and places the patient's own
identifiers do not: referring doctors, relatives, technologists, outside clinics.
Recognising every such name cannot be done; vouching for the words that stay can.
A token is kept when it is

- in philter-lite's shipped safe-list ("nonames", ~195k English and medical words),
  read as data from the installed package (its NLTK tagger is never imported);
- in CaseDeck's radiology vocabulary (``safe_words.txt``), or a compound scale matched
  before the text is split (BI-RADS, LI-RADS, PET/CT, W/WO, Bosniak IIF...);
- a number of a narrow form (small numbers, sizes with units, T1/T2, b-values, 3D, L4, C5).

Everything else becomes one neutral placeholder ("[removed]"), and so do

- Title-case words of mixed-case text that are in the first- or last-name lists
  (names that are also words: Hope, Grant, Rose);
- words after a person cue (Dr, Mrs, husband, tech, call, per, by, cc...) and before a
  place cue (clinic, hospital, imaging...), even when they are words;
- phone numbers, e-mail addresses, web addresses, long digit runs and dates (a date in
  prose cannot be told apart from an unshifted one).

An eponym (Crohn, Hodgkin, Whipple) is kept only in medical context. Text in a script the
lists do not cover is removed whole: the rule fails closed.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from casefiles.deid.identifiers import REMOVED
from casefiles.errors import DeidentificationError

#: Value representations that hold prose: every kept value of these goes through the cleaner.
PROSE_VRS = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})
#: Attributes of a code item: values of a coding scheme, not prose (Code Meaning is handled apart).
CODE_VALUE_TAGS = frozenset(
    {
        0x00080100,  # Code Value
        0x00080102,  # Coding Scheme Designator
        0x00080103,  # Coding Scheme Version
        0x00080105,  # Mapping Resource
        0x00080106,  # Context Group Version
        0x00080107,  # Context Group Local Version
        0x0008010F,  # Context Identifier
        0x00080119,  # Long Code Value
        0x00080120,  # URN Code Value
        0x00080122,  # Mapping Resource Name
        0x0008010B,  # Context Group Extension Flag
    }
)
CODE_MEANING = 0x00080104
CODING_SCHEME_DESIGNATOR = 0x00080102
#: Coding schemes whose code meanings are published terms, not free text someone typed.
STANDARD_SCHEMES = frozenset(
    {"DCM", "SCT", "SRT", "SNM3", "LN", "RADLEX", "UCUM", "FMA", "NCIT", "NCI", "ACR", "UMLS", "MSH", "I10", "I9C"}
    | {"ICD10", "ICD-10", "ICD10CM", "I10P", "CPT", "C4", "C5", "RXNORM", "UBERON", "MDC", "NEU", "UPC", "ITIS_TSN"}
)

_PHILTER = "philter-lite"
_PHILTER_SET = "philter_lite/filters/set.toml"

# Person cues: titles and relatives are strong (whatever follows in capitals is a name); the rest
# are weak (a radiology word after them stays: "by CT", "per protocol").
_TITLES = frozenset({"dr", "drs", "doctor", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "sir", "dame"})
_RELATIVES = frozenset(
    {"husband", "wife", "son", "daughter", "mother", "father", "brother", "sister", "spouse", "partner"}
    | {"parent", "parents", "guardian", "friend", "mum", "mom", "dad", "aunt", "uncle", "grandmother"}
    | {"grandfather", "niece", "nephew", "cousin", "fiance", "fiancee", "boyfriend", "girlfriend", "carer"}
)
_WEAK_CUES = frozenset(
    {"tech", "techs", "technologist", "technician", "radiographer", "sonographer", "nurse", "rn", "np"}
    | {"call", "called", "calling", "phone", "page", "paged", "contact", "per", "by", "cc", "ref", "referred"}
    | {"referring", "attn", "att", "dictated", "signed", "seen", "physician", "consultant", "surgeon"}
    | {"oncologist", "radiologist", "resident", "fellow", "attending", "gp", "pcp", "provider", "name"}
)
_PERSON_CUES = _TITLES | _RELATIVES | _WEAK_CUES
# Weak cues that start ordinary phrases too ("per protocol", "by mouth", "seen on CT").
_LOOSE_CUES = frozenset({"per", "by", "seen", "signed", "dictated", "name", "page", "phone", "called", "calling"})
# Cues that are also radiology codes (MR, DR, MS, CC): no cue when a radiology word follows.
_AMBIGUOUS_CUES = frozenset({"mr", "dr", "ms", "cc", "page", "name"})
_PLACE_CUES = frozenset(
    {"clinic", "clinics", "hospital", "hospitals", "imaging", "radiology", "center", "centre", "practice"}
    | {"surgery", "infirmary", "institute", "university", "college", "associates", "partners", "group"}
    | {"health", "healthcare", "diagnostics", "laboratory", "laboratories", "labs", "clinique", "klinik"}
    | {"klinikum", "ospedale", "hopital", "hôpital", "hospice", "sanatorium", "polyclinic", "medical"}
)
# Words that never name anyone, so a cue never removes them ("call with results", "per the protocol").
_STOPWORDS = frozenset(
    {"a", "an", "the", "and", "or", "of", "for", "to", "at", "on", "in", "with", "without", "if", "when"}
    | {"after", "before", "re", "about", "regarding", "please", "pls", "asap", "stat", "results", "result"}
    | {"report", "back", "me", "you", "him", "her", "them", "today", "tomorrow", "tonight", "is", "was"}
    | {"has", "had", "not", "no", "yes", "this", "that", "patient", "pt", "protocol", "order", "ordered"}
    | {"be", "are", "were", "as", "from", "into", "than", "then", "also", "again", "our", "their", "his"}
)
_NAME_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "du", "la", "le", "del", "dos", "st", "mc"})
_UNIT_SUFFIXES = frozenset(
    {"mm", "cm", "m", "ml", "cc", "mg", "g", "kg", "gy", "cgy", "mgy", "msv", "kv", "kvp", "ma", "mas", "hu"}
    | {"s", "sec", "ms", "min", "h", "hr", "hrs", "d", "w", "wk", "wks", "mo", "y", "yr", "yrs", "yo", "x"}
    | {"st", "nd", "rd", "th", "t", "mbq", "mci", "mmol", "mmhg", "ch", "f", "fr", "slice", "slices"}
)
# Letters-and-digits tokens of a narrow form: T1, T2W, L4, C5, S1, b1000, ep2d, fl3d, 3T, 1st...
_ALNUM_SAFE = re.compile(
    r"(?:[tlcs]\d{1,2}[a-z]{0,2}|b\d{1,4}|[a-z]{1,4}\d[a-z]{1,4}|\d{1,2}[a-z]|t\d[a-z]{1,4}|[a-z]{2,5}\d{1,2})",
    re.IGNORECASE,
)

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DROP = "|".join(
    (
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
        r"(?:https?://|www\.)[^\s\\]+",  # web address
        r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b",  # 2024-03-02
        r"\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b",  # 02/03/2024
        r"\b\d{1,2}/(?:19|20)\d{2}\b",  # 03/2024
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?[-\s./]*(?:{_MONTHS})[a-z]*\.?(?:[-\s./,]*\d{{2,4}})?\b",  # 2 Mar 2024
        rf"\b(?:{_MONTHS})[a-z]*\.?[-\s./]*\d{{1,2}}(?:st|nd|rd|th)?,?[-\s./]*\d{{4}}\b",  # March 2, 2024
        rf"\b(?:{_MONTHS})[a-z]*\.?[-\s./,]*(?:19|20)\d{{2}}\b",  # March 2024
        r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.-])\d{3,4}[\s.-]?\d{3,4}(?!\w)",  # phone
        r"(?<![\w.])\d{3}[-.\s]\d{4}(?![\w.])",  # 555-0199, 555 0199
        r"\d{5,}",  # long digit runs: record numbers, accession numbers, pagers
    )
)
# Characters that may stand between words as they are; anything else (symbols, emoji, controls of
# other scripts) is not vouched for and is removed with the words around it.
_SEPARATORS = frozenset(" \t\r\n.,;:()[]{}/\\-+*=<>%#&'\"!?~|_^°µ±×≥≤→←↑↓’‘“”–—")
_COLLAPSE = re.compile(re.escape(REMOVED) + r"(?:[ \t.,:;'’\-]*" + re.escape(REMOVED) + ")+")
_GENTLE = re.compile(r"[ \t.:,\-]*")  # what may stand between a cue and the name it announces
_CACHE_LIMIT = 512  # texts at most this long are memoised (descriptions repeat in every instance)


@dataclass(frozen=True, slots=True)
class _Lists:
    safe: frozenset[str]  # philter "nonames"
    names: frozenset[str]  # philter first and last names
    words: frozenset[str]  # radiology vocabulary
    eponyms: frozenset[str]
    eponym_context: frozenset[str]
    pattern: re.Pattern[str]  # the tokeniser, compounds first


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "num", "comp", "ph" (placeholder), "drop"
    text: str
    start: int
    end: int


def _philter_file() -> Path:
    try:
        located = importlib.metadata.distribution(_PHILTER).locate_file(_PHILTER_SET)
    except importlib.metadata.PackageNotFoundError:
        located = None
    path = Path(str(located)) if located is not None else None
    if path is None or not path.is_file():
        raise DeidentificationError(
            "The free-text cleaner needs the word lists of philter-lite 0.6.0, which are not installed: "
            "install CaseDeck's requirements (pip install -r requirements.txt)."
        )
    return path


def _arrays(text: str) -> dict[str, frozenset[str]]:
    """The string arrays of philter's set.toml, by a regex per array (tomllib takes ~3x longer)."""
    arrays: dict[str, frozenset[str]] = {}
    for match in re.finditer(r"^(\w+)\s*=\s*\[(.*?)\]\s*$", text, re.MULTILINE | re.DOTALL):
        arrays[match.group(1)] = frozenset(w.lower() for w in re.findall(r'"([^"\\]*)"', match.group(2)) if w)
    return arrays


def _sections(text: str) -> dict[str, list[str]]:
    """safe_words.txt: [section] headers, then entries (words a line, or one compound a line)."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        else:
            current.append(line)
    return sections


@cache
def _lists() -> _Lists:
    """Every list the cleaner reads, loaded once per process (about 0.3 s)."""
    arrays = _arrays(_philter_file().read_text(encoding="utf-8"))
    if not {"nonames", "firstnames", "lastnames"} <= arrays.keys():
        raise DeidentificationError("philter-lite's word lists are not as expected: reinstall philter-lite 0.6.0.")
    sections = _sections(resources.files("casefiles.deid").joinpath("safe_words.txt").read_text(encoding="utf-8"))
    entries = [w.lower() for line in sections.get("words", []) for w in line.split()]
    words = frozenset(w for w in entries if re.fullmatch(r"[^\W_]+(?:'[^\W_]+)?", w))
    compounds = [line for line in sections.get("compounds", [])] + [w for w in entries if w not in words]
    eponyms = frozenset(w.lower() for line in sections.get("eponyms", []) for w in line.split())
    context = frozenset(w.lower() for line in sections.get("eponym-context", []) for w in line.split())
    return _Lists(
        safe=arrays["nonames"],
        names=arrays["firstnames"] | arrays["lastnames"],
        words=words,
        eponyms=eponyms,
        eponym_context=context,
        pattern=_tokeniser(compounds),
    )


def _compound_pattern(compound: str) -> str:
    parts = [r"\s+" if part.isspace() else re.escape(part) for part in re.split(r"(\s+)", compound.strip())]
    return "".join(parts)


def _tokeniser(compounds: Iterable[str]) -> re.Pattern[str]:
    alternation = "|".join(_compound_pattern(c) for c in sorted(set(compounds), key=lambda c: (-len(c), c)))
    return re.compile(
        rf"(?P<drop>{_DROP})"
        rf"|(?P<ph>{re.escape(REMOVED)})"
        rf"|(?P<comp>(?<![^\W_])(?:{alternation})(?![^\W_]))"
        r"|(?P<num>(?<![^\W_])\d{1,4}(?:[.,]\d{1,4})?[^\W\d_]{0,5}(?![^\W_]))"
        r"|(?P<word>[^\W_]+(?:['’][^\W_]+)*)",
        re.IGNORECASE,
    )


def warm_up() -> None:
    """Load the lists now (e.g. before timing, or before forking import workers)."""
    _lists()


def _base(word: str) -> str:
    """'Crohn's' -> 'crohn'; lower case."""
    low = word.lower().replace("’", "'")
    if low.endswith("'s"):
        return low[:-2]
    return low.rstrip("'")


def clean_free_text(text: str) -> str:
    """``text`` with every word the cleaner cannot vouch for replaced by '[removed]' (runs collapsed)."""
    if not isinstance(text, str):
        raise TypeError(f"clean_free_text needs a text, not {type(text).__name__}.")
    if not text:
        return text
    if len(text) <= _CACHE_LIMIT:
        return _clean_cached(text)
    return _clean(text)


@lru_cache(maxsize=8192)
def _clean_cached(text: str) -> str:
    return _clean(text)


def clean_label(text: str, max_len: int) -> str:
    """A cleaned one-line label of at most ``max_len`` characters that never ends in a cut placeholder."""
    cleaned = " ".join(clean_free_text(text).split())
    if len(cleaned) <= max_len:
        return cleaned
    cut = cleaned[:max_len]
    start = cut.rfind("[")
    if start != -1 and cleaned.startswith(REMOVED, start) and start + len(REMOVED) > max_len:
        cut = cut[:start]
    return cut.rstrip()


def _clean(text: str) -> str:
    lists = _lists()
    tokens = [_token(m) for m in lists.pattern.finditer(text)]
    run = _Pass(text, tokens, not any(c.islower() for c in text), lists, [t.kind == "drop" for t in tokens])
    run.apply_cues()
    removed = run.removed
    for i in range(len(tokens)):
        if not removed[i] and i not in run.cues and not _vouched(i, tokens, run.caps, lists):
            removed[i] = True
    out: list[str] = []
    position = 0
    for i, token in enumerate(tokens):
        out.append(_separators(text[position : token.start]))
        out.append(REMOVED if removed[i] else token.text)
        position = token.end
    out.append(_separators(text[position:]))
    result = "".join(out)
    if REMOVED in result:
        result = _COLLAPSE.sub(REMOVED, result)
    return result


def _token(match: re.Match[str]) -> _Token:
    kind = match.lastgroup or "word"
    return _Token(kind, match.group(), match.start(), match.end())


def _separators(chunk: str) -> str:
    """Text between tokens: kept when made of ordinary punctuation and spaces, else a placeholder."""
    if not chunk or all(c in _SEPARATORS for c in chunk):
        return chunk
    out: list[str] = []
    for c in chunk:
        if c in _SEPARATORS:
            out.append(c)
        elif not out or out[-1] != REMOVED:
            out.append(REMOVED)
    return "".join(out)


def _is_vocab(token: _Token, lists: _Lists) -> bool:
    return token.kind == "comp" or (token.kind == "word" and _base(token.text) in lists.words)


@dataclass(slots=True)
class _Pass:
    """One text being cleaned: its tokens, whether it is all capitals, and what the cues removed."""

    text: str
    tokens: list[_Token]
    caps: bool  # no lower-case letter at all: capitals say nothing about names
    lists: _Lists
    removed: list[bool]
    cues: set[int] = field(default_factory=set)  # person cue words (kept: "Dr [removed]")

    def gentle_gap(self, left: int, right: int) -> bool:
        """Only spaces and light punctuation between two tokens (a cue and its name: 'Dr. X', 'tech: X')."""
        gap = self.text[self.tokens[left].end : self.tokens[right].start]
        return len(gap) <= 4 and _GENTLE.fullmatch(gap) is not None

    def apply_cues(self) -> None:
        tokens = self.tokens
        for i, token in enumerate(tokens):
            if token.kind != "word":
                continue
            low = _base(token.text)
            if low in _PERSON_CUES:
                after = tokens[i + 1] if i + 1 < len(tokens) else None
                code = after is not None and (_is_vocab(after, self.lists) or after.kind == "num")
                if low in _AMBIGUOUS_CUES and code:
                    continue  # MR BRAIN, DR CHEST, CC MLO, 10 cc IV
                self.cues.add(i)
                self.after_person_cue(i, low)
            elif low in _PLACE_CUES:
                self.around_place_cue(i)

    def after_person_cue(self, i: int, cue: str) -> None:
        strong = cue in _TITLES or cue in _RELATIVES
        tokens, lists = self.tokens, self.lists
        count, previous = 0, i
        for j in range(i + 1, len(tokens)):
            token = tokens[j]
            if not self.gentle_gap(previous, j):
                return
            previous = j
            if token.kind == "ph":
                continue  # a name part already removed: the rest of the name may follow
            if token.kind != "word" or count >= 3:
                return
            low = _base(token.text)
            if (low in _PERSON_CUES and low not in _RELATIVES) or low in _PLACE_CUES:
                return  # "per Dr X": the next cue handles its own name; "Dr X, Y Medical Center": so does a place
            vocab = low in lists.words
            if self.caps:
                name = not (vocab or low in _STOPWORDS) if count == 0 else (low in lists.names and not vocab)
            elif token.text[0].isupper():
                name = strong or not vocab
            elif low in _NAME_PARTICLES and j + 1 < len(tokens) and tokens[j + 1].text[:1].isupper():
                name = True
            elif count == 0 and not vocab and low not in _STOPWORDS:
                # Lower case gives no signal: after a title, relative or call/tech/ref cue the next word is
                # the name; after the commoner "per"/"by" only a word of the name lists is.
                name = cue not in _LOOSE_CUES or low in lists.names
            else:
                name = False
            if not name:
                return
            self.removed[j] = True
            count += 1

    def is_place_name(self, token: _Token) -> bool:
        low = _base(token.text)
        if token.kind != "word" or low in _STOPWORDS or low in _PERSON_CUES:
            return False
        if self.caps:
            return low not in self.lists.words
        return token.text[0].isupper() and low not in self.lists.words

    def around_place_cue(self, i: int) -> None:
        """'Lakeside Imaging', 'ST MARY HOSPITAL', 'University of Erewhon': the capitalised words of the name go."""
        tokens = self.tokens
        count, nxt = 0, i
        for j in range(i - 1, -1, -1):
            token = tokens[j]
            if count >= 3 or not self.gentle_gap(j, nxt):
                break
            nxt = j
            if token.kind == "ph" or (token.kind == "word" and _base(token.text) in _PLACE_CUES):
                continue  # "Radiology Associates": both cue words stay, the name before them goes
            if not self.is_place_name(token):
                break
            self.removed[j] = True
            count += 1
        if i + 2 < len(tokens) and _base(tokens[i + 1].text) in {"of", "de", "du", "des", "di"}:
            previous = i + 1
            for j in range(i + 2, min(len(tokens), i + 5)):
                if not self.gentle_gap(previous, j) or not self.is_place_name(tokens[j]):
                    break
                self.removed[j] = True
                previous = j


def _vouched(i: int, tokens: list[_Token], caps: bool, lists: _Lists) -> bool:
    token = tokens[i]
    if token.kind in ("comp", "ph"):
        return True
    if token.kind == "num":
        digits = token.text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        suffix = token.text[len(digits) :].lower()
        return not suffix or suffix in _UNIT_SUFFIXES
    if token.kind != "word":
        return False
    low = _base(token.text)
    if low in lists.words:
        return True
    if low in lists.eponyms:
        return _medical_context(i, tokens, lists)
    if any(c.isdigit() for c in low):
        return low.isascii() and _ALNUM_SAFE.fullmatch(low) is not None
    if low in _PERSON_CUES or low in _PLACE_CUES:
        return True
    if not caps and token.text[0].isupper() and low in lists.names:
        return False  # Title-case name in mixed-case text (Hope, Grant, Rose): the name lists veto
    return low in lists.safe


def _medical_context(i: int, tokens: list[_Token], lists: _Lists) -> bool:
    """An eponym next to a word that makes it medical: 'Crohn disease', 'Gleason 3+4', 's/p Whipple'."""
    for step in (-1, 1, 2, -2):
        j = i + step
        if not 0 <= j < len(tokens):
            continue
        token = tokens[j]
        if abs(step) == 1 and token.kind in ("num", "comp"):
            return True
        if token.kind == "word":
            low = _base(token.text)
            if low in lists.eponym_context or (abs(step) == 1 and low in _ROMAN):
                return True
    return False


_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi", "iif", "iia", "iib", "iic", "iiia", "iiib", "iiic"})


# -- re-cleaning stored instances -------------------------------------------------------------------


def reclean_dataset(ds: Dataset) -> int:
    """Run the cleaner over every kept free-text value of an already de-identified dataset, in place.

    The selection is the engine's: prose values of elements the profile cleans, every prose value
    inside a sequence the profile cleans (SR content, request attributes...), and prose values of
    kept private elements. Codes (CS, AE, UI, code values of a coding scheme), dates and the
    engine's own records are left alone; a kept person name (other than the pseudonym) is replaced
    whole. Returns how many values changed.
    """
    from casefiles.deid.profiles import PROFILES
    from casefiles.deid.table import Action, compile_table

    cleaned_tags: set[int] = set()
    for profile in PROFILES.values():
        table = compile_table(profile.options)
        cleaned_tags |= {tag for tag, action in table.actions.items() if action is Action.CLEAN}
    return _reclean_level(ds, frozenset(cleaned_tags), free_text=False, top=True)


_PATIENT_NAME = 0x00100010
_ENGINE_RECORDS = frozenset({0x00120063, 0x00120064})  # De-identification Method (+ code sequence)
_DUMMY_PN = "ANONYMOUS"


def _reclean_level(ds: Dataset, cleaned_tags: frozenset[int], *, free_text: bool, top: bool) -> int:
    changed = 0
    scheme = ds.get(CODING_SCHEME_DESIGNATOR)
    standard_codes = scheme is not None and str(scheme.value or "").strip().upper() in STANDARD_SCHEMES
    for tag in list(ds.keys()):
        number = int(tag)
        group = number >> 16
        if group <= 0x0002 or number in _ENGINE_RECORDS:
            continue
        private = bool(group & 1)
        if private and 0x0010 <= number & 0xFFFF <= 0x00FF:
            continue  # private creators must stay as they are to name their block
        elem = ds[tag]  # converts a raw element in place: this dataset is being rewritten anyway
        vr = str(elem.VR)
        if vr == "SQ":
            inner = free_text or number in cleaned_tags or private
            for item in elem.value or []:
                changed += _reclean_level(item, cleaned_tags, free_text=inner, top=False)
            continue
        if vr == "PN":
            if top and number == _PATIENT_NAME:
                continue  # the engine's pseudonym
            changed += _replace_person_name(elem)
            continue
        if vr not in PROSE_VRS or number in CODE_VALUE_TAGS:
            continue
        if not (free_text or private or number in cleaned_tags):
            continue
        if number == CODE_MEANING and standard_codes:
            continue
        changed += _reclean_element(elem, vr)
    return changed


def _replace_person_name(elem: DataElement | RawDataElement) -> int:
    value = elem.value
    values = list(value) if isinstance(value, MultiValue | list) else [value]
    if all(str(v or "").strip() in ("", _DUMMY_PN) for v in values):
        return 0
    elem.value = _DUMMY_PN  # type: ignore[misc]
    return 1


def _reclean_element(elem: DataElement | RawDataElement, vr: str) -> int:
    value = elem.value
    if value is None or isinstance(value, bytes | Sequence):
        return 0
    if vr in ("LT", "ST", "UT") or isinstance(value, str):
        text = str(value)
        new = clean_free_text(text)
        if new == text:
            return 0
        elem.value = new  # type: ignore[misc]
        return 1
    items = [str(v) for v in value]
    cleaned = [clean_free_text(v) for v in items]
    if cleaned == items:
        return 0
    elem.value = cleaned  # type: ignore[misc]
    return 1
