"""PACS node settings: what a registrar can type, and what is refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casefiles.errors import NotFoundError, ValidationError
from casefiles.pacs import InvalidNode, PacsNode, load_nodes, save_nodes


def test_nodes_round_trip_through_the_json_file(tmp_path: Path) -> None:
    nodes = [
        PacsNode("Main PACS", "PACS01", "pacs.example.org", 104),
        PacsNode(
            "Research",
            "RESEARCH",
            "10.0.0.5",
            4242,
            our_ae_title="CD_TEACH",
            our_port=11113,
            protocol="dicomweb",
            base_url="https://pacs.example.org/dicom-web",
            timeout=12.5,
        ),
    ]
    path = tmp_path / "config" / "nodes.json"
    save_nodes(path, nodes)
    assert load_nodes(path) == nodes
    assert [p.name for p in path.parent.iterdir()] == ["nodes.json"]  # no temp file left behind


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ae_title": "A" * 17}, "16 characters"),
        ({"ae_title": "BAD\\AE"}, "backslash"),
        ({"ae_title": "   "}, "AE title"),
        ({"our_ae_title": ""}, "Our own AE title"),
        ({"port": 0}, "1 to 65535"),
        ({"port": 70000}, "1 to 65535"),
        ({"our_port": True}, "1 to 65535"),
        ({"host": "pacs host"}, "host"),
        ({"protocol": "hl7"}, "protocol"),
        ({"protocol": "dicomweb"}, "base URL"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_unusable_settings_are_refused_with_the_reason(changes: dict[str, object], words: str) -> None:
    settings: dict[str, object] = {"name": "Main", "ae_title": "PACS01", "host": "pacs", "port": 104}
    settings.update(changes)
    with pytest.raises(InvalidNode, match=words) as info:
        PacsNode(**settings)  # type: ignore[arg-type]
    assert isinstance(info.value, ValidationError)


def test_a_broken_nodes_file_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_nodes(tmp_path / "missing.json")
    path = tmp_path / "nodes.json"
    path.write_text("{not json")
    with pytest.raises(InvalidNode, match="not valid JSON"):
        load_nodes(path)
    path.write_text(json.dumps({"nodes": [{"name": "x", "ae_title": "X", "host": "h", "port": 104, "colour": 1}]}))
    with pytest.raises(InvalidNode, match="colour"):
        load_nodes(path)
    path.write_text(json.dumps({"nodes": [{"name": "x", "host": "h", "port": 104}]}))
    with pytest.raises(InvalidNode, match="ae_title"):
        load_nodes(path)


def test_two_nodes_with_one_name_are_refused(tmp_path: Path) -> None:
    node = PacsNode("Main", "PACS01", "pacs", 104)
    with pytest.raises(InvalidNode, match="unique"):
        save_nodes(tmp_path / "nodes.json", [node, node])
    assert not (tmp_path / "nodes.json").exists()
