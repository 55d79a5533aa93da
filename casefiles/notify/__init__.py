"""Notifications (issue #16, scope 6): e-mail over SMTP and the in-app list.

- :mod:`casefiles.notify.messages`: the notification kinds, their plain-text subject and body
  built from non-PHI inputs only, and the fail-closed PHI guard every text passes;
- :mod:`casefiles.notify.mail`: SMTP settings from the environment and the mailer;
- :mod:`casefiles.notify.inbox`: the in-app notification model and pure functions over it.
"""
