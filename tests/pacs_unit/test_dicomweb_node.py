"""A DICOMweb node is set up from its base URL alone, as a registrar would type it."""

from __future__ import annotations

import pytest

from casefiles.pacs import InvalidNode, PacsNode


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("https://pacs.example.org/dicom-web", "pacs.example.org", 443),
        ("http://127.0.0.1:8042/dicom-web", "127.0.0.1", 8042),
        ("http://pacs/wado", "pacs", 80),
    ],
)
def test_host_and_port_come_from_the_url(url: str, host: str, port: int) -> None:
    node = PacsNode.dicomweb("Web", url, auth="bearer", secret="t0ken")
    assert (node.host, node.port, node.protocol, node.base_url) == (host, port, "dicomweb", url)
    assert "t0ken" not in repr(node), "the token is not shown where the node is printed"


@pytest.mark.parametrize("url", ["", "pacs.example.org/dicom-web", "ftp://pacs/x", "http://pacs:port/x"])
def test_a_url_that_cannot_work_is_refused_with_an_example(url: str) -> None:
    with pytest.raises(InvalidNode, match=r"DICOMweb base URL|port"):
        PacsNode.dicomweb("Web", url)
