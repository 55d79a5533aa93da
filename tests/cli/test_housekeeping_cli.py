"""``case show|edit|delete|key|merge`` and ``conference edit|delete`` as a user runs them (issue #14)."""

from __future__ import annotations

from tests.cli.test_cli import run_cli
from tests.dicom_factory import write_ct_study


def imported(data_dir, tmp_path, name="study", title="Chest CT"):
    write_ct_study(tmp_path / name, slices=3)
    run = run_cli(data_dir, "import", str(tmp_path / name), "--title", title)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()[0]


def test_show_edit_and_mark_a_key_image(data_dir, tmp_path):
    case_id = imported(data_dir, tmp_path)
    edit = run_cli(
        data_dir, "case", "edit", case_id, "--title", "Nodule", "--diagnosis", "Hamartoma", "--tags", "lung, nodule"
    )
    assert edit.returncode == 0, edit.stderr
    key = run_cli(data_dir, "case", "key", case_id, "--item", "1", "--frame", "2")
    assert key.returncode == 0 and "marked as key image" in key.stdout
    shown = run_cli(data_dir, "case", "show", case_id)
    assert shown.returncode == 0, shown.stderr
    assert "Nodule" in shown.stdout and "diagnosis: Hamartoma" in shown.stdout and "tags: lung, nodule" in shown.stdout
    assert "1 key image(s):\n  1. item 1, frame 2" in shown.stdout
    assert run_cli(data_dir, "case", "key", case_id, "--item", "1", "--frame", "9").returncode == 2
    assert run_cli(data_dir, "case", "edit", case_id).returncode == 2
    bad = run_cli(data_dir, "case", "edit", case_id, "--difficulty", "impossible")
    assert bad.returncode == 1 and bad.stderr.startswith("error: Difficulty")


def test_delete_asks_first_updates_the_conference_and_then_says_it_is_gone(data_dir, tmp_path):
    case_id = imported(data_dir, tmp_path)
    other = imported(data_dir, tmp_path, "other", "Other CT")
    made = run_cli(data_dir, "conference", "create", "--title", "Tumor board", "--case", case_id, "--case", other)
    conference_id = made.stdout.strip()

    asked = run_cli(data_dir, "case", "delete", case_id)
    assert asked.returncode == 1
    assert "would delete “Chest CT” with its 1 series, 3 image(s)" in asked.stderr
    assert "“Tumor board”" in asked.stderr and "--yes" in asked.stderr
    assert case_id in run_cli(data_dir, "list").stdout, "nothing was deleted"

    done = run_cli(data_dir, "case", "delete", case_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert "deleted “Chest CT”" in done.stdout and "taken out of 1 conference(s): “Tumor board”" in done.stdout
    assert case_id not in run_cli(data_dir, "list").stdout
    assert "\t1 case(s)" in run_cli(data_dir, "conference", "list").stdout
    assert conference_id

    again = run_cli(data_dir, "case", "delete", case_id, "--yes")
    assert again.returncode == 1 and "no case with id" in again.stderr and "Traceback" not in again.stderr


def test_a_case_whose_files_are_gone_is_deleted(data_dir, tmp_path):
    case_id = imported(data_dir, tmp_path)
    for path in (data_dir / "blobs").rglob("*"):
        if path.is_file():
            path.unlink()
    done = run_cli(data_dir, "case", "delete", case_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert run_cli(data_dir, "list").stdout == ""


def test_conference_edit_and_delete(data_dir, tmp_path):
    case_id = imported(data_dir, tmp_path)
    conference_id = run_cli(data_dir, "conference", "create", "--title", "Test", "--case", case_id).stdout.strip()
    edit = run_cli(
        data_dir, "conference", "edit", conference_id, "--title", "M&M", "--date", "2025-03-14", "--kind",
        "morbidity_mortality",
    )  # fmt: skip
    assert edit.returncode == 0, edit.stderr
    assert edit.stdout.strip() == f"{conference_id}\tmorbidity_mortality\t2025-03-14\tM&M"
    bad = run_cli(data_dir, "conference", "edit", conference_id, "--date", "14.3.2025")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
    assert run_cli(data_dir, "conference", "edit", conference_id).returncode == 2

    asked = run_cli(data_dir, "conference", "delete", conference_id)
    assert asked.returncode == 1 and "would delete the conference “M&M”" in asked.stderr
    done = run_cli(data_dir, "conference", "delete", conference_id, "--yes")
    assert done.returncode == 0 and "deleted the conference “M&M”" in done.stdout
    assert run_cli(data_dir, "conference", "list").stdout == ""
    assert case_id in run_cli(data_dir, "list").stdout, "its cases stay"
    again = run_cli(data_dir, "conference", "delete", conference_id, "--yes")
    assert again.returncode == 1 and "no conference with id" in again.stderr


def test_merge_refuses_other_studies(data_dir, tmp_path):
    one, two = imported(data_dir, tmp_path, "a"), imported(data_dir, tmp_path, "b")
    assert run_cli(data_dir, "case", "merge", two, "--into", one).returncode == 1
    refused = run_cli(data_dir, "case", "merge", two, "--into", one, "--yes")
    assert refused.returncode == 1 and "same study" in refused.stderr
