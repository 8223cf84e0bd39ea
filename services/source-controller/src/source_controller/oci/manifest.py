"""OCI and Docker manifests and indexes: media types, parsing, and choosing a platform.

An artifact tag may point at an image manifest (OCI or Docker v2 schema 2) or at an index
(OCI image index or Docker manifest list). From an index gotk takes the linux/amd64
manifest, or the first one when none is for linux/amd64, as go-containerregistry does by
default for Flux.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from source_controller.oci.errors import LayerOperationFailed, UnsupportedManifest

__all__ = [
    "ACCEPTED_MANIFEST_TYPES",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "FLUX_CONFIG",
    "FLUX_CONTENT_LAYER",
    "HELM_CHART_CONFIG",
    "HELM_CHART_LAYER",
    "INDEX_TYPES",
    "OCI_INDEX",
    "OCI_LAYER_GZIP",
    "OCI_MANIFEST",
    "Descriptor",
    "Index",
    "Manifest",
    "parse_manifest_document",
    "select_layer",
]

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_TYPES: Final = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES: Final = (OCI_INDEX, DOCKER_MANIFEST_LIST)
ACCEPTED_MANIFEST_TYPES: Final = (*IMAGE_TYPES, *INDEX_TYPES)

OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY_CONFIG: Final = "application/vnd.oci.empty.v1+json"
FLUX_CONFIG: Final = "application/vnd.cncf.flux.config.v1+json"
"""Config media type of artifacts made by `flux push artifact`."""
FLUX_CONTENT_LAYER: Final = "application/vnd.cncf.flux.content.v1.tar+gzip"
"""Layer media type of artifacts made by `flux push artifact`."""
HELM_CHART_CONFIG: Final = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_LAYER: Final = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

_DEFAULT_PLATFORM: Final = ("linux", "amd64")


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: tuple[str, str] | None = None
    """(os, architecture) of an index entry."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest; `digest` is the digest of its bytes."""

    media_type: str
    digest: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Index:
    """An image index or manifest list; `digest` is the digest of its bytes."""

    media_type: str
    digest: str
    manifests: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict)

    def choose(self) -> Descriptor:
        """The linux/amd64 entry, else the first image manifest."""
        images = [d for d in self.manifests if d.media_type in IMAGE_TYPES or not d.media_type]
        if not images:
            raise UnsupportedManifest(f"index {self.digest} lists no image manifest")
        for descriptor in images:
            if descriptor.platform == _DEFAULT_PLATFORM:
                return descriptor
        return images[0]


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise UnsupportedManifest(f"{what}: annotations must map strings to strings")
    return dict(value)


def _descriptor(value: Any, what: str) -> Descriptor:
    if not isinstance(value, dict):
        raise UnsupportedManifest(f"{what} is not an object")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
        raise UnsupportedManifest(f"{what} needs a string 'digest' and an integer 'size'")
    platform = None
    raw_platform = value.get("platform")
    if isinstance(raw_platform, dict):
        platform = (str(raw_platform.get("os", "")), str(raw_platform.get("architecture", "")))
    return Descriptor(
        media_type=str(value.get("mediaType") or ""),
        digest=digest,
        size=size,
        annotations=_strings(value.get("annotations"), what),
        platform=platform,
    )


def parse_manifest_document(body: bytes, content_type: str, digest: str) -> Manifest | Index:
    """Parse manifest bytes; the `mediaType` field wins over the Content-Type header."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise UnsupportedManifest(f"manifest {digest} is not valid JSON") from None
    if not isinstance(document, dict):
        raise UnsupportedManifest(f"manifest {digest} is not a JSON object")
    media_type = document.get("mediaType") or content_type.split(";", 1)[0].strip()
    if not media_type:
        # An OCI manifest may omit mediaType; its shape tells which kind it is.
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    annotations = _strings(document.get("annotations"), f"manifest {digest}")
    if media_type in INDEX_TYPES:
        entries = document.get("manifests")
        if not isinstance(entries, list):
            raise UnsupportedManifest(f"index {digest} has no 'manifests' list")
        manifests = tuple(
            _descriptor(entry, f"index {digest} entry {i}") for i, entry in enumerate(entries)
        )
        return Index(media_type, digest, manifests, annotations)
    if media_type in IMAGE_TYPES:
        layers = document.get("layers")
        if not isinstance(layers, list):
            raise UnsupportedManifest(f"manifest {digest} has no 'layers' list")
        return Manifest(
            media_type=media_type,
            digest=digest,
            config=_descriptor(document.get("config"), f"manifest {digest} config"),
            layers=tuple(
                _descriptor(layer, f"manifest {digest} layer {i}") for i, layer in enumerate(layers)
            ),
            annotations=annotations,
        )
    raise UnsupportedManifest(f"manifest {digest} has unsupported media type '{media_type}'")


def select_layer(manifest: Manifest, media_type: str | None, url: str) -> Descriptor:
    """The layer of `media_type` (`spec.layerSelector.mediaType`), or the first one."""
    if not manifest.layers:
        raise LayerOperationFailed(f"artifact {manifest.digest} of '{url}' has no layers")
    if not media_type:
        return manifest.layers[0]
    for layer in manifest.layers:
        if layer.media_type == media_type:
            return layer
    found = ", ".join(sorted({layer.media_type for layer in manifest.layers}))
    raise LayerOperationFailed(
        f"no layer with media type '{media_type}' (spec.layerSelector.mediaType) in artifact "
        f"{manifest.digest} of '{url}'; its layers are: {found}"
    )
