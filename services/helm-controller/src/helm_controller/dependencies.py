"""`spec.dependsOn` of a HelmRelease: gotk_ssa's check — every HelmRelease it names must
exist, be reconciled at its latest generation and be Ready, or make its `readyExpr` over
`self` and `dep` true. Flux's HelmRelease has no revision check (unlike Kustomization's)."""

from __future__ import annotations

from gotk_api.helm import HelmRelease
from gotk_runtime import KubeClient, Resource
from gotk_ssa import check_dependencies as check_depends_on

__all__ = ["HELM_RELEASES", "check_dependencies"]

HELM_RELEASES = Resource(
    HelmRelease.GROUP, HelmRelease.VERSION, "helmreleases", "HelmRelease", True
)


async def check_dependencies(client: KubeClient, hr: HelmRelease, requeue_after: float) -> None:
    """Return when every dependency is ready; raise DependencyNotReady otherwise."""
    await check_depends_on(
        client,
        HELM_RELEASES,
        hr.spec.depends_on or [],
        namespace=hr.namespace,
        self_object=lambda: hr.model_dump(mode="json", by_alias=True, exclude_none=True),
        requeue_after=requeue_after,
    )
