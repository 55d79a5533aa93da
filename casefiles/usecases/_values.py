"""Reading the values a form or the CLI gives for an edit (shared by the use cases)."""

from __future__ import annotations

from collections.abc import Iterable

from casefiles.errors import ValidationError


def as_text_list(value: object, *, split_commas: bool) -> tuple[str, ...]:
    """Accept a list, or text with one item per line (and commas for tags)."""
    if isinstance(value, str):
        parts = value.replace(",", "\n").splitlines() if split_commas else value.splitlines()
        return tuple(p.strip() for p in parts if p.strip())
    if isinstance(value, Iterable):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise ValidationError("Expected a list of texts, one per line.")
