"""The source a Kustomization builds from: lookup, access control, and revision watching.

Sources are read from the API server (not a cache), so a reconcile triggered by a new
artifact always sees it. A source watch enqueues every Kustomization that references the
source whose artifact revision changed, as Flux's source indexers do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gotk_api.conditions import ACCESS_DENIED_REASON, ARTIFACT_FAILED_REASON
from gotk_api.groups import SOURCE_GROUP, SOURCE_VERSION
from gotk_api.kustomize import Kustomization
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import GenericError, KubeClient, NotFound, Resource, Stalling, Waiting

log = logging.getLogger(__name__)

SOURCE_API_VERSION = f"{SOURCE_GROUP}/{SOURCE_VERSION}"
SOURCE_KINDS: dict[str, Resource] = {
    "GitRepository": Resource(
        SOURCE_GROUP, SOURCE_VERSION, "gitrepositories", "GitRepository", True
    ),
    "OCIRepository": Resource(
        SOURCE_GROUP, SOURCE_VERSION, "ocirepositories", "OCIRepository", True
    ),
    "Bucket": Resource(SOURCE_GROUP, SOURCE_VERSION, "buckets", "Bucket", True),
}
ORIGIN_REVISION_KEY = "org.opencontainers.image.revision"
"""Artifact metadata holding the revision the artifact was built from (OCI artifacts)."""


@dataclass(frozen=True, slots=True)
class SourceArtifact:
    """The artifact of the referenced source, as its status advertises it."""

    kind: str
    namespace: str
    name: str
    url: str
    revision: str
    digest: str
    origin_revision: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


SourceCache = Callable[[str, str, str], Obj | None]
"""(kind, namespace, name) -> the source from the controller's watch cache, None if absent."""


async def get_source_artifact(
    client: KubeClient,
    ks: Kustomization,
    *,
    no_cross_namespace_refs: bool,
    requeue_dependency: float,
    cache: SourceCache | None = None,
) -> SourceArtifact:
    """The source's artifact, read from ``cache`` (the watch that triggers reconciles, as
    Flux reads it) or else from the API server; raise Stalling (ACL), Waiting (missing) or
    GenericError."""
    ref = ks.spec.source_ref
    namespace = ks.get_source_namespace()
    where = f"{ref.kind}/{namespace}/{ref.name}"
    if no_cross_namespace_refs and namespace != ks.namespace:
        raise Stalling(
            f"can't access '{where}', cross-namespace references have been blocked",
            reason=ACCESS_DENIED_REASON,
        )
    resource = SOURCE_KINDS.get(ref.kind)
    if resource is None:
        raise Stalling(
            f"source '{ref.name}' kind '{ref.kind}' is not supported",
            reason=ARTIFACT_FAILED_REASON,
        )
    try:
        source = (cache(ref.kind, namespace, ref.name) if cache else None) or await client.get(
            resource, ref.name, namespace
        )
    except NotFound:
        raise Waiting(
            f"Source '{where}' not found",
            requeue_after=ks.get_retry_interval(),
            reason=ARTIFACT_FAILED_REASON,
        ) from None
    except Exception as err:
        raise GenericError(
            f"unable to get source '{where}': {err}", reason=ARTIFACT_FAILED_REASON
        ) from err
    artifact = (source.get("status") or {}).get("artifact")
    if not artifact:
        raise Waiting(
            f"Source artifact not found, retrying in {format_duration(requeue_dependency)}",
            requeue_after=requeue_dependency,
            reason=ARTIFACT_FAILED_REASON,
        )
    return SourceArtifact(
        kind=ref.kind,
        namespace=namespace,
        name=ref.name,
        url=str(artifact.get("url", "")),
        revision=str(artifact.get("revision", "")),
        digest=str(artifact.get("digest", "")),
        origin_revision=str((artifact.get("metadata") or {}).get(ORIGIN_REVISION_KEY, "")),
    )


def same_revision(artifact_revision: str, other: str | None) -> bool:
    """Flux's Artifact.HasRevision, including the legacy `<branch>/<sha>` spelling."""
    if not other:
        return False
    if artifact_revision == other:
        return True
    # Before Flux 2.0 revisions were `<ref>/<sha>`; they still compare equal to `<ref>@sha1:<sha>`.
    name, _, digest = artifact_revision.partition("@")
    _, _, sha = digest.partition(":")
    return bool(sha) and other in (f"{name}/{sha}", sha)


def source_references(ks: Obj) -> list[tuple[str, str, str]]:
    """[(kind, namespace, name)] of the source a raw Kustomization references."""
    ref = (ks.get("spec") or {}).get("sourceRef") or {}
    if not ref.get("kind") or not ref.get("name"):
        return []
    namespace = ref.get("namespace") or ks["metadata"].get("namespace", "")
    return [(str(ref["kind"]), str(namespace), str(ref["name"]))]


def needs_revision(ks: Obj, source: Obj) -> bool:
    """Whether a Kustomization has yet to apply its source's current artifact (one that
    attempted it and is Ready or still busy with it needs no extra reconcile)."""
    revision = ((source.get("status") or {}).get("artifact") or {}).get("revision")
    attempted = (ks.get("status") or {}).get("lastAttemptedRevision")
    return not (same_revision(str(revision), attempted) and _ready_or_busy(ks))


def _ready_or_busy(ks: Obj) -> bool:
    for condition in (ks.get("status") or {}).get("conditions") or ():
        if condition.get("status") == "True" and condition.get("type") in ("Ready", "Reconciling"):
            return True
    return False
