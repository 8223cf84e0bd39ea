"""Parsing `oci://host[:port]/path` URLs, tags and digests the way the distribution spec names them.

Like Flux, `spec.url` names a repository only: a tag or digest in it is an error (they
belong in `spec.ref`). Docker Hub's aliases are normalized so `oci://docker.io/x` reaches
`registry-1.docker.io/library/x`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from gotk_api.source_oci import OCI_URL_PREFIX
from gotk_artifacts.digest import Digest, parse_digest
from gotk_artifacts.errors import InvalidDigest

from source_controller.oci.errors import InvalidReference

__all__ = ["Repository", "is_digest", "parse_oci_url", "parse_reference_digest", "validate_tag"]

DOCKER_HUB_HOSTS: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_API_HOST: Final = "registry-1.docker.io"
_HOST_RE: Final = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
_COMPONENT_RE: Final = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
_TAG_RE: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_FORMAT_HINT: Final = "URL must be in format 'oci://<domain>/<org>/<repo>'"


@dataclass(frozen=True, slots=True)
class Repository:
    """One repository of one registry: where the `/v2/<repository>/...` API lives."""

    host: str
    """host[:port] as written in the URL (the key credentials are looked up by)."""
    repository: str

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API_HOST if self.host in DOCKER_HUB_HOSTS else self.host

    def __str__(self) -> str:
        return f"{self.host}/{self.repository}"


def parse_oci_url(url: str) -> Repository:
    """The repository `url` (`oci://host/path`) names; raise InvalidReference otherwise."""
    if not url.startswith(OCI_URL_PREFIX):
        raise InvalidReference(f"invalid OCI URL '{url}': {_FORMAT_HINT}")
    rest = url[len(OCI_URL_PREFIX) :].rstrip("/")
    host, sep, path = rest.partition("/")
    if not sep or not host or not path:
        raise InvalidReference(f"invalid OCI URL '{url}': {_FORMAT_HINT}")
    if "@" in host or not _HOST_RE.match(host):
        raise InvalidReference(f"invalid OCI URL '{url}': invalid registry host '{host}'")
    if "@" in path:
        raise InvalidReference(
            f"invalid OCI URL '{url}': URL must not contain a digest; use spec.ref.digest"
        )
    if ":" in path:
        tag = path.rpartition(":")[2]
        raise InvalidReference(
            f"invalid OCI URL '{url}': URL must not contain a tag; remove ':{tag}'"
        )
    for component in path.split("/"):
        if not _COMPONENT_RE.match(component):
            raise InvalidReference(
                f"invalid OCI URL '{url}': invalid repository path component '{component}' "
                "(lowercase letters, digits and separators . _ __ - only)"
            )
    if host in DOCKER_HUB_HOSTS and "/" not in path:
        path = f"library/{path}"
    return Repository(host, path)


def validate_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise InvalidReference(f"invalid tag '{tag}': must match {_TAG_RE.pattern}")
    return tag


def is_digest(ref: str) -> bool:
    return ":" in ref


def parse_reference_digest(value: str) -> Digest:
    """A `<algorithm>:<hex>` digest; bare hex is refused (unlike artifact digests)."""
    if ":" not in value:
        raise InvalidReference(f"invalid digest '{value}': expected '<algorithm>:<hex>'")
    try:
        return parse_digest(value)
    except InvalidDigest as exc:
        raise InvalidReference(f"invalid digest '{value}': {exc}") from None
