"""The shipped Annex E table and its actions, row by row on real datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset

from casefiles.deid import Deidentifier, Option, Profile
from casefiles.deid.profiles import BASIC
from casefiles.deid.table import Action, Row, load_rows, resolve, resolve_basic

from .conftest import SECRET, make_phi_ct, reread

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "data" / "ps3.15-annex-e-attributes.json"

# Elements the engine handles beyond the table (pseudonym, our own record, file meta), or whose
# value a fixture cannot set alone without breaking the dataset.
SPECIAL = {0x00100010, 0x00100020, 0x00080018, 0x00020003}
SIMPLE_VRS = {"LO", "SH", "PN", "ST", "LT", "UT", "CS", "DA", "TM", "DT", "UI", "SQ", "AE", "DS", "IS"}
SAMPLE_VALUES = {
    "LO": "PLANTED VALUE",
    "SH": "PLANTED",
    "PN": "Planted^Value",
    "ST": "PLANTED VALUE",
    "LT": "PLANTED VALUE",
    "UT": "PLANTED VALUE",
    "CS": "PLANTED",
    "AE": "PLANTEDAE",
    "DA": "20200131",
    "TM": "101010",
    "DT": "20200131101010",
    "UI": "1.2.826.0.1.3680043.8.498.424242",
    "DS": "12.5",
    "IS": "42",
}


def _rows(code: str, option: Option | None = None, limit: int = 4) -> list[Row]:
    """A deterministic sample: the first rows (by tag) with this basic code (and option column)."""
    picked = []
    for row in load_rows():
        if "x" in row.key or row.key == "private" or int(row.key, 16) in SPECIAL:
            continue
        if dictionary_VR(int(row.key, 16)) not in SIMPLE_VRS or int(row.key, 16) >> 16 <= 0x0002:
            continue
        if (option is None and row.basic == code) or (option is not None and row.options.get(option) == code):
            picked.append(row)
        if len(picked) == limit:
            break
    assert picked, f"no sample rows for {code} {option}"
    return picked


def _planted(row: Row) -> tuple[Dataset, int, str]:
    tag = int(row.key, 16)
    vr = str(dictionary_VR(tag))
    ds = make_phi_ct()
    if vr == "SQ":
        ds.add_new(tag, "SQ", [Dataset()])
        ds[tag].value[0].CodeValue = "PLANTED"
    else:
        ds.add_new(tag, vr, SAMPLE_VALUES[vr])
    return ds, tag, vr


def test_shipped_table_matches_its_source_row_for_row() -> None:
    rows = load_rows()
    assert len(rows) == 621
    if SOURCE.exists():  # the source lives outside the project; the shipped table must not need it
        source = json.loads(SOURCE.read_text(encoding="utf-8"))
        by_name = {r.name: r for r in rows}
        for attribute in source:
            assert by_name[attribute["name"]].basic == attribute["basicProfile"]


def test_build_script_reproduces_the_shipped_file(tmp_path: Path) -> None:
    if not SOURCE.exists():
        pytest.skip("../shared is not present")
    import runpy

    out = tmp_path / "annex_e.json"
    module = runpy.run_path(str(ROOT / "scripts" / "build_annex_e_table.py"))
    assert module["main"](["--source", str(SOURCE), "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (ROOT / "casefiles" / "deid" / "annex_e.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("code", "vr", "expected"),
    [
        ("X/Z", "LO", Action.EMPTY),
        ("X/D", "DA", Action.DUMMY),
        ("X/Z/D", "LO", Action.EMPTY),
        ("Z/D", "DA", Action.DUMMY),
        ("Z/D", "PN", Action.EMPTY),
        ("X/Z/U*", "SQ", Action.KEEP),
        ("D", "UI", Action.REMAP),
        ("U", "UI", Action.REMAP),
    ],
)
def test_combined_codes_resolve_to_the_least_destructive_valid_action(code: str, vr: str, expected: Action) -> None:
    assert resolve_basic(code, vr) is expected


def test_clean_from_one_option_wins_over_keep_from_another() -> None:
    row = next(r for r in load_rows() if r.key == "0014407e")  # Calibration Date: device K, modified dates C
    options = frozenset({Option.RETAIN_DEVICE_IDENTITY, Option.RETAIN_LONG_MODIFIED_DATES})
    assert resolve(row, options, "DA") is Action.CLEAN
    assert resolve(row, frozenset({Option.RETAIN_DEVICE_IDENTITY}), "DA") is Action.KEEP


@pytest.mark.parametrize("row", _rows("X", limit=6), ids=lambda r: r.name)
def test_basic_x_removes(row: Row) -> None:
    ds, tag, _ = _planted(row)
    out = reread(Deidentifier(SECRET, BASIC).deidentify(ds).dataset)
    assert tag not in out


@pytest.mark.parametrize("row", _rows("Z") + _rows("X/Z"), ids=lambda r: r.name)
def test_basic_z_empties(row: Row) -> None:
    ds, tag, vr = _planted(row)
    out = reread(Deidentifier(SECRET, BASIC).deidentify(ds).dataset)
    assert tag in out
    assert out[tag].value in ("", None, []) or (vr == "SQ" and len(out[tag].value) == 0)


@pytest.mark.parametrize("row", _rows("D") + _rows("X/D"), ids=lambda r: r.name)
def test_basic_d_puts_a_valid_dummy(row: Row) -> None:
    ds, tag, vr = _planted(row)
    out = reread(Deidentifier(SECRET, BASIC).deidentify(ds).dataset)
    assert tag in out
    if vr == "SQ":
        assert len(out[tag].value) == 0
    else:
        assert out[tag].value not in ("", None)
        assert str(out[tag].value) != SAMPLE_VALUES[vr]


@pytest.mark.parametrize("row", _rows("U", limit=6), ids=lambda r: r.name)
def test_basic_u_remaps_uids(row: Row) -> None:
    ds, tag, _ = _planted(row)
    deid = Deidentifier(SECRET, BASIC)
    out = reread(deid.deidentify(ds).dataset)
    assert out[tag].value == deid.remap_uid(SAMPLE_VALUES["UI"])


OPTION_CASES = [
    (Option.RETAIN_UIDS, "K"),
    (Option.RETAIN_DEVICE_IDENTITY, "K"),
    (Option.RETAIN_INSTITUTION_IDENTITY, "K"),
    (Option.RETAIN_PATIENT_CHARACTERISTICS, "K"),
    (Option.RETAIN_LONG_FULL_DATES, "K"),
    (Option.RETAIN_LONG_MODIFIED_DATES, "C"),
    (Option.CLEAN_DESCRIPTORS, "C"),
]


@pytest.mark.parametrize(
    "case",
    [(o, a, r) for o, a in OPTION_CASES for r in _rows(a, o, limit=3)],
    ids=lambda c: f"{c[0].value}-{c[2].name}",
)
def test_options_override_the_basic_action(case: tuple[Option, str, Row]) -> None:
    option, code, row = case
    ds, tag, vr = _planted(row)
    profile = Profile(name=f"only-{option.value}", options=frozenset({option}), description="test")
    out = reread(Deidentifier(SECRET, profile).deidentify(ds).dataset)
    assert tag in out, keyword_for_tag(tag)
    if code == "K":
        kept = out[tag].value
        assert (kept[0].CodeValue if vr == "SQ" else str(kept)) == ("PLANTED" if vr == "SQ" else SAMPLE_VALUES[vr])
    elif vr in ("DA", "DT"):
        assert str(out[tag].value) != SAMPLE_VALUES[vr] and len(str(out[tag].value)) == len(SAMPLE_VALUES[vr])
    elif vr == "TM":
        assert str(out[tag].value) == SAMPLE_VALUES[vr]
    elif vr != "SQ":
        assert str(out[tag].value) == SAMPLE_VALUES[vr]  # nothing identifying to clean: kept as it was


def test_curves_overlays_and_private_blocks_are_removed_under_every_profile(phi_ct: object) -> None:
    ds = make_phi_ct()
    for profile in (BASIC, Profile("graphics", frozenset({Option.CLEAN_GRAPHICS}), "test")):
        out = reread(Deidentifier(SECRET, profile).deidentify(ds).dataset)
        groups = {tag >> 16 for tag in list(out.keys())}
        assert not any(0x5000 <= g <= 0x50FF or 0x6000 <= g <= 0x60FF or g & 1 for g in groups)


def test_dataset_written_by_pydicom_round_trips(phi_ct: object) -> None:
    """A sanity check of the fixture itself: the planted PHI is really in the input bytes."""
    from .conftest import phi_strings, written

    raw = written(make_phi_ct()).lower()
    assert all(s.lower().encode() in raw for s in phi_strings())
    assert pydicom.dcmread(__import__("io").BytesIO(written(make_phi_ct()))).NumberOfFrames == 2
