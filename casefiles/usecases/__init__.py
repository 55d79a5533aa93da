"""The application's use cases, one module each, over narrow interfaces built in one place.

Each module here declares, as Protocols, only what it needs (part of the store
contract, a lock shared by the edits, a check against running exports...) and
never imports another use case, the facade ``casefiles.services`` or the pages;
``casefiles.services`` builds them all over one data directory (the composition
root, :func:`casefiles.services.open_services`) and keeps the ``Services`` API the
pages and the CLI call. The import-linter contracts in pyproject.toml hold this.
"""
