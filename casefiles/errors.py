"""One root error for CaseDeck, and one subclass per area.

Every message is written for the user who has to act on it, and never
contains patient data (names, IDs, dates, file names from an import).
"""


class CaseDeckError(Exception):
    """Root of every error CaseDeck raises on purpose."""


class ValidationError(CaseDeckError, ValueError):
    """A value given to a model constructor or a service is not acceptable."""


class NotFoundError(CaseDeckError, LookupError):
    """A case, conference, asset or blob that was asked for does not exist."""


class StorageError(CaseDeckError):
    """The data directory cannot be read or written."""


class ImportFailure(CaseDeckError):
    """A file or archive cannot be imported (corrupt, unsafe, not DICOM...)."""


class DeidentificationError(CaseDeckError):
    """An instance cannot be made safe; it is quarantined, never stored."""


class RenderError(CaseDeckError):
    """Pixel data cannot be turned into a display image."""


class ExportError(CaseDeckError):
    """A deck or package cannot be written."""


class Cancelled(CaseDeckError):
    """Long work was cancelled by the user; partial results were discarded."""


class ReviewAreaError(CaseDeckError):
    """The review area cannot keep or give back an original (full, key changed, damaged, gone)."""


class StaleEditError(CaseDeckError):
    """An edit was made on a copy of a case that the library has since changed; nothing was saved."""


class ConflictError(StorageError):
    """A save was made on an older version of a document than the store holds; nothing was saved."""


class BusyError(CaseDeckError):
    """What was asked cannot be done while other work on the same case or conference runs (an export)."""
