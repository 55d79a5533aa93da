"""PACS nodes live in the library's settings (one place for backups, migration and every process)."""

from __future__ import annotations

from pathlib import Path

from casefiles.config import Settings
from casefiles.pacs import PacsNode, save_nodes
from casefiles.services import Services


def test_nodes_are_kept_in_the_library_and_an_old_file_moves_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    old = PacsNode(name="old", host="127.0.0.1", port=104, ae_title="ORTHANC")
    save_nodes(data / "pacs_nodes.json", [old])
    services = Services(Settings(data_dir=data, seed_samples=False))
    assert [n.name for n in services.pacs_nodes()] == ["old"]
    assert not (data / "pacs_nodes.json").exists()
    services.save_pacs_node(PacsNode(name="new", host="127.0.0.1", port=4242, ae_title="PACS"))
    again = Services(Settings(data_dir=data, seed_samples=False), store=services.store)
    assert [n.name for n in again.pacs_nodes()] == ["old", "new"]
    assert "ORTHANC" in (services.store.get_meta("pacs_nodes") or "")
