"""`gotk push|pull|tag artifact`, `gotk list artifacts`: Flux's OCI artifact workflow.

An artifact is what `flux push artifact` makes and an OCIRepository consumes: an OCI image
manifest whose config has the media type `application/vnd.cncf.flux.config.v1+json` and
whose single layer, `application/vnd.cncf.flux.content.v1.tar+gzip`, is the deterministic
tarball gotk_artifacts packs (the same bytes for the same files), annotated with
`org.opencontainers.image.source`, `.revision` and `.created`.

Like go-containerregistry (and so Flux), a registry on localhost, a loopback address or a
private (RFC 1918) address is spoken to over plain HTTP; `--insecure-registry` forces it.
Credentials come from `--creds user[:password]`, else from the Docker config file.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from gotk_artifacts import (
    IgnoreMatcher,
    build_archive_async,
    extract_archive_async,
    scratch_dir,
)
from gotk_artifacts.extract import UNLIMITED
from gotk_artifacts.ignore import parse_pattern
from source_controller.oci import (
    FLUX_CONFIG,
    FLUX_CONTENT_LAYER,
    OCI_MANIFEST,
    ClientOptions,
    OCIClient,
    RegistryCredentials,
    Repository,
    credentials_from_dockerconfig,
    parse_oci_url,
    select_layer,
)
from source_controller.oci.tags import parse_semver_range
from source_controller.semver import Constraint, parse_tag_version

from gotk_cli.errors import CliError
from gotk_cli.registry import RegistryWriter

__all__ = [
    "DEFAULT_IGNORE",
    "REPRODUCIBLE_CREATED",
    "ArtifactRef",
    "Connection",
    "ListedArtifact",
    "PulledArtifact",
    "PushedArtifact",
    "list_artifacts",
    "parse_artifact_url",
    "pull_artifact",
    "push_artifact",
    "tag_artifact",
]

SOURCE_ANNOTATION: Final = "org.opencontainers.image.source"
REVISION_ANNOTATION: Final = "org.opencontainers.image.revision"
CREATED_ANNOTATION: Final = "org.opencontainers.image.created"
REPRODUCIBLE_CREATED: Final = "1970-01-01T00:00:00Z"
"""`--reproducible`: a fixed creation time, so the same files give the same digest."""
DEFAULT_IGNORE: Final = (
    ".git/",
    ".gitignore",
    ".gitmodules",
    ".gitattributes",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
)
"""Flux's `excludeOCI`: the VCS files and binary extensions (what --ignore-paths replaces)."""
STDIN_FILE: Final = "manifests.yaml"
_CONFIG: Final = b"{}"


@dataclass(frozen=True)
class ArtifactRef:
    """`oci://host/repository[:tag|@digest]`; ``reference`` is the tag or digest."""

    repository: Repository
    reference: str

    @property
    def name(self) -> str:
        separator = "@" if ":" in self.reference else ":"
        return f"{self.repository}{separator}{self.reference}"


def parse_artifact_url(url: str, *, default_tag: str | None = "latest") -> ArtifactRef:
    """Flux's ParseArtifactURL: the `oci://` prefix, then an image reference."""
    if not url.startswith("oci://"):
        raise CliError(f"URL must be in format 'oci://<domain>/<org>/<repo>': {url!r}")
    rest = url.removeprefix("oci://")
    reference = ""
    if "@" in rest:
        rest, _, reference = rest.partition("@")
    else:
        head, slash, last = rest.rpartition("/")
        if slash and ":" in last:
            last, _, reference = last.partition(":")
            rest = f"{head}/{last}"
    if not reference:
        if default_tag is None:
            return ArtifactRef(parse_oci_url(f"oci://{rest}"), "")
        reference = default_tag
    return ArtifactRef(parse_oci_url(f"oci://{rest}"), reference)


@dataclass(frozen=True, repr=False)
class Connection:
    """How to reach one registry: credentials and whether it speaks plain HTTP."""

    credentials: RegistryCredentials
    plain_http: bool
    timeout: float = 60.0

    def __repr__(self) -> str:
        return f"Connection({self.credentials!r}, plain_http={self.plain_http})"

    @classmethod
    async def for_host(
        cls, host: str, creds: str | None, *, insecure: bool, timeout: float
    ) -> Connection:
        credentials = await asyncio.to_thread(_credentials, host, creds)
        return cls(credentials, insecure or _plain_http_host(host), timeout)

    def options(self) -> ClientOptions:
        return ClientOptions(insecure=self.plain_http, timeout=self.timeout)


def _credentials(host: str, creds: str | None) -> RegistryCredentials:
    if creds:
        username, _, password = creds.partition(":")
        return RegistryCredentials(username=username, password=password)
    config_dir = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    config = Path(config_dir) / "config.json"
    try:
        raw = config.read_bytes()
    except OSError:
        return RegistryCredentials()
    data = {".dockerconfigjson": raw}
    return credentials_from_dockerconfig(data, host, source=str(config)) or RegistryCredentials()


def _plain_http_host(host: str) -> bool:
    """go-containerregistry's Registry.Scheme: localhost, loopback and RFC 1918 are HTTP."""
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
    if hostname == "localhost":
        return True
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return address.is_loopback or (address.version == 4 and address.is_private)


# --- push


@dataclass(frozen=True)
class PushedArtifact:
    ref: ArtifactRef
    digest: str

    def document(self) -> dict[str, str]:
        """`push artifact -o json|yaml`."""
        return {
            "url": f"oci://{self.ref.repository}@{self.digest}",
            "repository": str(self.ref.repository),
            "tag": self.ref.reference,
            "digest": self.digest,
        }


async def push_artifact(
    ref: ArtifactRef,
    path: Path,
    connection: Connection,
    *,
    source: str,
    revision: str,
    annotations: dict[str, str] | None = None,
    ignore_paths: Sequence[str] = DEFAULT_IGNORE,
    reproducible: bool = False,
    stdin: bytes | None = None,
) -> PushedArtifact:
    """Pack ``path`` (a directory, a file, or ``stdin`` when given) and push it as ``ref``."""
    created = REPRODUCIBLE_CREATED if reproducible else _now()
    metadata = {
        **(annotations or {}),
        SOURCE_ANNOTATION: source,
        REVISION_ANNOTATION: revision,
        CREATED_ANNOTATION: created,
    }
    async with scratch_dir("gotk-push-") as scratch:
        content = await _stage(path, scratch / "content", stdin)
        matcher = IgnoreMatcher(parse_pattern(p) for p in ignore_paths)
        archive = await build_archive_async(content, scratch / "artifact.tgz", ignore=matcher)
        layer = await asyncio.to_thread(archive.path.read_bytes)
    async with RegistryWriter(ref.repository, connection.credentials, connection.options()) as w:
        config_digest = await w.push_blob(_CONFIG)
        layer_digest = await w.push_blob(layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": FLUX_CONFIG, "digest": config_digest, "size": len(_CONFIG)},
            "layers": [
                {"mediaType": FLUX_CONTENT_LAYER, "digest": layer_digest, "size": len(layer)}
            ],
            "annotations": dict(sorted(metadata.items())),
        }
        body = json.dumps(manifest, separators=(",", ":")).encode()
        digest = await w.put_manifest(ref.reference, body, OCI_MANIFEST)
    return PushedArtifact(ref, digest)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _stage(path: Path, dest: Path, stdin: bytes | None) -> Path:
    """The directory to pack: ``path`` itself, or a copy holding the one file."""
    if stdin is not None:
        await asyncio.to_thread(dest.mkdir)
        await asyncio.to_thread((dest / STDIN_FILE).write_bytes, stdin)
        return dest
    if await asyncio.to_thread(path.is_dir):
        return path
    if not await asyncio.to_thread(path.is_file):
        raise CliError(f"invalid path '{path}', must point to an existing directory or file")
    await asyncio.to_thread(dest.mkdir)
    await asyncio.to_thread(shutil.copyfile, path, dest / path.name)
    return dest


# --- pull, tag, list


@dataclass(frozen=True)
class PulledArtifact:
    digest: str
    source: str
    revision: str


async def pull_artifact(ref: ArtifactRef, output: Path, connection: Connection) -> PulledArtifact:
    """Fetch ``ref`` as source-controller does (digests verified) and extract its layer."""
    if not await asyncio.to_thread(output.is_dir):
        raise CliError(f"invalid output path {output}: not a directory")
    async with (
        OCIClient(
            ref.repository, credentials=connection.credentials, options=connection.options()
        ) as client,
        scratch_dir("gotk-pull-") as scratch,
    ):
        resolved = await client.resolve(ref.reference)
        layer = select_layer(resolved.manifest, None, f"oci://{ref.name}")
        await client.fetch_blob(layer, scratch / "layer.tgz")
        await extract_archive_async(scratch / "layer.tgz", scratch / "content", limits=UNLIMITED)
        await asyncio.to_thread(
            shutil.copytree, scratch / "content", output, dirs_exist_ok=True, symlinks=False
        )
    annotations = resolved.manifest.annotations
    return PulledArtifact(
        resolved.digest,
        annotations.get(SOURCE_ANNOTATION, ""),
        annotations.get(REVISION_ANNOTATION, ""),
    )


async def tag_artifact(ref: ArtifactRef, tags: Sequence[str], connection: Connection) -> list[str]:
    """Point each of ``tags`` at the manifest ``ref`` names; the new references."""
    async with RegistryWriter(ref.repository, connection.credentials, connection.options()) as w:
        body, media_type = await w.get_manifest(ref.reference)
        tagged = []
        for tag in tags:
            await w.put_manifest(tag, body, media_type or OCI_MANIFEST)
            tagged.append(f"{ref.repository}:{tag}")
    return tagged


@dataclass(frozen=True)
class ListedArtifact:
    url: str
    digest: str
    source: str
    revision: str

    def row(self) -> list[str]:
        return [self.url, self.digest, self.source, self.revision]

    def document(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "digest": self.digest,
            "source_url": self.source,
            "source_revision": self.revision,
        }


async def list_artifacts(
    repository: Repository,
    connection: Connection,
    *,
    regex: str | None = None,
    semver: str | None = None,
) -> list[ListedArtifact]:
    """Every tag (newest name first, cosign signatures left out) with its digest and
    source annotations, as `flux list artifacts`."""
    pattern = _regex(regex)
    constraint = parse_semver_range(semver) if semver else None
    async with OCIClient(
        repository, credentials=connection.credentials, options=connection.options()
    ) as client:
        tags = [t for t in await client.list_tags() if not t.endswith(".sig")]
        if pattern is not None:
            tags = [t for t in tags if pattern.search(t)]
        if constraint is not None:
            tags = [t for t in tags if _in_range(t, constraint)]
        listed = []
        for tag in sorted(tags, reverse=True):
            resolved = await client.resolve(tag)
            annotations = resolved.manifest.annotations
            listed.append(
                ListedArtifact(
                    f"{repository}:{tag}",
                    resolved.digest,
                    annotations.get(SOURCE_ANNOTATION, ""),
                    annotations.get(REVISION_ANNOTATION, ""),
                )
            )
    return listed


def _regex(expression: str | None) -> re.Pattern[str] | None:
    if not expression:
        return None
    try:
        return re.compile(expression)
    except re.error as err:
        raise CliError(f"invalid --filter-regex {expression!r}: {err}") from None


def _in_range(tag: str, constraint: Constraint) -> bool:
    try:
        return bool(constraint.check(parse_tag_version(tag)))
    except ValueError:
        return False
