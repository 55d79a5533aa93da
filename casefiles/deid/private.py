"""Private elements kept by the Retain Safe Private option, as data.

Each entry is (private creator, group, element offset within the block): the
block number a vendor used varies from file to file, so the creator string and
the low byte identify the element. Only numeric acquisition parameters are
listed (values that cannot hold names); everything else private is removed. The
leak check still scans what is kept.
"""

from __future__ import annotations

SAFE_PRIVATE: frozenset[tuple[str, int, int]] = frozenset(
    {
        # Siemens MR diffusion: b value, directionality, gradient direction, B matrix
        ("SIEMENS MR HEADER", 0x0019, 0x0C),
        ("SIEMENS MR HEADER", 0x0019, 0x0D),
        ("SIEMENS MR HEADER", 0x0019, 0x0E),
        ("SIEMENS MR HEADER", 0x0019, 0x27),
        # GE MR diffusion: gradient directions and b value slot
        ("GEMS_ACQU_01", 0x0019, 0xBB),
        ("GEMS_ACQU_01", 0x0019, 0xBC),
        ("GEMS_ACQU_01", 0x0019, 0xBD),
        ("GEMS_PARM_01", 0x0043, 0x39),
        # Philips MR: diffusion b factor and direction
        ("Philips Imaging DD 001", 0x2001, 0x03),
        ("Philips Imaging DD 001", 0x2001, 0x04),
        ("Philips MR Imaging DD 001", 0x2005, 0xB0),
        ("Philips MR Imaging DD 001", 0x2005, 0xB1),
        ("Philips MR Imaging DD 001", 0x2005, 0xB2),
    }
)
