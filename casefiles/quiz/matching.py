"""Is a typed answer one of the accepted ones? Case, accents, punctuation, spelling, synonyms, a typo.

Both sides are folded the same way before they are compared:

1. accents dropped (``Ménétrier`` → ``menetrier``), then the vocabulary's phrase folding: lower
   case, words only (punctuation and spacing do not matter), British spellings to the one form
   (``tumour`` → ``tumor``, ``oesophageal`` → ``esophageal``);
2. a name the vocabulary knows is replaced by its term (``HCC`` and ``hepatoma`` →
   ``hepatocellular carcinoma``), so an accepted answer accepts all its synonyms;
3. a small typo is forgiven in longer answers: one edit from 5 characters, two from 12
   (plain Levenshtein distance; no dependency). Short answers (``HCC``, ``MS``) must be exact,
   because one letter makes another diagnosis there.

A leading article and "the likely/probable diagnosis is" are not part of the answer either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from casefiles.quiz.model import MAX_ANSWER_CHARS
from casefiles.vocabulary import Vocabulary, shipped_vocabulary

_FILLER = re.compile(r"^(?:(?:the|a|an|most|likely|probable|probably|diagnosis|is|dx)\s+)+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def folded(text: str, vocabulary: Vocabulary | None = None) -> str:
    """``text`` as answers are compared: accents, case, punctuation, spelling and synonyms folded."""
    vocabulary = vocabulary or shipped_vocabulary()
    phrase = vocabulary.phrase(_strip_accents(text[: MAX_ANSWER_CHARS * 2]))
    phrase = _FILLER.sub("", phrase + " ").strip() or phrase
    return vocabulary.canonical(phrase) or phrase


def typo_allowance(length: int) -> int:
    """How many single-character edits an answer of ``length`` characters may differ by."""
    if length >= 12:
        return 2
    return 1 if length >= 5 else 0


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def matches(answer: str, accepted: Iterable[str], vocabulary: Vocabulary | None = None) -> bool:
    """Whether ``answer`` names one of the ``accepted`` answers (see the module's rules)."""
    vocabulary = vocabulary or shipped_vocabulary()
    given = folded(answer, vocabulary)
    if not given:
        return False
    for option in accepted:
        wanted = folded(option, vocabulary)
        if not wanted:
            continue
        if given == wanted:
            return True
        allowance = typo_allowance(min(len(given), len(wanted)))
        if allowance and edit_distance(given, wanted, allowance) <= allowance:
            return True
    return False
