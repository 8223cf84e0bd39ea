"""GitRepository, source.toolkit.fluxcd.io/v1."""

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

GitProvider = Literal["generic", "azure", "github"]
GitVerificationMode = Literal["head", "HEAD", "Tag", "TagAndHEAD"]

DEFAULT_BRANCH = "master"
"""The branch checked out when a GitRepository has no `ref`."""

URL_COLUMN = PrinterColumn("URL", "string", ".spec.url")

_SERVICE_ACCOUNT_RULE = (
    "!has(self.serviceAccountName) || (has(self.provider) && self.provider == 'azure')",
    "serviceAccountName can only be set when provider is 'azure'",
)


class GitRepositoryRef(FluxModel):
    """The Git reference to check out; the most specific one set wins."""

    branch: str | None = None
    """Branch to check out; used when nothing more specific is set."""
    tag: str | None = None
    """Tag to check out; wins over branch."""
    semver: str | None = None
    """SemVer range; the highest matching tag is checked out. Wins over tag."""
    name: str | None = None
    """Full reference name such as refs/heads/main or refs/pull/1/head. Wins over semver."""
    commit: str | None = None
    """Commit SHA; wins over everything else, or pins the commit on the given branch."""


class GitRepositoryVerification(FluxModel):
    """OpenPGP signature verification of the checked-out commit and/or tag."""

    mode: GitVerificationMode = "HEAD"
    """What to verify: the HEAD commit, the tag, or both."""
    secret_ref: LocalObjectReference
    """Secret holding the trusted public keys."""


class GitRepositoryInclude(FluxModel):
    """Another GitRepository's artifact copied into this one's."""

    repository: LocalObjectReference
    """The GitRepository to include, in the same namespace."""
    from_path: str | None = None
    """Path in the included artifact to copy from; the root by default."""
    to_path: str | None = None
    """Path in this artifact to copy to; the included repository's name by default."""


class GitRepositorySpec(FluxModel):
    """How to fetch a Git repository and produce an artifact from it."""

    model_config = ConfigDict(json_schema_extra=cel_rules(_SERVICE_ACCOUNT_RULE))

    url: Annotated[str, Field(pattern=r"^(http|https|ssh)://.*$")]
    """Repository URL: http, https or ssh."""
    secret_ref: LocalObjectReference | None = None
    """Secret with the credentials: username/password or bearerToken (HTTPS), identity and
    known_hosts (SSH), plus optional ca.crt, tls.crt and tls.key."""
    provider: GitProvider | None = None
    """Authentication provider; generic when unset."""
    service_account_name: str | None = None
    """ServiceAccount used for workload identity; only with the azure provider."""
    interval: Duration
    """How often to check the repository for changes."""
    timeout: TimeoutDuration = "60s"
    """Timeout for Git operations."""
    ref: GitRepositoryRef | None = None
    """Reference to check out; the master branch when unset."""
    verify: GitRepositoryVerification | None = None
    """Verify commit or tag signatures."""
    proxy_secret_ref: LocalObjectReference | None = None
    """Secret with the proxy address, username and password."""
    ignore: str | None = None
    """.gitignore-style patterns excluded from the artifact; replaces the defaults."""
    suspend: bool | None = None
    """Stop reconciling this object."""
    recurse_submodules: bool | None = None
    """Clone submodules too."""
    include: list[GitRepositoryInclude] | None = None
    """Other GitRepositories whose artifacts are copied into this one."""
    sparse_checkout: list[str] | None = None
    """Directories to check out; everything when unset."""

    @model_validator(mode="after")
    def _service_account_needs_azure(self) -> Self:
        if self.service_account_name and self.provider != "azure":
            raise ValueError(_SERVICE_ACCOUNT_RULE[1])
        return self

    def effective_ref(self) -> GitRepositoryRef:
        """The reference to check out, with Flux's fallback to the master branch."""
        return self.ref or GitRepositoryRef(branch=DEFAULT_BRANCH)


class GitRepositoryStatus(FluxStatus):
    """What the controller last observed and produced."""

    artifact: Artifact | None = None
    """The last artifact produced."""
    included_artifacts: list[Artifact] | None = None
    """Artifacts of the included repositories, in `include` order."""
    observed_ignore: str | None = None
    """`spec.ignore` as used for the last artifact."""
    observed_recurse_submodules: bool | None = None
    """`spec.recurseSubmodules` as used for the last artifact."""
    observed_include: list[GitRepositoryInclude] | None = None
    """`spec.include` as used for the last artifact."""
    observed_sparse_checkout: list[str] | None = None
    """`spec.sparseCheckout` as used for the last artifact."""
    source_verification_mode: str | None = None
    """The verification mode used for the last artifact."""


class GitRepository(FluxObject[GitRepositorySpec, GitRepositoryStatus]):
    """A Git repository that source-controller turns into an artifact."""

    GROUP: ClassVar[str] = SOURCE_GROUP
    VERSION: ClassVar[str] = SOURCE_VERSION
    KIND: ClassVar[str] = "GitRepository"
    PLURAL: ClassVar[str] = "gitrepositories"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("gitrepo",)
    CATEGORIES: ClassVar[tuple[str, ...]] = SOURCE_CATEGORIES
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        URL_COLUMN,
        AGE_COLUMN,
        READY_COLUMN,
        STATUS_COLUMN,
    )

    status: GitRepositoryStatus = Field(
        default_factory=GitRepositoryStatus, json_schema_extra=STATUS_DEFAULT
    )
