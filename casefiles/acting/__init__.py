"""Use cases as a signed-in person: every call asks the permission check first and is audited (issue #16).

``guard``: the library's use cases for one actor; ``links``: share and upload links;
``admin``: users, the audit log and notifications.
"""
