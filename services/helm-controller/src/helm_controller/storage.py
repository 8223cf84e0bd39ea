"""Helm's release storage, read (and, to unlock a stale release, written) directly.

Helm 4 keeps every release revision in a Secret `sh.helm.release.v1.<name>.v<version>` of
type `helm.sh/release.v1` in the storage namespace, labelled `owner=helm`, `name`,
`status` and `version`; `data.release` is base64(gzip(JSON of the release)). Reading it
here costs one LIST per reconcile instead of a `helm status` process, and it is the same
storage `helm list/history/rollback` use, so releases stay interchangeable with the CLI.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_runtime import KubeClient
from gotk_runtime.kube import SECRETS

__all__ = [
    "PENDING_STATUSES",
    "ReleaseRecord",
    "ReleaseStorageError",
    "decode_release",
    "encode_release",
    "list_releases",
    "parse_helm_time",
    "release_secret_name",
    "update_status",
]

RELEASE_SECRET_TYPE: Final = "helm.sh/release.v1"
STATUS_DEPLOYED: Final = "deployed"
STATUS_FAILED: Final = "failed"
STATUS_UNINSTALLED: Final = "uninstalled"
STATUS_UNINSTALLING: Final = "uninstalling"
STATUS_SUPERSEDED: Final = "superseded"
PENDING_STATUSES: Final = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})
_GZIP_MAGIC: Final = b"\x1f\x8b"
_FRACTION = re.compile(r"\.(\d+)")


class ReleaseStorageError(GotkError):
    """A release Secret cannot be read or written."""


def release_secret_name(name: str, version: int) -> str:
    return f"sh.helm.release.v1.{name}.v{version}"


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """One release revision as Helm stored it."""

    name: str
    namespace: str
    version: int
    status: str
    chart_name: str
    chart_version: str
    app_version: str
    config: dict[str, Any]
    first_deployed: datetime | None
    last_deployed: datetime | None
    deleted: datetime | None
    description: str
    manifest: str
    hooks: list[Obj]
    digest: str
    """`sha256:<hex>` of the release JSON, as helm-controller digests a release."""
    payload: Obj = field(repr=False)
    secret: Obj = field(repr=False)

    @property
    def full_name(self) -> str:
        """`<namespace>/<name>.v<version>`, as helm-controller names releases in messages."""
        return f"{self.namespace}/{self.name}.v{self.version}"

    @property
    def chart(self) -> str:
        return f"{self.chart_name}@{self.chart_version}"

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES

    def test_hooks(self) -> list[Obj]:
        return [h for h in self.hooks if "test" in (h.get("events") or ())]


def parse_helm_time(value: object) -> datetime | None:
    """Helm writes Go times (RFC 3339 with nanoseconds); Python parses microseconds."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decode_release(secret: Obj) -> ReleaseRecord:
    """The release in a storage Secret; raise ReleaseStorageError if it is not one."""
    where = f"Secret '{secret['metadata'].get('namespace')}/{secret['metadata']['name']}'"
    encoded = (secret.get("data") or {}).get("release")
    if not encoded:
        raise ReleaseStorageError(f"{where} holds no Helm release")
    try:
        data = base64.b64decode(base64.b64decode(encoded, validate=True), validate=True)
        if data[:2] == _GZIP_MAGIC:
            data = gzip.decompress(data)
        payload = orjson.loads(data)
    except (binascii.Error, ValueError, OSError, EOFError, zlib.error) as err:
        raise ReleaseStorageError(f"{where} holds a corrupt Helm release: {err}") from None
    if not isinstance(payload, dict):
        raise ReleaseStorageError(f"{where} holds a corrupt Helm release")
    return _record(payload, secret, data)


def _record(payload: Obj, secret: Obj, raw: bytes) -> ReleaseRecord:
    info = payload.get("info") or {}
    metadata = (payload.get("chart") or {}).get("metadata") or {}
    return ReleaseRecord(
        name=str(payload.get("name", "")),
        namespace=str(payload.get("namespace", "")),
        version=int(payload.get("version", 0)),
        status=str(info.get("status", "unknown")),
        chart_name=str(metadata.get("name", "")),
        chart_version=str(metadata.get("version", "")),
        app_version=str(metadata.get("appVersion", "")),
        config=payload.get("config") or {},
        first_deployed=parse_helm_time(info.get("first_deployed")),
        last_deployed=parse_helm_time(info.get("last_deployed")),
        deleted=parse_helm_time(info.get("deleted")),
        description=str(info.get("description", "")),
        manifest=str(payload.get("manifest", "")),
        hooks=list(payload.get("hooks") or []),
        # Go's json.Encoder, which helm-controller digests with, ends with a newline.
        digest="sha256:" + hashlib.sha256(raw + b"\n").hexdigest(),
        payload=payload,
        secret=secret,
    )


def encode_release(payload: Obj) -> str:
    """`data.release` for `payload`: base64 of base64(gzip(JSON)), as the API wants it."""
    inner = base64.b64encode(gzip.compress(orjson.dumps(payload), mtime=0))
    return base64.b64encode(inner).decode()


async def list_releases(client: KubeClient, namespace: str, name: str) -> list[ReleaseRecord]:
    """Every stored revision of release `name`, oldest first."""
    listing = await client.list(SECRETS, namespace, label_selector=f"owner=helm,name={name}")
    secrets = [
        s
        for s in listing.get("items") or ()
        if s.get("type") == RELEASE_SECRET_TYPE and (s.get("metadata") or {}).get("name")
    ]
    records = await asyncio.to_thread(lambda: [decode_release(s) for s in secrets])
    return sorted((r for r in records if r.name == name), key=lambda r: r.version)


async def update_status(
    client: KubeClient, record: ReleaseRecord, status: str, description: str
) -> ReleaseRecord:
    """Rewrite one stored revision with a new status (Helm's own `Releases.Update`)."""
    payload: Obj = orjson.loads(orjson.dumps(record.payload))
    info = payload.setdefault("info", {})
    info["status"] = status
    info["description"] = description
    secret = record.secret
    labels = dict(secret["metadata"].get("labels") or {})
    labels["status"] = status
    labels["modifiedAt"] = str(int(datetime.now(UTC).timestamp()))
    body: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": RELEASE_SECRET_TYPE,
        "metadata": {**secret["metadata"], "labels": labels},
        "data": {**(secret.get("data") or {}), "release": encode_release(payload)},
    }
    body["metadata"].pop("managedFields", None)
    updated = await client.replace(SECRETS, body)
    return await asyncio.to_thread(decode_release, updated)
