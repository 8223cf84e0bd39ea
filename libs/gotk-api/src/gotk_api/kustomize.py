"""Kustomization, `kustomize.toolkit.fluxcd.io/v1` (kustomize-controller API, Flux 2.8).

Names, enums, defaults, patterns and CEL rules follow kustomize-controller v1.8's CRD.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Final, Literal

from pydantic import Field

from gotk_api.groups import APPLIER_CATEGORIES, KUSTOMIZE_GROUP, KUSTOMIZE_VERSION
from gotk_api.kustomize_types import (
    CommonMetadata,
    CustomHealthCheck,
    DependencyReference,
    Flag,
    Image,
    Patch,
    ReconcileSnapshot,
    ResourceInventory,
)
from gotk_api.meta import (
    STATUS_DEFAULT,
    Duration,
    FluxModel,
    FluxObject,
    FluxStatus,
    KubeConfigReference,
    LocalObjectReference,
    Name,
    NamespacedObjectKindReference,
    NamespacedObjectReference,
    parse_duration,
)

KIND: Final = "Kustomization"

DELETION_POLICY_MIRROR_PRUNE: Final = "MirrorPrune"
DELETION_POLICY_DELETE: Final = "Delete"
DELETION_POLICY_WAIT_FOR_TERMINATION: Final = "WaitForTermination"
DELETION_POLICY_ORPHAN: Final = "Orphan"

DeletionPolicy = Literal["MirrorPrune", "Delete", "WaitForTermination", "Orphan"]
SourceKind = Literal["OCIRepository", "GitRepository", "Bucket", "ExternalArtifact"]

MIN_TIMEOUT_SECONDS: Final = 30.0
"""`GetTimeout` never returns less than this, and derives the default as interval - 30s."""

MAX_CONDITION_MESSAGE_LENGTH: Final = 20000
"""kustomize-controller truncates condition messages (e.g. long apply errors) to this."""

NameAffix = Annotated[str, Field(min_length=1, max_length=200)]
NamespaceName = Annotated[str, Field(min_length=1, max_length=63)]


class CrossNamespaceSourceReference(FluxModel):
    """The source whose artifact holds the manifests."""

    api_version: str | None = None
    kind: SourceKind
    name: str
    namespace: str | None = None
    """Defaults to the Kustomization's namespace."""

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


class Decryption(FluxModel):
    """How to decrypt SOPS-encrypted manifests before applying them."""

    provider: Literal["sops"]
    service_account_name: str | None = None
    secret_ref: LocalObjectReference | None = None


class SubstituteReference(FluxModel):
    """A ConfigMap or Secret whose data keys are post-build variables."""

    kind: Literal["Secret", "ConfigMap"]
    name: Name
    optional: bool = False
    """When true, a missing object counts as one with no variables."""


class PostBuild(FluxModel):
    """Variable substitution applied to the built manifests."""

    substitute: dict[str, str] | None = None
    substitute_from: list[SubstituteReference] | None = None


class KustomizationSpec(FluxModel):
    """What to build from a source artifact and how to apply it."""

    common_metadata: CommonMetadata | None = None
    depends_on: list[DependencyReference] | None = None
    decryption: Decryption | None = None
    interval: Duration
    retry_interval: Duration | None = None
    kube_config: KubeConfigReference | None = None
    path: str | None = None
    """Defaults to the artifact root."""
    post_build: PostBuild | None = None
    prune: bool
    deletion_policy: DeletionPolicy | None = None
    health_checks: list[NamespacedObjectKindReference] | None = None
    name_prefix: NameAffix | None = None
    name_suffix: NameAffix | None = None
    patches: list[Patch] | None = None
    images: list[Image] | None = None
    service_account_name: str | None = None
    source_ref: CrossNamespaceSourceReference
    suspend: Flag = False
    target_namespace: NamespaceName | None = None
    timeout: Duration | None = None
    force: bool = False
    wait: Flag = False
    components: list[str] | None = None
    ignore_missing_components: Flag = False
    health_check_exprs: list[CustomHealthCheck] | None = None


class KustomizationStatus(FluxStatus):
    """What kustomize-controller last applied and attempted."""

    last_applied_revision: str | None = None
    last_applied_origin_revision: str | None = None
    last_attempted_revision: str | None = None
    inventory: ResourceInventory | None = None
    history: list[ReconcileSnapshot] | None = None
    """Newest first, at most five entries (see `kustomize_types.upsert_history`)."""


class Kustomization(FluxObject[KustomizationSpec, KustomizationStatus]):
    """A Flux Kustomization: build a kustomize overlay from a source and apply it."""

    GROUP: ClassVar[str] = KUSTOMIZE_GROUP
    VERSION: ClassVar[str] = KUSTOMIZE_VERSION
    KIND: ClassVar[str] = KIND
    PLURAL: ClassVar[str] = "kustomizations"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ks",)
    CATEGORIES: ClassVar[tuple[str, ...]] = APPLIER_CATEGORIES

    status: KustomizationStatus = Field(
        default_factory=KustomizationStatus, json_schema_extra=STATUS_DEFAULT
    )

    def get_timeout(self) -> float:
        """Seconds allowed for apply and health checks: `spec.timeout`, else interval - 30s.

        Either way the result is at least 30 seconds, as in Flux's `GetTimeout`.
        """
        if self.spec.timeout is not None:
            seconds = parse_duration(self.spec.timeout)
        else:
            seconds = parse_duration(self.spec.interval) - MIN_TIMEOUT_SECONDS
        return max(seconds, MIN_TIMEOUT_SECONDS)

    def get_requeue_after(self) -> float:
        """Seconds until the next reconciliation after a success: `spec.interval`."""
        return parse_duration(self.spec.interval)

    def get_retry_interval(self) -> float:
        """Seconds until a failed reconciliation is retried: `spec.retryInterval` or interval."""
        if self.spec.retry_interval is not None:
            return parse_duration(self.spec.retry_interval)
        return self.get_requeue_after()

    def get_deletion_policy(self) -> DeletionPolicy:
        """`spec.deletionPolicy`, defaulting to MirrorPrune."""
        return self.spec.deletion_policy or "MirrorPrune"

    def get_depends_on(self) -> list[NamespacedObjectReference]:
        """The dependencies, each with the namespace resolved against this object's."""
        return [dep.namespaced(self.namespace) for dep in self.spec.depends_on or ()]

    def get_source_namespace(self) -> str:
        """Where the source lives: `spec.sourceRef.namespace`, else this object's namespace."""
        return self.spec.source_ref.namespace or self.namespace
