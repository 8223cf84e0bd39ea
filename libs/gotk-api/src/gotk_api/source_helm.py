"""HelmRepository and HelmChart, source.toolkit.fluxcd.io/v1."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from gotk_api.groups import SOURCE_CATEGORIES, SOURCE_GROUP, SOURCE_VERSION
from gotk_api.meta import (
    AGE_COLUMN,
    READY_COLUMN,
    STATUS_COLUMN,
    STATUS_DEFAULT,
    Artifact,
    Duration,
    FluxModel,
    FluxObject,
    FluxStatus,
    LocalObjectReference,
    PrinterColumn,
    TimeoutDuration,
    cel_rules,
    parse_duration,
)
from gotk_api.source_oci import OCIRepositoryVerification

HelmRepositoryType = Literal["default", "oci"]
HelmRepositoryProvider = Literal["generic", "aws", "azure", "gcp"]
HelmChartSourceKind = Literal["HelmRepository", "GitRepository", "Bucket"]
ReconcileStrategy = Literal["ChartVersion", "Revision"]

DEFAULT_HELM_REPOSITORY_INTERVAL = 60.0
"""Seconds between index fetches when a HelmRepository has no `interval`."""
DEFAULT_HELM_REPOSITORY_TIMEOUT = 60.0
"""Seconds allowed for an index fetch when a HelmRepository has no `timeout`."""

URL_COLUMN = PrinterColumn("URL", "string", ".spec.url")
_HELM_CHART_COLUMNS = (
    PrinterColumn("Chart", "string", ".spec.chart"),
    PrinterColumn("Version", "string", ".spec.version"),
    PrinterColumn("Source Kind", "string", ".spec.sourceRef.kind"),
    PrinterColumn("Source Name", "string", ".spec.sourceRef.name"),
    AGE_COLUMN,
    READY_COLUMN,
    STATUS_COLUMN,
)

_VERIFY_RULE = (
    "!has(self.verify) || self.sourceRef.kind == 'HelmRepository'",
    "spec.verify is only supported when spec.sourceRef.kind is 'HelmRepository'",
)


class NamespaceSelector(FluxModel):
    """Namespaces whose labels match all of `matchLabels`."""

    match_labels: dict[str, str] | None = None
    """Labels a namespace must have."""


class AccessFrom(FluxModel):
    """Namespaces allowed to refer to this object (deprecated; not enforced)."""

    namespace_selectors: list[NamespaceSelector]
    """Selectors of the allowed namespaces; any one may match."""


class HelmRepositorySpec(FluxModel):
    """How to fetch a Helm repository index."""

    url: Annotated[str, Field(pattern=r"^(http|https|oci)://.*$")]
    """Repository URL: http, https, or oci for the oci type."""
    secret_ref: LocalObjectReference | None = None
    """Secret with username/password, and the legacy certFile, keyFile and caFile keys."""
    cert_secret_ref: LocalObjectReference | None = None
    """Secret with tls.crt, tls.key and ca.crt; wins over the TLS keys in secretRef."""
    pass_credentials: bool | None = None
    """Send the credentials to chart hosts other than the repository host."""
    interval: Duration | None = None
    """How often to fetch the index; 1m when unset."""
    insecure: bool | None = None
    """Allow plain HTTP connections; oci type only."""
    timeout: TimeoutDuration | None = None
    """Timeout for index fetches; 60s when unset."""
    suspend: bool | None = None
    """Stop reconciling this object."""
    access_from: AccessFrom | None = None
    """Deprecated cross-namespace access list."""
    type: HelmRepositoryType | None = None
    """default for an HTTP(S) index, oci for an OCI registry."""
    provider: HelmRepositoryProvider = "generic"
    """Cloud provider used to obtain registry credentials; oci type only."""

    def interval_seconds(self) -> float:
        if self.interval:
            return parse_duration(self.interval)
        return DEFAULT_HELM_REPOSITORY_INTERVAL

    def timeout_seconds(self) -> float:
        if self.timeout:
            return parse_duration(self.timeout)
        return DEFAULT_HELM_REPOSITORY_TIMEOUT


class HelmRepositoryStatus(FluxStatus):
    """What the controller last observed and produced."""

    url: str | None = None
    """Download link of the last index (index.yaml)."""
    artifact: Artifact | None = None
    """The last index artifact."""


class HelmRepository(FluxObject[HelmRepositorySpec, HelmRepositoryStatus]):
    """A Helm chart repository whose index source-controller stores as an artifact."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "HelmRepository"
    PLURAL: ClassVar[str] = "helmrepositories"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("helmrepo",)
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        URL_COLUMN,
        AGE_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
    )

    status: HelmRepositoryStatus = Field(
        default_factory=HelmRepositoryStatus, json_schema_extra=STATUS_DEFAULT
    )


class LocalHelmChartSourceReference(FluxModel):
    """The source of a chart, in the HelmChart's namespace."""

    api_version: str | None = None
    """API version of the source."""
    kind: HelmChartSourceKind
    """Kind of the source."""
    name: str
    """Name of the source."""


class HelmChartSpec(FluxModel):
    """Which chart to fetch or package, and from where."""

    model_config = ConfigDict(json_schema_extra=cel_rules(_VERIFY_RULE))

    chart: str
    """Chart name in a HelmRepository, or the chart's path in a GitRepository or Bucket."""
    version: str = "*"
    """SemVer range of the chart version; only used with a HelmRepository source."""
    source_ref: LocalHelmChartSourceReference
    """Where the chart comes from."""
    interval: Duration
    """How often to check the source for a new chart."""
    reconcile_strategy: ReconcileStrategy = "ChartVersion"
    """Build a new artifact when the chart version changes, or on every source revision."""
    values_files: list[str] | None = None
    """Values files merged in order into the chart's values.yaml; the last one wins."""
    ignore_missing_values_files: bool | None = None
    """Skip values files that do not exist instead of failing."""
    suspend: bool | None = None
    """Stop reconciling this object."""
    verify: OCIRepositoryVerification | None = None
    """Verify the chart's signature; only for OCI HelmRepository sources."""

    @model_validator(mode="after")
    def _verify_needs_helm_repository(self) -> Self:
        if self.verify is not None and self.source_ref.kind != "HelmRepository":
            raise ValueError(_VERIFY_RULE[1])
        return self


class HelmChartStatus(FluxStatus):
    """What the controller last observed and produced."""

    observed_source_artifact_revision: str | None = None
    """Revision of the source artifact the last chart was built from."""
    observed_chart_name: str | None = None
    """Name of the last chart built."""
    observed_values_files: list[str] | None = None
    """`spec.valuesFiles` as merged into the last chart."""
    url: str | None = None
    """Download link of the last chart."""
    artifact: Artifact | None = None
    """The last chart artifact."""


class HelmChart(FluxObject[HelmChartSpec, HelmChartStatus]):
    """A Helm chart that source-controller fetches or packages into an artifact."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "HelmChart"
    PLURAL: ClassVar[str] = "helmcharts"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("hc",)
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = _HELM_CHART_COLUMNS

    status: HelmChartStatus = Field(
        default_factory=HelmChartStatus, json_schema_extra=STATUS_DEFAULT
    )
