"""Bucket, source.toolkit.fluxcd.io/v1."""

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
)

BucketProvider = Literal["generic", "aws", "gcp", "azure"]
STSProvider = Literal["aws", "ldap"]

ENDPOINT_COLUMN = PrinterColumn("Endpoint", "string", ".spec.endpoint")


BUCKET_RULES: tuple[tuple[str, str], ...] = (
    (
        "self.provider == 'aws' || self.provider == 'generic' || !has(self.sts)",
        "STS configuration is only supported for the 'aws' and 'generic' Bucket providers",
    ),
    (
        "self.provider != 'aws' || !has(self.sts) || self.sts.provider == 'aws'",
        "'aws' is the only supported STS provider for the 'aws' Bucket provider",
    ),
    (
        "self.provider != 'generic' || !has(self.sts) || self.sts.provider == 'ldap'",
        "'ldap' is the only supported STS provider for the 'generic' Bucket provider",
    ),
    (
        "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.secretRef)",
        "spec.sts.secretRef is not required for the 'aws' STS provider",
    ),
    (
        "!has(self.sts) || self.sts.provider != 'aws' || !has(self.sts.certSecretRef)",
        "spec.sts.certSecretRef is not required for the 'aws' STS provider",
    ),
    (
        "self.provider != 'generic' || !has(self.serviceAccountName)",
        "ServiceAccountName is not supported for the 'generic' Bucket provider",
    ),
    (
        "!has(self.secretRef) || !has(self.serviceAccountName)",
        "cannot set both .spec.secretRef and .spec.serviceAccountName",
    ),
)
"""Flux's CEL rules on the Bucket spec, mirrored in Python by `BucketSpec`."""


class BucketSTSSpec(FluxModel):
    """A Security Token Service that exchanges credentials for temporary ones."""

    provider: STSProvider
    """The STS flavour: aws for the aws provider, ldap for the generic provider."""
    endpoint: Annotated[str, Field(pattern=r"^(http|https)://.*$")]
    """HTTP(S) address of the STS."""
    secret_ref: LocalObjectReference | None = None
    """Secret with the LDAP username and password (ldap only)."""
    cert_secret_ref: LocalObjectReference | None = None
    """Secret with tls.crt, tls.key and ca.crt for the STS (ldap only)."""


class BucketSpec(FluxModel):
    """How to fetch objects from an S3-compatible, GCS or Azure Blob bucket."""

    model_config = ConfigDict(json_schema_extra=cel_rules(*BUCKET_RULES))

    provider: BucketProvider = "generic"
    """Storage flavour; generic is any S3-compatible API."""
    bucket_name: str
    """Name of the bucket."""
    endpoint: str
    """Address of the storage service, without scheme for S3-compatible providers."""
    sts: BucketSTSSpec | None = None
    """Exchange credentials at an STS first; aws and generic providers only."""
    insecure: bool | None = None
    """Use plain HTTP."""
    region: str | None = None
    """Region of the bucket."""
    prefix: str | None = None
    """Only fetch objects whose key starts with this prefix (filtered server-side)."""
    secret_ref: LocalObjectReference | None = None
    """Secret with the credentials (accesskey/secretkey for generic and aws)."""
    service_account_name: str | None = None
    """ServiceAccount used for workload identity; not with generic or secretRef."""
    cert_secret_ref: LocalObjectReference | None = None
    """Secret with tls.crt, tls.key and ca.crt; generic provider only."""
    proxy_secret_ref: LocalObjectReference | None = None
    """Secret with the proxy address, username and password."""
    interval: Duration
    """How often to check the bucket for changes."""
    timeout: TimeoutDuration = "60s"
    """Timeout for bucket operations."""
    ignore: str | None = None
    """.gitignore-style patterns excluded from the artifact; replaces the defaults."""
    suspend: bool | None = None
    """Stop reconciling this object."""

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for holds, (_, message) in zip(self._rule_results(), BUCKET_RULES, strict=True):
            if not holds:
                raise ValueError(message)
        return self

    def _rule_results(self) -> tuple[bool, ...]:
        sts = self.sts
        return (
            self.provider in ("aws", "generic") or sts is None,
            self.provider != "aws" or sts is None or sts.provider == "aws",
            self.provider != "generic" or sts is None or sts.provider == "ldap",
            sts is None or sts.provider != "aws" or sts.secret_ref is None,
            sts is None or sts.provider != "aws" or sts.cert_secret_ref is None,
            self.provider != "generic" or self.service_account_name is None,
            self.secret_ref is None or self.service_account_name is None,
        )


class BucketStatus(FluxStatus):
    """What the controller last observed and produced."""

    url: str | None = None
    """Download link of the last artifact."""
    artifact: Artifact | None = None
    """The last artifact produced."""
    observed_ignore: str | None = None
    """`spec.ignore` as used for the last artifact."""


class Bucket(FluxObject[BucketSpec, BucketStatus]):
    """A storage bucket that source-controller turns into an artifact."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "Bucket"
    PLURAL: ClassVar[str] = "buckets"
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        ENDPOINT_COLUMN,
        AGE_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
    )

    status: BucketStatus = Field(default_factory=BucketStatus, json_schema_extra=STATUS_DEFAULT)
