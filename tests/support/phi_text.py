"""An adversarial generator of DICOM free text that names third parties (issue #12).

Every string here is invented for these tests (nothing is taken from sample_data): referring
doctors, relatives, technologists and outside clinics, written the many ways people write them
into descriptions, histories and SR text. Names are drawn from three pools:

- pronounceable surnames made of random syllables (in no word list, so only the rules catch them);
- real common first and last names;
- names that are English words (Hope, Grant, Rose, Bill, Will): the hard case for any safe-list.

``Planted.secrets`` are the identifying strings a test asserts never leave, matched as whole words
case-insensitively (see :func:`survivors`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

REAL_FIRST = ("James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Susan", "Thomas")
REAL_LAST = ("Smith", "Johnson", "Williams", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson", "Taylor")
WORD_NAMES = ("Hope", "Grant", "Rose", "Bill", "Will", "Faith", "Joy", "Frank", "Mark", "Dawn")
_ONSETS = ("b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "pr", "r", "s", "st", "t", "v")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ee")
_CODAS = ("", "n", "r", "s", "l", "m", "th", "x", "k")
_PLACE_WORDS = ("Clinic", "Hospital", "Imaging", "Radiology", "Medical Center", "Medical Centre", "Practice", "Surgery")

#: Medical phrases that must survive cleaning, as written (the issue's list and typical descriptions).
MEDICAL = (
    "CT CHEST W CONTRAST",
    "US ABDOMEN COMPLETE",
    "r/o PE",
    "s/p RUL lobectomy",
    "Bosniak IIF cyst",
    "BI-RADS 4",
    "MR BRAIN W WO",
    "XR CHEST PA AND LATERAL",
    "LI-RADS 5",
    "T2 FLAIR AX",
    "DWI b1000",
    "Crohn disease",
)


@dataclass(frozen=True)
class Planted:
    """A text with identifiers in it: ``secrets`` must go, ``medical`` must stay."""

    text: str
    secrets: tuple[str, ...]
    medical: str = ""


class PhiText:
    """Seeded source of third-party names, places and phrasings."""

    def __init__(self, seed: int = 12) -> None:
        self.rng = random.Random(seed)

    def invented_surname(self) -> str:
        syllables = [
            self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
            for _ in range(self.rng.randint(2, 3))
        ]
        return "".join(syllables).capitalize()

    def surname(self) -> str:
        pool = self.rng.randrange(3)
        if pool == 0:
            return self.invented_surname()
        return self.rng.choice(REAL_LAST if pool == 1 else WORD_NAMES)

    def first_name(self) -> str:
        return self.rng.choice(REAL_FIRST + WORD_NAMES)

    def place(self) -> tuple[str, str]:
        """('Zoubrin Imaging', 'Zoubrin'): the place as written and the identifying part."""
        name = self.invented_surname() if self.rng.random() < 0.7 else self.rng.choice(("Lakeshore", "Kaiser"))
        return f"{name} {self.rng.choice(_PLACE_WORDS)}", name

    def phone(self) -> str:
        return self.rng.choice(
            (
                f"555-{self.rng.randint(1000, 9999)}",
                f"(555) {self.rng.randint(100, 999)}-{self.rng.randint(1000, 9999)}",
                f"+1 555 {self.rng.randint(100, 999)} {self.rng.randint(1000, 9999)}",
            )
        )

    def identifier(self) -> Planted:
        """One way of writing a third party, with what identifies them."""
        last, first = self.surname(), self.first_name()
        place, place_name = self.place()
        phone = self.phone()
        email = f"{first.lower()}.{last.lower()}@{place_name.lower()}-health.org"
        forms: list[Callable[[], Planted]] = [
            lambda: Planted(f"Dr. {last}", (last,)),
            lambda: Planted(f"DR {last.upper()}", (last,)),
            lambda: Planted(f"per Dr {first} {last}", (first, last)),
            lambda: Planted(f"PER DR {last.upper()}", (last,)),
            lambda: Planted(f"call {last} at {phone}", (last, phone)),
            lambda: Planted(f"CALL {last.upper()} {phone}", (last, phone)),
            lambda: Planted(f"from {place}", (place_name,)),
            lambda: Planted(f"FROM {place.upper()}", (place_name,)),
            lambda: Planted(f"husband {first}", (first,)),
            lambda: Planted(f"wife {first} {last}", (first, last)),
            lambda: Planted(f"daughter {first.lower()}", (first,)),
            lambda: Planted(f"tech: {first}", (first,)),
            lambda: Planted(f"TECH {first.upper()}", (first,)),
            lambda: Planted(f"ref by Dr {last}, {place}", (last, place_name)),
            lambda: Planted(f"cc Mrs {last}", (last,)),
            lambda: Planted(f"seen by Mr {first} {last}", (first, last)),
            lambda: Planted(f"results to {email}", (email, first, last)),
            lambda: Planted(f"per dr {last.lower()}", (last,)),
            lambda: Planted(f"attn {last}", (last,)),
            lambda: Planted(f"Referred by {first} {last}", (first, last)),
        ]
        return self.rng.choice(forms)()

    def text(self, medical: str, *, max_len: int | None = None) -> Planted:
        """``medical`` with an identifier before or after it (within ``max_len`` characters)."""
        for _ in range(50):
            who = self.identifier()
            text = f"{medical} {who.text}" if self.rng.random() < 0.5 else f"{who.text}; {medical}"
            if max_len is None or len(text) <= max_len:
                return Planted(text, who.secrets, medical)
        raise ValueError(f"no identifier fits in {max_len} characters with {medical!r}")


def survivors(data: bytes | str, secrets: list[str]) -> list[str]:
    """The secrets found in ``data`` as whole words (case-insensitive): what leaked."""
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    found = []
    for secret in set(secrets):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", text, re.IGNORECASE):
            found.append(secret)
    return sorted(found)
