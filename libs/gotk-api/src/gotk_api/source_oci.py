"""OCIRepository, source.toolkit.fluxcd.io/v1, and the OCI signature verification spec."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

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
    also_required,
)

OCIProvider = Literal["generic", "aws", "azure", "gcp"]
OCILayerOperation = Literal["extract", "copy"]
OCIVerificationProvider = Literal["cosign", "notation"]

OCI_URL_PREFIX = "oci://"
DEFAULT_TAG = "latest"
"""The tag pulled when an OCIRepository has no `ref`."""
DEFAULT_LAYER_OPERATION: OCILayerOperation = "extract"

URL_COLUMN = PrinterColumn("URL", "string", ".spec.url")


class OIDCIdentityMatch(FluxModel):
    """Regular expressions a keyless signature's OIDC issuer and subject must match."""

    issuer: str
    """Regular expression for the OIDC issuer."""
    subject: str
    """Regular expression for the OIDC subject."""


class OCIRepositoryVerification(FluxModel):
    """Signature verification of an OCI artifact or Helm chart."""

    model_config = ConfigDict(json_schema_extra=also_required("provider"))

    provider: OCIVerificationProvider = "cosign"
    """The signing tool the signatures were made with."""
    secret_ref: LocalObjectReference | None = None
    """Secret with the trusted public keys or certificates; keyless when unset (cosign)."""
    match_oidc_identity: list[OIDCIdentityMatch] | None = Field(
        default=None, alias="matchOIDCIdentity"
    )
    """Accepted keyless identities; any one must match."""


class OCIRepositoryRef(FluxModel):
    """The artifact version to pull: digest, then semver, then tag."""

    digest: str | None = None
    """Image digest (sha256:...); wins over everything else."""
    semver: str | None = None
    """SemVer range; the highest matching tag is pulled. Wins over tag."""
    semver_filter: str | None = None
    """Regular expression tags must match before the semver range is applied."""
    tag: str | None = None
    """Tag to pull; latest when nothing is set."""


class OCILayerSelector(FluxModel):
    """Which layer of the artifact to use, and how."""

    media_type: str | None = None
    """Media type of the layer; the first layer when unset."""
    operation: OCILayerOperation | None = None
    """extract the layer's tarball (the default) or copy it as-is."""

    def effective_operation(self) -> OCILayerOperation:
        return self.operation or DEFAULT_LAYER_OPERATION


class OCIRepositorySpec(FluxModel):
    """How to pull an OCI artifact and produce an artifact from it."""

    url: Annotated[str, Field(pattern=r"^oci://.*$")]
    """Repository address without tag or digest, starting with oci://."""
    ref: OCIRepositoryRef | None = None
    """The version to pull; the latest tag when unset."""
    layer_selector: OCILayerSelector | None = None
    """Layer to use; the first layer, extracted, when unset."""
    provider: OCIProvider = "generic"
    """Cloud provider used to obtain registry credentials."""
    secret_ref: LocalObjectReference | None = None
    """Secret of type kubernetes.io/dockerconfigjson with registry credentials."""
    verify: OCIRepositoryVerification | None = None
    """Verify the artifact's signature."""
    service_account_name: str | None = None
    """ServiceAccount whose image pull secrets or workload identity are used."""
    cert_secret_ref: LocalObjectReference | None = None
    """Secret with tls.crt, tls.key and ca.crt for the registry."""
    proxy_secret_ref: LocalObjectReference | None = None
    """Secret with the proxy address, username and password."""
    interval: Duration
    """How often to check the repository for a new version."""
    timeout: TimeoutDuration = "60s"
    """Timeout for remote operations."""
    ignore: str | None = None
    """.gitignore-style patterns excluded from the artifact; replaces the defaults."""
    insecure: bool | None = None
    """Allow plain HTTP connections to the registry."""
    suspend: bool | None = None
    """Stop reconciling this object."""

    def effective_ref(self) -> OCIRepositoryRef:
        """The version to pull, with Flux's fallback to the latest tag."""
        if self.ref is None or not (self.ref.digest or self.ref.semver or self.ref.tag):
            base = self.ref or OCIRepositoryRef()
            return base.model_copy(update={"tag": DEFAULT_TAG})
        return self.ref


class OCIRepositoryStatus(FluxStatus):
    """What the controller last observed and produced."""

    url: str | None = None
    """Download link of the last artifact."""
    artifact: Artifact | None = None
    """The last artifact produced."""
    observed_ignore: str | None = None
    """`spec.ignore` as used for the last artifact."""
    observed_layer_selector: OCILayerSelector | None = None
    """`spec.layerSelector` as used for the last artifact."""


class OCIRepository(FluxObject[OCIRepositorySpec, OCIRepositoryStatus]):
    """An OCI artifact that source-controller turns into an artifact."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "OCIRepository"
    PLURAL: ClassVar[str] = "ocirepositories"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("ocirepo",)
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        URL_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
        AGE_COLUMN,
    )

    status: OCIRepositoryStatus = Field(
        default_factory=OCIRepositoryStatus, json_schema_extra=STATUS_DEFAULT
    )
