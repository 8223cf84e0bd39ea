"""What one reconcile's release loop works on, the steps it runs, and how Ready is derived
from the Released, TestSuccess and Remediated conditions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gotk_api.conditions import READY, RELEASED, REMEDIATED, TEST_SUCCESS
from gotk_api.helm import HelmRelease
from gotk_api.helm_actions import Remediation
from gotk_api.objects import Obj
from gotk_runtime import Conditions, KubeClient, ReadySummary

from helm_controller.chart import ChartMetadata
from helm_controller.storage import ReleaseRecord

__all__ = ["ReleaseRequest", "Step", "count_failure", "max_version", "summarize"]

Kind = Literal["release", "test", "remediate", "unlock", "drift"]


@dataclass
class ReleaseRequest:
    """Everything one reconcile knows about the release it drives."""

    obj: Obj
    chart: ChartMetadata
    chart_path: Path
    values: dict[str, Any]
    config_digest: str
    name: str
    namespace: str
    kubeconfig: Obj
    client: KubeClient
    """Client for the release's cluster and identity: storage reads, CRDs."""
    revision: str
    oci_digest: str | None = None
    postrender: dict[str, Any] | None = None
    digests: dict[str, str | None] = field(default_factory=dict)
    """observedPostRenderersDigest / observedCommonMetadataDigest this reconcile wants."""
    force: bool = False
    acted: list[str] = field(default_factory=list)
    ended: set[int] = field(default_factory=set)
    """Revisions made by helm processes of this reconcile, all of which have exited."""
    current: ReleaseRecord | None = None
    """The newest stored revision when the loop ended."""

    @property
    def hr(self) -> HelmRelease:
        return HelmRelease.model_validate(self.obj)

    @property
    def status(self) -> Obj:
        status: Obj = self.obj.setdefault("status", {})
        return status

    @property
    def target(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    kind: Kind
    timeout: float
    run: Callable[[], Awaitable[None]]


def summarize(obj: Obj, hr: HelmRelease) -> Obj:
    """Derive Ready from Remediated (abnormal when True), TestSuccess and Released."""
    conditions = Conditions(obj)
    test = hr.get_test()
    if not test.enable:
        conditions.delete(TEST_SUCCESS)
    order = [REMEDIATED, RELEASED]
    if test.enable and not test.ignore_failures:
        order = [REMEDIATED, TEST_SUCCESS, RELEASED]
    released = conditions.is_true(RELEASED)
    tests_ok = not test.enable or test.ignore_failures or conditions.is_true(TEST_SUCCESS)
    if released and tests_ok:
        conditions.delete(REMEDIATED)
    conditions.summarize(ReadySummary(tuple(order), (REMEDIATED,)))
    return conditions.get(READY) or {}


def max_version(req: ReleaseRequest) -> int:
    history = HelmRelease.model_validate(req.obj).status.history or []
    return max((s.version for s in history), default=0)


def count_failure(req: ReleaseRequest, remediation: Remediation) -> None:
    status = req.status
    status["failures"] = int(status.get("failures") or 0) + 1
    key = (
        "installFailures"
        if remediation.FAILURE_COUNTER == "install_failures"
        else "upgradeFailures"
    )
    status[key] = int(status.get(key) or 0) + 1
