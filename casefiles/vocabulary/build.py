"""Build ``vocabulary.json`` from the curated source (``source/terms.txt``): ``scripts/build-vocabulary``.

The output is deterministic (terms sorted by kind and label, spellings by word, the source's
SHA-256 in ``"source"``), so a test can rebuild it and compare it with the shipped file. The build
refuses what search could not use: an empty label, a name (label or synonym, as search folds it)
claimed by two terms, a spelling that is not one lower-case word or that folds to another
British spelling.

Usage: ``python -m casefiles.vocabulary.build [--check] [--source PATH] [--out PATH]``
(``--check`` writes nothing and exits 1 when the shipped file is not what the source builds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from casefiles.errors import ValidationError
from casefiles.vocabulary import DATA, KINDS, Term, Vocabulary

SOURCE = Path(__file__).with_name("source") / "terms.txt"
SPELLINGS = "spellings"
_SECTION = re.compile(r"^\[([a-z_]+)\]$")
_ONE_WORD = re.compile(r"^[a-z]+$")


def parse_source(text: str) -> tuple[list[Term], dict[str, str]]:
    """The terms and spellings of a source file; a line that cannot be read names its number."""
    terms: list[Term] = []
    spellings: dict[str, str] = {}
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            if section not in (*KINDS, SPELLINGS):
                raise ValidationError(f"Line {number}: unknown section [{section}].")
            continue
        if not section:
            raise ValidationError(f"Line {number}: a term before any [section].")
        if section == SPELLINGS:
            british, sep, american = (part.strip() for part in line.partition("="))
            if not sep or not _ONE_WORD.match(british) or not _ONE_WORD.match(american):
                raise ValidationError(f"Line {number}: a spelling is 'british = american', one lower-case word each.")
            if british in spellings:
                raise ValidationError(f"Line {number}: {british!r} is spelled twice.")
            spellings[british] = american
            continue
        label, *synonyms = (part.strip() for part in line.split("|"))
        if not label or any(not s for s in synonyms):
            raise ValidationError(f"Line {number}: an empty label or synonym.")
        try:
            terms.append(Term(section, label, tuple(synonyms)))
        except ValidationError as exc:
            raise ValidationError(f"Line {number}: {exc}") from None
    return terms, spellings


def check_vocabulary(terms: Sequence[Term], spellings: dict[str, str]) -> None:
    """Refuse a vocabulary search could not use unambiguously (raises ValidationError naming the clash)."""
    for british, american in spellings.items():
        if british != british.lower() or american != american.lower() or british == american:
            raise ValidationError(f"The spelling {british!r} → {american!r} must be two different lower-case words.")
        if american in spellings:
            raise ValidationError(f"The spelling {british!r} → {american!r} leads to another British spelling.")
    folding = Vocabulary((), spellings)
    claimed: dict[str, Term] = {}
    for term in terms:
        label = folding.phrase(term.label)
        if not label:
            raise ValidationError(f"The {term.kind} {term.label!r} has no words in its label.")
        for position, name in enumerate((term.label, *term.synonyms)):
            key = folding.phrase(name)
            if not key:
                raise ValidationError(f"The {term.kind} {term.label!r} has a synonym with no words: {name!r}.")
            if position and key == label:
                raise ValidationError(f"The {term.kind} {term.label!r} lists its own label as a synonym ({name!r}).")
            other = claimed.get(key)
            if other is not None and other is not term:
                raise ValidationError(
                    f"{name!r} names two terms: the {other.kind} {other.label!r} and the {term.kind} {term.label!r}."
                )
            if other is term:
                raise ValidationError(f"The {term.kind} {term.label!r} lists {name!r} twice.")
            claimed[key] = term


def _term_order(term: Term) -> tuple[int, str, str]:
    return (KINDS.index(term.kind), term.label.casefold(), term.label)


def build(source_text: str, source_name: str = "casefiles/vocabulary/source/terms.txt") -> str:
    """The text of ``vocabulary.json`` for ``source_text`` (validated, sorted, naming its source)."""
    terms, spellings = parse_source(source_text)
    check_vocabulary(terms, spellings)
    digest = hashlib.sha256(source_text.encode("utf-8")).hexdigest()
    source = (
        f"Built by scripts/build-vocabulary from {source_name} (sha256 {digest}): "
        "written by the CaseDeck developers from general radiology knowledge, original work under "
        "CaseDeck's own licence; not RadLex, not the ACR Index."
    )

    def dumped(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{", f'  "source": {dumped(source)},', '  "spellings": {']
    pairs = sorted(spellings.items())
    lines += [f"    {dumped(b)}: {dumped(a)}{',' if i < len(pairs) - 1 else ''}" for i, (b, a) in enumerate(pairs)]
    lines += ["  },", '  "terms": [']
    ordered = sorted(terms, key=_term_order)
    for i, term in enumerate(ordered):
        entry = {"kind": term.kind, "label": term.label, "synonyms": list(term.synonyms)}
        lines.append(f"    {dumped(entry)}{',' if i < len(ordered) - 1 else ''}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/build-vocabulary", description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(SOURCE), help="the curated source (default: the shipped one)")
    parser.add_argument("--out", default=str(DATA), help="where to write (default: the shipped vocabulary.json)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out differs")
    args = parser.parse_args(argv)
    source = Path(args.source)
    root = Path(__file__).resolve().parents[2]
    name = source.resolve().relative_to(root).as_posix() if source.resolve().is_relative_to(root) else str(source)
    try:
        text = build(source.read_text(encoding="utf-8"), name)
    except (OSError, ValidationError) as exc:
        print(f"build-vocabulary: {exc}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if args.check:
        same = out.is_file() and out.read_text(encoding="utf-8") == text
        print(f"{out}: {'up to date' if same else 'differs from its source; run scripts/build-vocabulary'}")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    counts = {kind: sum(1 for line in text.splitlines() if f'"kind": "{kind}"' in line) for kind in KINDS}
    print(f"{out}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
