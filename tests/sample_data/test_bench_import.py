"""The import benchmark runs end to end on a tiny study (speed itself is not asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_import import main


def test_bench_writes_its_result(tmp_path: Path, capsys) -> None:
    out = tmp_path / "import.json"
    assert main(["--instances", "4", "--size", "32", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    steps = {s["name"].split(":")[0].split(" (")[0]: s for s in result["steps"]}
    assert steps["floor"]["items"] == 4
    assert steps["import_sources"]["items"] == 4
    assert steps["thumbnail_png, every instance"]["items"] == 4
    assert result["import"]["problems"] == 0
    assert result["ratio_import_to_floor"] > 0
    assert "import / floor" in capsys.readouterr().out
