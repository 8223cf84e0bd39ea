"""HelmRelease action settings: install, upgrade, test, rollback and uninstall.

Shapes, enums and defaults follow helm-controller v1.5 (`helm.toolkit.fluxcd.io/v2`).
Every `get_*` helper returns the value helm-controller would use when the field is unset.
Durations are returned in seconds.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Final, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from gotk_api.kustomize_types import Flag
from gotk_api.meta import Duration, FluxModel, cel_rules, omit_crd_default, parse_duration

CRDsPolicy = Literal["Skip", "Create", "CreateReplace"]
CRDS_SKIP: Final = "Skip"
CRDS_CREATE: Final = "Create"
CRDS_CREATE_REPLACE: Final = "CreateReplace"

ServerSideApplyMode = Literal["enabled", "disabled", "auto"]
SERVER_SIDE_APPLY_ENABLED: Final = "enabled"
SERVER_SIDE_APPLY_DISABLED: Final = "disabled"
SERVER_SIDE_APPLY_AUTO: Final = "auto"

ActionStrategyName = Literal["RemediateOnFailure", "RetryOnFailure"]
ACTION_STRATEGY_REMEDIATE_ON_FAILURE: Final = "RemediateOnFailure"
ACTION_STRATEGY_RETRY_ON_FAILURE: Final = "RetryOnFailure"

RemediationStrategy = Literal["rollback", "uninstall"]
REMEDIATION_ROLLBACK: Final = "rollback"
REMEDIATION_UNINSTALL: Final = "uninstall"

DeletionPropagation = Literal["background", "foreground", "orphan"]

DEFAULT_RETRY_INTERVAL_SECONDS: Final = 300.0
"""A RetryOnFailure strategy without `retryInterval` retries every 5 minutes."""

FailureCounter = Literal["install_failures", "upgrade_failures"]


# The two rules say the same thing in different words; both are Flux's, kept verbatim.
_INSTALL_RETRY_RULE = (
    "!has(self.retryInterval) || self.name != 'RemediateOnFailure'",
    ".retryInterval cannot be set when .name is 'RemediateOnFailure'",
)
_UPGRADE_RETRY_RULE = (
    "!has(self.retryInterval) || self.name == 'RetryOnFailure'",
    ".retryInterval can only be set when .name is 'RetryOnFailure'",
)


def _timeout_or(timeout: str | None, default_seconds: float) -> float:
    return default_seconds if timeout is None else parse_duration(timeout)


class InstallStrategy(FluxModel):
    """What to do after a failed install: remediate (uninstall) or retry later."""

    model_config = ConfigDict(json_schema_extra=cel_rules(_INSTALL_RETRY_RULE))

    name: ActionStrategyName
    retry_interval: Duration | None = None

    @model_validator(mode="after")
    def _retry_interval_needs_retry(self) -> Self:
        if self.retry_interval is not None and self.name == "RemediateOnFailure":
            raise ValueError(_INSTALL_RETRY_RULE[1])
        return self

    def get_retry_interval(self) -> float:
        if self.retry_interval is None:
            return DEFAULT_RETRY_INTERVAL_SECONDS
        return parse_duration(self.retry_interval)


class UpgradeStrategy(FluxModel):
    """What to do after a failed upgrade: remediate or retry later."""

    model_config = ConfigDict(json_schema_extra=cel_rules(_UPGRADE_RETRY_RULE))

    name: ActionStrategyName
    retry_interval: Duration | None = None

    @model_validator(mode="after")
    def _retry_interval_needs_retry(self) -> Self:
        if self.retry_interval is not None and self.name != "RetryOnFailure":
            raise ValueError(_UPGRADE_RETRY_RULE[1])
        return self

    def get_retry_interval(self) -> float:
        if self.retry_interval is None:
            return DEFAULT_RETRY_INTERVAL_SECONDS
        return parse_duration(self.retry_interval)


class InstallRemediation(FluxModel):
    """Retries and remediation (always an uninstall) for failed installs."""

    FAILURE_COUNTER: ClassVar[FailureCounter] = "install_failures"

    retries: int = Field(default=0, json_schema_extra=omit_crd_default)
    """Negative means unlimited."""
    ignore_test_failures: bool | None = None
    remediate_last_failure: bool | None = None

    def get_retries(self) -> int:
        return self.retries

    def must_ignore_test_failures(self, default: bool) -> bool:
        """`ignoreTestFailures`, else the given default (`spec.test.ignoreFailures`)."""
        return default if self.ignore_test_failures is None else self.ignore_test_failures

    def must_remediate_last_failure(self) -> bool:
        return bool(self.remediate_last_failure)

    def get_strategy(self) -> RemediationStrategy:
        return "uninstall"

    def retries_exhausted(self, failures: int) -> bool:
        """True when `failures` (the install failure count) exceeds a bounded retry count."""
        return self.retries >= 0 and failures > self.retries

    def is_uninstall_after_upgrade(self) -> bool:
        return False


class UpgradeRemediation(FluxModel):
    """Retries and remediation (rollback or uninstall) for failed upgrades."""

    FAILURE_COUNTER: ClassVar[FailureCounter] = "upgrade_failures"

    retries: int = Field(default=0, json_schema_extra=omit_crd_default)
    """Negative means unlimited."""
    ignore_test_failures: bool | None = None
    remediate_last_failure: bool | None = None
    strategy: RemediationStrategy | None = None

    def get_retries(self) -> int:
        return self.retries

    def must_ignore_test_failures(self, default: bool) -> bool:
        """`ignoreTestFailures`, else the given default (`spec.test.ignoreFailures`)."""
        return default if self.ignore_test_failures is None else self.ignore_test_failures

    def must_remediate_last_failure(self) -> bool:
        """`remediateLastFailure`, else true exactly when `retries` is positive."""
        if self.remediate_last_failure is None:
            return self.retries > 0
        return self.remediate_last_failure

    def get_strategy(self) -> RemediationStrategy:
        return self.strategy or "rollback"

    def retries_exhausted(self, failures: int) -> bool:
        """True when `failures` (the upgrade failure count) exceeds a bounded retry count."""
        return self.retries >= 0 and failures > self.retries

    def is_uninstall_after_upgrade(self) -> bool:
        return self.get_strategy() == "uninstall"


Remediation = InstallRemediation | UpgradeRemediation


class Install(FluxModel):
    """Settings of the Helm install action."""

    timeout: Duration | None = None
    strategy: InstallStrategy | None = None
    remediation: InstallRemediation | None = None
    disable_take_ownership: Flag = False
    disable_wait: Flag = False
    disable_wait_for_jobs: Flag = False
    disable_hooks: Flag = False
    disable_open_api_validation: Flag = Field(default=False, alias="disableOpenAPIValidation")
    disable_schema_validation: Flag = False
    replace: Flag = False
    skip_crds: Flag = Field(default=False, alias="skipCRDs")
    """Deprecated by Flux in favour of `crds: Skip`, and ignored."""
    crds: CRDsPolicy | None = None
    create_namespace: Flag = False
    server_side_apply: bool | None = None

    def get_timeout(self, default_seconds: float) -> float:
        return _timeout_or(self.timeout, default_seconds)

    def get_remediation(self) -> InstallRemediation:
        return self.remediation or InstallRemediation()

    def get_retry(self, default_to_retry_on_failure: bool = False) -> InstallStrategy | None:
        """The RetryOnFailure strategy in effect, or None when failures are remediated."""
        if self.strategy is None:
            if default_to_retry_on_failure:
                return InstallStrategy(name="RetryOnFailure")
            return None
        return self.strategy if self.strategy.name == "RetryOnFailure" else None

    def get_crds_policy(self) -> CRDsPolicy:
        """`crds`, else Create. helm-controller 1.5 no longer reads `skipCRDs`."""
        return self.crds or "Create"

    def get_server_side_apply(self, use_helm3_defaults: bool = False) -> bool:
        """`serverSideApply`, else true (false with the UseHelm3Defaults feature gate)."""
        if self.server_side_apply is None:
            return not use_helm3_defaults
        return self.server_side_apply


class Upgrade(FluxModel):
    """Settings of the Helm upgrade action."""

    timeout: Duration | None = None
    strategy: UpgradeStrategy | None = None
    remediation: UpgradeRemediation | None = None
    disable_take_ownership: Flag = False
    disable_wait: Flag = False
    disable_wait_for_jobs: Flag = False
    disable_hooks: Flag = False
    disable_open_api_validation: Flag = Field(default=False, alias="disableOpenAPIValidation")
    disable_schema_validation: Flag = False
    force: Flag = False
    preserve_values: Flag = False
    cleanup_on_fail: Flag = False
    crds: CRDsPolicy | None = None
    server_side_apply: ServerSideApplyMode | None = None

    def get_timeout(self, default_seconds: float) -> float:
        return _timeout_or(self.timeout, default_seconds)

    def get_remediation(self) -> UpgradeRemediation:
        return self.remediation or UpgradeRemediation()

    def get_retry(self, default_to_retry_on_failure: bool = False) -> UpgradeStrategy | None:
        """The RetryOnFailure strategy in effect, or None when failures are remediated."""
        if self.strategy is None:
            if default_to_retry_on_failure:
                return UpgradeStrategy(name="RetryOnFailure")
            return None
        return self.strategy if self.strategy.name == "RetryOnFailure" else None

    def get_crds_policy(self) -> CRDsPolicy:
        """`crds`, else Create.

        Flux documents Skip as the upgrade default, but helm-controller resolves an empty
        policy to Create for upgrades too; gotk follows the behaviour, not the docs.
        """
        return self.crds or "Create"

    def get_server_side_apply(self) -> ServerSideApplyMode:
        return self.server_side_apply or "auto"


class Filter(FluxModel):
    """A Helm test to run only (or to leave out, with `exclude`)."""

    name: Annotated[str, Field(min_length=1, max_length=253)]
    exclude: Flag = False


class Test(FluxModel):
    """Settings of the Helm test action run after install and upgrade."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    enable: Flag = False
    timeout: Duration | None = None
    ignore_failures: Flag = False
    filters: list[Filter] | None = None

    def get_timeout(self, default_seconds: float) -> float:
        return _timeout_or(self.timeout, default_seconds)

    def get_filters(self) -> list[Filter]:
        return list(self.filters or ())


class Rollback(FluxModel):
    """Settings of the Helm rollback action used to remediate a failed upgrade."""

    timeout: Duration | None = None
    disable_wait: Flag = False
    disable_wait_for_jobs: Flag = False
    disable_hooks: Flag = False
    recreate: Flag = False
    """Kept for compatibility; Flux 2.8 (Helm 4) ignores it."""
    force: Flag = False
    cleanup_on_fail: Flag = False
    server_side_apply: ServerSideApplyMode | None = None

    def get_timeout(self, default_seconds: float) -> float:
        return _timeout_or(self.timeout, default_seconds)

    def get_server_side_apply(self) -> ServerSideApplyMode:
        return self.server_side_apply or "auto"


class Uninstall(FluxModel):
    """Settings of the Helm uninstall action."""

    timeout: Duration | None = None
    disable_hooks: Flag = False
    keep_history: Flag = False
    disable_wait: Flag = False
    deletion_propagation: DeletionPropagation = "background"

    def get_timeout(self, default_seconds: float) -> float:
        return _timeout_or(self.timeout, default_seconds)

    def get_deletion_propagation(self) -> DeletionPropagation:
        return self.deletion_propagation
