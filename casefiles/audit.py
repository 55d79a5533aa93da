"""The audit trail: who did what to which case, when and from where — and no patient data (issue #16).

Events go to the store's append-only, hash-chained log (casefiles.store.records). Ids, user
names, actions and counts are kept; titles, names, accession numbers and patient IDs are not.
Where an original identifier must stay traceable (the accession numbers of a PACS pull), the
event keeps a keyed hash (HMAC-SHA256 with the installation's secret), so an admin can ask
"was accession X pulled?" by typing X, while the log alone reveals nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from casefiles.errors import ValidationError
from casefiles.store.records import AuditEntry, first_broken

#: What an event may name; anything else is refused before it is written.
ACTIONS = frozenset(
    {
        "sign_in",
        "sign_in_refused",
        "sign_out",
        "user.create",
        "user.disable",
        "user.reset",
        "user.enable",
        "user.update",
        "user.password",
        "user.password_refused",
        "audit.export",
        "case.view",
        "case.edit",
        "case.delete",
        "case.export",
        "conference.view",
        "conference.edit",
        "conference.delete",
        "conference.export",
        "pacs.pull",
        "pacs.push",
        "import",
        "share.create",
        "share.revoke",
        "share.open",
        "share.refused",
        "upload.received",
        "quiz.create",
        "quiz.edit",
        "quiz.publish",
        "quiz.close",
        "quiz.delete",
        "quiz.start",
        "quiz.answer",
        "quiz.refused",
        "quiz.results",
        "quiz.export",
    }
)
#: Detail keys an event may carry: counts, formats and roles, never free text from a study.
DETAIL_KEYS = frozenset({"format", "count", "accession_hashes", "node", "kind", "reason", "link", "bytes", "role"})


class AuditLog(Protocol):
    def append_audit(self, data: Mapping[str, Any]) -> AuditEntry: ...
    def audit_entries(self, after_seq: int = 0, limit: int | None = None) -> list[AuditEntry]: ...


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    target_id: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def matches(self, data: Mapping[str, Any]) -> bool:
        at = dt.datetime.fromisoformat(data["at"])
        return (
            (not self.actor or data.get("actor") == self.actor)
            and (not self.action or data.get("action") == self.action)
            and (not self.target_id or data.get("target_id") == self.target_id)
            and (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Audit:
    """Record and read events; ``secret`` keys the hashes of identifiers that must stay traceable."""

    def __init__(self, log: AuditLog, secret: bytes, clock: Callable[[], dt.datetime] = _now) -> None:
        if len(secret) < 16:
            raise ValidationError("The audit log needs the installation's secret key.")
        self._log = log
        self._key = hmac.new(secret, b"casedeck audit identifiers", hashlib.sha256).digest()
        self._clock = clock

    def keyed(self, identifier: str) -> str:
        """The keyed hash an event keeps in place of an identifier (case and spaces do not matter)."""
        return hmac.new(self._key, identifier.strip().upper().encode(), hashlib.sha256).hexdigest()

    def record(
        self,
        actor: str,
        action: str,
        *,
        target_kind: str = "",
        target_id: str = "",
        where: str = "",
        accessions: Iterable[str] = (),
        **details: Any,
    ) -> AuditEntry:
        if action not in ACTIONS:
            raise ValidationError(f"Unknown audit action {action!r}.")
        unknown = set(details) - DETAIL_KEYS
        if unknown:
            raise ValidationError(f"Audit details may not carry {sorted(unknown)} (no free text in the log).")
        data: dict[str, Any] = {
            "at": self._clock().isoformat(),
            "actor": actor,
            "action": action,
            "target_kind": target_kind,
            "target_id": target_id,
            "where": where,
            **details,
        }
        hashes = sorted({self.keyed(a) for a in accessions if a.strip()})
        if hashes:
            data["accession_hashes"] = hashes
        return self._log.append_audit(data)

    def events(self, where: AuditFilter | None = None) -> list[AuditEntry]:
        entries = self._log.audit_entries()
        return [e for e in entries if where is None or where.matches(e.data)]

    def pulls_of(self, accession: str) -> list[AuditEntry]:
        """PACS pulls that retrieved this accession number (typed by the admin, compared as a keyed hash)."""
        wanted = self.keyed(accession)
        return [e for e in self.events(AuditFilter(action="pacs.pull")) if wanted in e.data.get("accession_hashes", ())]

    def first_broken(self) -> int | None:
        """Position of the first entry that was changed, removed or reordered (None: the log is intact)."""
        return first_broken(self._log.audit_entries())


CSV_COLUMNS = ("seq", "at", "actor", "action", "target_kind", "target_id", "where", "details", "hash")


def to_csv(entries: Sequence[AuditEntry]) -> str:
    """The entries as CSV for an admin; cells that a spreadsheet would run as formulas are defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        data = dict(entry.data)
        details = {k: v for k, v in data.items() if k not in CSV_COLUMNS}
        row = [entry.seq, *(data.get(c, "") for c in CSV_COLUMNS[1:7]), _details(details), entry.hash]
        writer.writerow([_defused(str(cell)) for cell in row])
    return out.getvalue()


def _details(details: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in sorted(details.items()))


def _defused(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
