"""PACS node settings, validated once, kept in a small JSON file."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from casefiles.errors import NotFoundError, StorageError
from casefiles.pacs.errors import InvalidNode
from casefiles.pacs.validators import check_ae_title, check_port

Protocol = Literal["dimse", "dicomweb"]
PROTOCOLS: tuple[Protocol, ...] = ("dimse", "dicomweb")
RetrieveMethod = Literal["get", "move"]
RETRIEVE_METHODS: tuple[RetrieveMethod, ...] = ("get", "move")
Auth = Literal["none", "basic", "bearer"]
AUTHS: tuple[Auth, ...] = ("none", "basic", "bearer")
_FIELDS = (
    "name",
    "ae_title",
    "host",
    "port",
    "our_ae_title",
    "our_port",
    "protocol",
    "base_url",
    "timeout",
    "retrieve",
    "auth",
    "username",
    "secret",
    "tls",
    "ca_file",
)


@dataclass(frozen=True, slots=True)
class PacsNode:
    """One PACS we query and retrieve from, and how we present ourselves to it."""

    name: str
    ae_title: str
    host: str
    port: int
    our_ae_title: str = "CASEDECK"
    our_port: int = 11112
    protocol: Protocol = "dimse"
    base_url: str = ""
    timeout: float = 30
    #: DIMSE retrieve: C-GET over our own association (no registration of a return address
    #: needed) or C-MOVE to our storage SCP on ``our_port``.
    retrieve: RetrieveMethod = "get"
    #: DICOMweb authentication; ``secret`` is the password (basic) or token (bearer).
    auth: Auth = "none"
    username: str = ""
    secret: str = field(default="", repr=False)
    #: DIMSE over TLS (DICOMweb uses TLS whenever the base URL is https://).
    tls: bool = False
    #: CA bundle to verify the PACS's certificate; empty means the system's trust store.
    ca_file: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidNode("A PACS node needs a name to show in the list.")
        check_ae_title(self.ae_title, f"The AE title of PACS node {self.name!r}")
        check_ae_title(self.our_ae_title, f"Our own AE title for PACS node {self.name!r}")
        if not isinstance(self.host, str) or not self.host.strip() or any(c.isspace() for c in self.host):
            raise InvalidNode(f"PACS node {self.name!r} needs a host name or IP address without spaces.")
        check_port(self.port, f"The port of PACS node {self.name!r}")
        check_port(self.our_port, f"Our own port for PACS node {self.name!r}")
        if self.protocol not in PROTOCOLS:
            raise InvalidNode(f"PACS node {self.name!r}: protocol must be 'dimse' or 'dicomweb'.")
        if not isinstance(self.base_url, str):
            raise InvalidNode(f"PACS node {self.name!r}: the DICOMweb base URL must be text.")
        if self.protocol == "dicomweb" and not self.base_url.startswith(("http://", "https://")):
            raise InvalidNode(f"PACS node {self.name!r} uses DICOMweb and needs a base URL starting with http(s)://.")
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or not math.isfinite(self.timeout)
            or self.timeout <= 0
        ):
            raise InvalidNode(f"PACS node {self.name!r}: the timeout must be a positive number of seconds.")
        if self.retrieve not in RETRIEVE_METHODS:
            raise InvalidNode(f"PACS node {self.name!r}: retrieve must be 'get' (C-GET) or 'move' (C-MOVE).")
        if self.auth not in AUTHS:
            raise InvalidNode(f"PACS node {self.name!r}: auth must be 'none', 'basic' or 'bearer'.")
        for what, value in (("user name", self.username), ("password or token", self.secret)):
            if not isinstance(value, str):
                raise InvalidNode(f"PACS node {self.name!r}: the {what} must be text.")
        if self.auth == "basic" and not self.username:
            raise InvalidNode(f"PACS node {self.name!r} uses basic authentication and needs a user name.")
        if self.auth != "none" and not self.secret:
            raise InvalidNode(f"PACS node {self.name!r} uses {self.auth} authentication and needs a password or token.")
        if not isinstance(self.tls, bool):
            raise InvalidNode(f"PACS node {self.name!r}: tls must be true or false.")
        if not isinstance(self.ca_file, str):
            raise InvalidNode(f"PACS node {self.name!r}: the CA file must be a path.")

    @classmethod
    def dicomweb(cls, name: str, base_url: str, **settings: Any) -> PacsNode:
        """A DICOMweb node: host and port come from the URL, the AE title is only a label."""
        url = base_url.strip() if isinstance(base_url, str) else ""
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidNode(
                f"PACS node {name!r} needs a DICOMweb base URL such as https://pacs.example.org/dicom-web."
            )
        try:
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
        except ValueError:
            raise InvalidNode(f"PACS node {name!r}: the port in the DICOMweb base URL is not a number.") from None
        settings.setdefault("ae_title", "DICOMWEB")
        return cls(name=name, host=parsed.hostname, port=port, protocol="dicomweb", base_url=url, **settings)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> PacsNode:
        if not isinstance(data, dict):
            raise InvalidNode("Each PACS node in the nodes file must be a JSON object.")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise InvalidNode(f"Unknown PACS node setting(s): {', '.join(map(str, unknown))}.")
        missing = [f for f in ("name", "ae_title", "host", "port") if f not in data]
        if missing:
            raise InvalidNode(f"A PACS node in the nodes file lacks: {', '.join(missing)}.")
        return cls(**cast(dict[str, Any], data))


def load_nodes(path: Path) -> list[PacsNode]:
    """Read the nodes file; a missing file is an error, not an empty list, so typos in paths show."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"The PACS nodes file {path} does not exist.") from None
    except OSError as exc:
        raise StorageError(f"The PACS nodes file {path} cannot be read ({exc.strerror}).") from None
    return nodes_from_json(text, f"The PACS nodes file {path}")


def nodes_from_json(text: str, where: str = "The PACS node settings") -> list[PacsNode]:
    """Nodes from their JSON (``{"nodes": [...]}``), as a file or the library's settings keep them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidNode(f"{where} is not valid JSON (line {exc.lineno}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise InvalidNode(f'{where} must hold {{"nodes": [...]}}.')
    nodes = [PacsNode.from_json(item) for item in data["nodes"]]
    _check_unique(nodes)
    return nodes


def nodes_to_json(nodes: list[PacsNode]) -> str:
    _check_unique(nodes)
    return json.dumps({"nodes": [n.to_json() for n in nodes]}, indent=2) + "\n"


def save_nodes(path: Path, nodes: list[PacsNode]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = Path(path)
    text = nodes_to_json(nodes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".nodes-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise StorageError(f"The PACS nodes file {path} cannot be written ({exc.strerror}).") from None


def _check_unique(nodes: list[PacsNode]) -> None:
    seen: set[str] = set()
    for node in nodes:
        if not isinstance(node, PacsNode):
            raise InvalidNode("Only PacsNode objects can be saved as PACS nodes.")
        if node.name in seen:
            raise InvalidNode(f"Two PACS nodes are named {node.name!r}; names must be unique.")
        seen.add(node.name)
