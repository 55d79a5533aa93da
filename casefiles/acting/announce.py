"""Telling people: a case shared with their group, a conference they present changed (issue #16).

Notices go to the in-app list and, where mail is set up, by e-mail (``Department.notify``); they
name ids and who acted, never a title that could carry patient data (casefiles.notify guards it).
A change to a conference is told once until read: an unread notice about it already says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from casefiles.accounts.local import User
from casefiles.accounts.permissions import Actor
from casefiles.errors import CaseDeckError
from casefiles.model import Conference
from casefiles.notify.inbox import InAppNotification
from casefiles.notify.messages import CONFERENCE_PATH, CaseShared, ConferenceChanged, Notification, Recipient
from casefiles.visibility import Sharing, Visibility

log = logging.getLogger("casedeck.announce")


class People(Protocol):
    def users(self) -> list[User]: ...


class Shelf(Protocol):
    def of(self, recipient: str, *, unread_only: bool = False) -> list[InAppNotification]: ...


class Notifier(Protocol):
    def notify(self, notification: Notification) -> None: ...


@dataclass(frozen=True)
class Announcer:
    people: People
    shelf: Shelf
    notifier: Notifier

    def case_shared(self, actor: Actor, case_id: str, sharing: Sharing) -> None:
        """Tell the members of the case's groups (not the one who shared it) that they may see it now."""
        if sharing.visibility is not Visibility.GROUP:
            return  # private: nobody new; department: everyone, which is what the Library is for
        for user in self._active(u for u in self.people.users() if u.groups & sharing.groups):
            if user.username != actor.username:
                self._send(CaseShared(_recipient(user), _name(actor, self.people), case_id))

    def conference_changed(self, actor: Actor, conference: Conference) -> None:
        """Tell its presenters (those named by their user name) and its owner, once until they read it."""
        wanted = {p.strip().lower() for p in conference.presenters} | {conference.sharing.owner}
        path = CONFERENCE_PATH + conference.id
        for user in self._active(u for u in self.people.users() if u.username in wanted):
            if user.username == actor.username:
                continue
            if any(
                n.link == path and n.kind == "conference_changed"
                for n in self.shelf.of(user.username, unread_only=True)
            ):
                continue
            self._send(
                ConferenceChanged(_recipient(user), _name(actor, self.people), conference.id, date=conference.date)
            )

    @staticmethod
    def _active(users: Iterable[User]) -> list[User]:
        return [u for u in users if not u.disabled]

    def _send(self, notification: Notification) -> None:
        try:
            self.notifier.notify(notification)
        except CaseDeckError as exc:  # the change is made; a notice that cannot be kept is logged, not raised
            log.warning("A %s notice was not kept (%s)", notification.kind, type(exc).__name__)


def _recipient(user: User) -> Recipient:
    return Recipient(user.username, user.display_name or user.username, user.email or None)


def _name(actor: Actor, people: People) -> str:
    known = next((u for u in people.users() if u.username == actor.username), None)
    return (known.display_name if known and known.display_name else actor.username)[:100]
