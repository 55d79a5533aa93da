"""Keep third-party libraries from writing patient data into logs.

pydicom reports invalid values with the value itself (``Invalid value for VR
CS: 'PIDX-77123'``) through both ``warnings`` and its logger, and the input
it reads is identifiable. CaseDeck turns its read-time value validation off
and silences its logger and warnings; our own errors say what is wrong
without quoting values.
"""

from __future__ import annotations

import logging
import warnings

import pydicom.config


def silence_value_logging() -> None:
    """Idempotent; called when services or the CLI start (and in import workers)."""
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    # pydicom, and the media libraries, may quote file content (names, metadata) in their messages.
    for name in ("pydicom", "pypdf", "PIL", "tifffile"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
    warnings.filterwarnings("ignore", module=r"pydicom(\..*)?$")
    warnings.filterwarnings("ignore", message=r".*(value|VR).*", category=UserWarning, module=r"pydicom")
