"""HelmRelease, `helm.toolkit.fluxcd.io/v2` (helm-controller API, Flux 2.8).

Names, enums, defaults, patterns and CEL rules follow helm-controller v1.5's CRD. The action
settings live in `gotk_api.helm_actions`, the release history in `gotk_api.helm_history`.
The HelmRelease condition types (`RELEASED`, `TEST_SUCCESS`, `REMEDIATED`) and reasons
(`INSTALL_SUCCEEDED_REASON`, ..., `RETRIES_EXCEEDED_REASON`) live in `gotk_api.conditions`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, ClassVar, Final, Literal, Self

from pydantic import ConfigDict, Field, WithJsonSchema, model_validator

from gotk_api.groups import APPLIER_CATEGORIES, HELM_GROUP, HELM_VERSION
from gotk_api.helm_actions import (
    Install,
    InstallStrategy,
    Remediation,
    Rollback,
    Test,
    Uninstall,
    Upgrade,
    UpgradeStrategy,
)
from gotk_api.helm_history import Snapshot
from gotk_api.kustomize_types import (
    CommonMetadata,
    Counter,
    CustomHealthCheck,
    DependencyReference,
    Flag,
    Image,
    Int64,
    Patch,
    ResourceInventory,
    Selector,
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
    NamespacedObjectReference,
    ValuesReference,
    cel_rules,
    parse_duration,
)

KIND: Final = "HelmRelease"

NAMESPACE_CHECK_SKIPPED_REASON: Final = "NamespaceCheckSkipped"
"""Inventory reason: a namespace-scope check was skipped after a REST mapping error."""

DEFAULT_TIMEOUT_SECONDS: Final = 300.0
DEFAULT_MAX_HISTORY: Final = 5
MAX_RELEASE_NAME_LENGTH: Final = 53
_RELEASE_NAME_HASH_LENGTH: Final = 12

ReleaseAction = Literal["install", "upgrade", "rollback", "uninstall", "uninstall-remediation"]
DriftDetectionMode = Literal["enabled", "warn", "disabled"]
WaitStrategyName = Literal["poller", "legacy"]

NamespaceName = Annotated[str, Field(min_length=1, max_length=63)]

HelmValues = Annotated[
    dict[str, Any], WithJsonSchema({"x-kubernetes-preserve-unknown-fields": True})
]
"""Free-form Helm values; the API server keeps them as given."""


def shorten_release_name(name: str) -> str:
    """The Helm release name helm-controller really uses for `name`.

    A name over 53 characters becomes its first 40 characters, `-`, and the first 12 hex
    characters of its SHA-256, so it stays a valid Helm release name.
    """
    if len(name) <= MAX_RELEASE_NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_RELEASE_NAME_HASH_LENGTH]
    return f"{name[: MAX_RELEASE_NAME_LENGTH - _RELEASE_NAME_HASH_LENGTH - 1]}-{digest}"


# ---------------------------------------------------------------------------
# Chart source


class CrossNamespaceObjectReference(FluxModel):
    """The source a chart template's HelmChart pulls the chart from."""

    api_version: str | None = None
    kind: Literal["HelmRepository", "GitRepository", "Bucket"]
    name: Name
    namespace: NamespaceName | None = None


class CrossNamespaceSourceReference(FluxModel):
    """A source-controller object holding a ready chart artifact (`spec.chartRef`)."""

    api_version: str | None = None
    kind: Literal["OCIRepository", "HelmChart", "ExternalArtifact"]
    name: Name
    namespace: NamespaceName | None = None
    """Defaults to the HelmRelease's namespace."""


class HelmChartTemplateVerification(FluxModel):
    """Signature verification of an OCI chart."""

    # Flux marks `provider` both required and defaulted; keep both in the CRD.
    model_config = ConfigDict(json_schema_extra={"required": ["provider"]})

    provider: Literal["cosign", "notation"] = "cosign"
    secret_ref: LocalObjectReference | None = None


class HelmChartTemplateSpec(FluxModel):
    """The spec of the HelmChart helm-controller creates for this release."""

    chart: Annotated[str, Field(min_length=1, max_length=2048)]
    version: str = "*"
    source_ref: CrossNamespaceObjectReference
    interval: Duration | None = None
    """Defaults to the HelmRelease's interval."""
    reconcile_strategy: Literal["ChartVersion", "Revision"] = "ChartVersion"
    values_files: list[str] | None = None
    ignore_missing_values_files: Flag = False
    verify: HelmChartTemplateVerification | None = None


class HelmChartTemplateObjectMeta(FluxModel):
    """Labels and annotations for the generated HelmChart."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


class HelmChartTemplate(FluxModel):
    """A template of the HelmChart helm-controller manages for this release."""

    metadata: HelmChartTemplateObjectMeta | None = None
    spec: HelmChartTemplateSpec

    def get_interval(self, default: str) -> str:
        return self.spec.interval or default

    def get_namespace(self, default: str) -> str:
        return self.spec.source_ref.namespace or default


# ---------------------------------------------------------------------------
# Rendering and drift


class KustomizePostRenderer(FluxModel):
    """Kustomize patches and image overrides applied to the rendered chart."""

    patches: list[Patch] | None = None
    images: list[Image] | None = None


class PostRenderer(FluxModel):
    """One post-renderer; they run in order."""

    kustomize: KustomizePostRenderer | None = None


class IgnoreRule(FluxModel):
    """JSON Pointer paths drift detection disregards, on all objects or on `target`."""

    paths: list[str]
    target: Selector | None = None


class DriftDetection(FluxModel):
    """Whether and how differences between Helm storage and the cluster are handled."""

    mode: DriftDetectionMode | None = None
    ignore: list[IgnoreRule] | None = None

    def get_mode(self) -> DriftDetectionMode:
        return self.mode or "disabled"

    def must_detect_changes(self) -> bool:
        return self.get_mode() in ("enabled", "warn")


class WaitStrategy(FluxModel):
    """How Helm waits for resources: kstatus polling or Helm 3's legacy logic."""

    name: WaitStrategyName


# ---------------------------------------------------------------------------
# Spec, status and the kind


_CHART_XOR_CHART_REF = (
    "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
    "either chart or chartRef must be set",
)


class HelmReleaseSpec(FluxModel):
    """The desired Helm release."""

    model_config = ConfigDict(json_schema_extra=cel_rules(_CHART_XOR_CHART_REF))

    chart: HelmChartTemplate | None = None
    chart_ref: CrossNamespaceSourceReference | None = None
    interval: Duration
    kube_config: KubeConfigReference | None = None
    suspend: Flag = False
    release_name: Annotated[str, Field(min_length=1, max_length=53)] | None = None
    target_namespace: NamespaceName | None = None
    storage_namespace: NamespaceName | None = None
    depends_on: list[DependencyReference] | None = None
    timeout: Duration | None = None
    max_history: int | None = None
    """0 keeps every revision; unset means 5."""
    service_account_name: Name | None = None
    persistent_client: bool | None = None
    drift_detection: DriftDetection | None = None
    install: Install | None = None
    upgrade: Upgrade | None = None
    test: Test | None = None
    rollback: Rollback | None = None
    uninstall: Uninstall | None = None
    values_from: list[ValuesReference] | None = None
    values: HelmValues | None = None
    common_metadata: CommonMetadata | None = None
    post_renderers: list[PostRenderer] | None = None
    wait_strategy: WaitStrategy | None = None
    health_check_exprs: list[CustomHealthCheck] | None = None

    @model_validator(mode="after")
    def _exactly_one_chart_source(self) -> Self:
        if (self.chart is None) == (self.chart_ref is None):
            raise ValueError(_CHART_XOR_CHART_REF[1])
        return self


class HelmReleaseStatus(FluxStatus):
    """What helm-controller last released, attempted and observed."""

    observed_post_renderers_digest: str | None = None
    observed_common_metadata_digest: str | None = None
    last_attempted_generation: Int64 | None = None
    helm_chart: str | None = None
    """`<namespace>/<name>` of the HelmChart made from `spec.chart`."""
    storage_namespace: NamespaceName | None = None
    history: list[Snapshot] | None = None
    inventory: ResourceInventory | None = None
    last_attempted_release_action: Literal["install", "upgrade"] | None = None
    last_attempted_release_action_duration: str | None = None
    failures: Counter = 0
    install_failures: Counter = 0
    upgrade_failures: Counter = 0
    last_attempted_revision: str | None = None
    last_attempted_revision_digest: str | None = None
    last_attempted_values_checksum: str | None = None
    """Deprecated by Flux in favour of `lastAttemptedConfigDigest`."""
    last_release_revision: int | None = None
    """Deprecated by Flux in favour of `history`."""
    last_attempted_config_digest: str | None = None
    last_handled_reset_at: str | None = None
    last_handled_force_at: str | None = None

    def clear_history(self) -> None:
        self.history = None

    def clear_failures(self) -> None:
        self.failures = 0
        self.install_failures = 0
        self.upgrade_failures = 0

    def get_helm_chart(self) -> tuple[str, str]:
        """(namespace, name) of the managed HelmChart, or ("", "") when there is none."""
        namespace, sep, name = (self.helm_chart or "").partition("/")
        return (namespace, name) if sep else ("", "")

    def get_failure_count(self, remediation: Remediation) -> int:
        """The install or upgrade failure count that `remediation` is judged by."""
        count: int = getattr(self, remediation.FAILURE_COUNTER)
        return count

    def increment_failure_count(self, remediation: Remediation) -> None:
        setattr(self, remediation.FAILURE_COUNTER, self.get_failure_count(remediation) + 1)


class HelmRelease(FluxObject[HelmReleaseSpec, HelmReleaseStatus]):
    """A Flux HelmRelease: install and keep up to date a Helm chart release."""

    GROUP: ClassVar[str] = HELM_GROUP
    VERSION: ClassVar[str] = HELM_VERSION
    KIND: ClassVar[str] = KIND
    PLURAL: ClassVar[str] = "helmreleases"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("hr",)
    CATEGORIES: ClassVar[tuple[str, ...]] = APPLIER_CATEGORIES

    status: HelmReleaseStatus = Field(
        default_factory=HelmReleaseStatus, json_schema_extra=STATUS_DEFAULT
    )

    def get_drift_detection(self) -> DriftDetection:
        return self.spec.drift_detection or DriftDetection()

    def get_install(self) -> Install:
        return self.spec.install or Install()

    def get_upgrade(self) -> Upgrade:
        return self.spec.upgrade or Upgrade()

    def get_test(self) -> Test:
        return self.spec.test or Test()

    def get_rollback(self) -> Rollback:
        return self.spec.rollback or Rollback()

    def get_uninstall(self) -> Uninstall:
        return self.spec.uninstall or Uninstall()

    def get_active_remediation(self) -> Remediation | None:
        """The remediation of the last attempted action (install or upgrade), if any."""
        action = self.status.last_attempted_release_action
        if action == "install":
            return self.get_install().get_remediation()
        if action == "upgrade":
            return self.get_upgrade().get_remediation()
        return None

    def get_active_retry(
        self, default_to_retry_on_failure: bool = False
    ) -> InstallStrategy | UpgradeStrategy | None:
        """The RetryOnFailure strategy of the last attempted action, if it has one."""
        action = self.status.last_attempted_release_action
        if action == "install":
            return self.get_install().get_retry(default_to_retry_on_failure)
        if action == "upgrade":
            return self.get_upgrade().get_retry(default_to_retry_on_failure)
        return None

    def retries_exhausted(self) -> bool:
        """True when the active remediation has no retries left."""
        remediation = self.get_active_remediation()
        if remediation is None:
            return False
        return remediation.retries_exhausted(self.status.get_failure_count(remediation))

    def get_requeue_after(self) -> float:
        """Seconds until the next reconciliation: `spec.interval`."""
        return parse_duration(self.spec.interval)

    def get_values(self) -> dict[str, Any]:
        return dict(self.spec.values or {})

    def get_release_name(self) -> str:
        """`spec.releaseName`, else `[<targetNamespace>-]<name>` (not yet shortened)."""
        if self.spec.release_name:
            return self.spec.release_name
        if self.spec.target_namespace:
            return f"{self.spec.target_namespace}-{self.name}"
        return self.name

    def get_release_namespace(self) -> str:
        return self.spec.target_namespace or self.namespace

    def get_storage_namespace(self) -> str:
        return self.spec.storage_namespace or self.namespace

    def get_helm_chart_name(self) -> str:
        """Name of the HelmChart made from `spec.chart`: `<namespace>-<name>`."""
        return f"{self.namespace}-{self.name}"

    def get_timeout(self) -> float:
        """Seconds for each Kubernetes operation of a Helm action: `spec.timeout`, else 5m."""
        if self.spec.timeout is None:
            return DEFAULT_TIMEOUT_SECONDS
        return parse_duration(self.spec.timeout)

    def get_max_history(self) -> int:
        return DEFAULT_MAX_HISTORY if self.spec.max_history is None else self.spec.max_history

    def use_persistent_client(self) -> bool:
        return True if self.spec.persistent_client is None else self.spec.persistent_client

    def get_wait_strategy(self) -> WaitStrategyName | None:
        """The configured wait strategy; None lets the controller pick (poller by default)."""
        return self.spec.wait_strategy.name if self.spec.wait_strategy else None

    def get_depends_on(self) -> list[NamespacedObjectReference]:
        """The dependencies, each with the namespace resolved against this object's."""
        return [dep.namespaced(self.namespace) for dep in self.spec.depends_on or ()]

    def has_chart_ref(self) -> bool:
        return self.spec.chart_ref is not None

    def has_chart_template(self) -> bool:
        return self.spec.chart is not None
