"""The CLI as a user runs it: a separate process, exit codes, what it prints."""

import os
import subprocess
import sys
from pathlib import Path

from pptx import Presentation

from tests.dicom_factory import FAKE_PHI, write_ct_study
from tests.helpers import ROOT


def slide_texts(deck: Path) -> str:
    return "\n".join(
        shape.text_frame.text
        for slide in Presentation(str(deck)).slides
        for shape in slide.shapes
        if shape.has_text_frame
    )


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASEDECK_DATA": str(data_dir), "CASEDECK_SAMPLES": "0"}
    return subprocess.run(
        [sys.executable, "-m", "casefiles", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_then_export_a_deck(tmp_path, data_dir):
    write_ct_study(tmp_path / "QUIMBY_EUSTACE_study", slices=4)
    imported = run_cli(data_dir, "import", str(tmp_path / "QUIMBY_EUSTACE_study"), "--title", "Chest CT teaching")
    assert imported.returncode == 0, imported.stderr
    case_id = imported.stdout.strip().splitlines()[0]
    assert "4 instance(s) imported" in imported.stderr
    assert "QUIMBY" not in imported.stdout + imported.stderr

    listed = run_cli(data_dir, "list")
    assert case_id in listed.stdout and "Chest CT teaching" in listed.stdout

    out = tmp_path / "deck.pptx"
    exported = run_cli(data_dir, "export", case_id, "--format", "pptx", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    slides = Presentation(str(out)).slides
    assert len(slides) >= 2
    assert "Agenda" not in slide_texts(out), "a single case gets the case deck, not a one-case conference"


def test_deid_writes_a_tree_without_phi_and_names_without_input_names(tmp_path, data_dir):
    src = tmp_path / "QUIMBY_EUSTACE"
    write_ct_study(src, slices=3, series=2)
    (src / "notes.txt").write_text("not dicom")
    dst = tmp_path / "clean"
    report = tmp_path / "report.json"
    result = run_cli(data_dir, "deid", str(src), str(dst), "--report", str(report))
    assert result.returncode == 0, result.stderr
    written = sorted(p for p in dst.rglob("*") if p.is_file())
    assert len(written) == 6
    assert len({p.parent for p in written}) == 2  # one folder per series
    for path in written:
        assert "QUIMBY" not in str(path) and "s0_im" not in path.name
        data = path.read_bytes()
        for phi in FAKE_PHI:
            assert phi.encode() not in data
    text = report.read_text()
    assert '"written": 6' in text and "QUIMBY" not in text and "notes.txt" not in text


def test_errors_are_one_line_without_traceback(tmp_path, data_dir):
    result = run_cli(data_dir, "export", "no-such-case", "--out", str(tmp_path / "x.pptx"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    result = run_cli(data_dir, "deid", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    result = run_cli(data_dir, "deid", str(tmp_path), str(tmp_path / "o"), "--profile", "nope")
    assert result.returncode == 2 and "Unknown profile" in result.stderr


def test_conference_create_and_export_every_format(tmp_path, seeded_data_dir):
    listed = run_cli(seeded_data_dir, "list").stdout.strip().splitlines()
    case_ids = [line.split("\t")[0] for line in listed][:2]
    created = run_cli(
        seeded_data_dir, "conference", "create", "--title", "Tumor board", "--kind", "unknown_case_quiz",
        "--date", "2026-11-26", "--case", case_ids[0], "--case", case_ids[1],
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    conference_id = created.stdout.strip()
    assert conference_id in run_cli(seeded_data_dir, "conference", "list").stdout

    for fmt, suffix, magic in (("pptx", "pptx", b"PK"), ("pdf", "pdf", b"%PDF"), ("html", "html", b"<!"),
                               ("package", "zip", b"PK")):  # fmt: skip
        out = tmp_path / f"conference.{suffix}"
        result = run_cli(seeded_data_dir, "export", conference_id, "--format", fmt, "--out", str(out))
        assert result.returncode == 0, (fmt, result.stderr)
        assert out.read_bytes()[:4].startswith(magic), fmt
    assert len(Presentation(str(tmp_path / "conference.pptx")).slides) > 8
    assert "Agenda" in slide_texts(tmp_path / "conference.pptx")

    imported = run_cli(data_dir := tmp_path / "other", "import-package", str(tmp_path / "conference.zip"))
    assert imported.returncode == 0, imported.stderr
    assert len(imported.stdout.split()) == 2
    assert "Tumor board" in run_cli(data_dir, "conference", "list").stdout
