"""The command line's ``vocabulary`` command: list the installation's terms, add one (#17).

``vocabulary list [--kind K]`` prints ``kind<TAB>label<TAB>synonyms (;-separated)<TAB>shipped|added``;
``vocabulary add --kind K --label L [--synonym S]...`` adds a term as the local operator (whoever
runs commands on the server). Here rather than in ``casefiles.vocabulary``: it opens the store,
which the layers put above the vocabulary.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from casefiles.config import Settings
from casefiles.department import LOCAL_OPERATOR
from casefiles.store.opening import open_store
from casefiles.usecases.vocabulary_terms import VocabularyTerms
from casefiles.vocabulary import KINDS


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Callable[..., Settings]) -> None:
    """Register ``vocabulary`` on the main parser."""
    p = sub.add_parser("vocabulary", help="the vocabulary: list terms, add an installation's own term")
    actions = p.add_subparsers(dest="vocabulary_command", required=True)
    q = actions.add_parser("list", help="every term (shipped and added), with its synonyms")
    q.add_argument("--kind", choices=KINDS)
    q = actions.add_parser("add", help="add a term with its synonyms (kept in the library's store)")
    q.add_argument("--kind", choices=KINDS, required=True)
    q.add_argument("--label", required=True)
    q.add_argument("--synonym", action="append", default=[], help="another name for it (repeat)")
    p.set_defaults(func=lambda args: _vocabulary(args, settings(args)))


def _vocabulary(args: argparse.Namespace, settings: Settings) -> int:
    terms = VocabularyTerms(LOCAL_OPERATOR, open_store(settings))
    if args.vocabulary_command == "add":
        term = terms.add(args.kind, args.label, args.synonym)
        print(f"{term.kind}\t{term.label}\t{'; '.join(term.synonyms)}\tadded")
        return 0
    for item in terms.terms(args.kind):
        origin = "added" if item.added else "shipped"
        print(f"{item.term.kind}\t{item.term.label}\t{'; '.join(item.term.synonyms)}\t{origin}")
    return 0
