"""``python -m casefiles search TEXT [--modality …]``: the library's ranked search from a terminal.

Runs as the local operator (every case, like ``list``): whoever runs commands on the server holds
the data directory already. Prints one line per hit: id, score, title.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from casefiles.config import Settings
from casefiles.search.usecase import CaseSearch
from casefiles.store.fulltext import SearchQuery
from casefiles.store.opening import open_store


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Callable[..., Settings]) -> None:
    """Register ``search`` on the main parser."""
    p = sub.add_parser("search", help="ranked search of the library (typos, British spellings, synonyms)")
    p.add_argument("text", nargs="?", default="", help="words to look for (none: newest first)")
    p.add_argument("--modality", default="")
    p.add_argument("--region", default="", help="body region")
    p.add_argument("--category", default="", help="diagnosis category")
    p.add_argument("--difficulty", default="", help="introductory, intermediate or advanced")
    p.add_argument("--author", default="")
    p.add_argument("--limit", type=int, default=20, help="how many hits to print (default 20)")
    p.set_defaults(func=lambda args: run(args, settings(args)))


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        print("--limit must be at least 1.", file=sys.stderr)
        return 2
    query = SearchQuery(
        text=args.text,
        modality=args.modality,
        body_region=args.region,
        category=args.category,
        difficulty=args.difficulty,
        author=args.author,
        limit=args.limit,
    )
    results = CaseSearch(open_store(settings)).search(query)
    for note in results.notes:
        print(note, file=sys.stderr)
    for hit in results.hits:
        print(f"{hit.summary.id}\t{hit.score}\t{hit.summary.title}")
    print(f"{len(results.hits)} of {results.total} matching case(s).", file=sys.stderr)
    return 0
