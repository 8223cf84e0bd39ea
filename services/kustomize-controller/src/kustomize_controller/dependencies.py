"""`spec.dependsOn` of a Kustomization: gotk_ssa's check (exists, reconciled at its latest
generation, Ready, or its `readyExpr` true), plus Flux's revision rule: a dependency built
from the same source must have applied the same revision."""

from __future__ import annotations

from gotk_api.kustomize import Kustomization
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, Resource
from gotk_ssa import check_dependencies as check_depends_on

from kustomize_controller.source import SourceArtifact, same_revision

KUSTOMIZATIONS = Resource(
    Kustomization.GROUP, Kustomization.VERSION, "kustomizations", "Kustomization", True
)


async def check_dependencies(
    client: KubeClient, ks: Kustomization, artifact: SourceArtifact, requeue_after: float
) -> None:
    """Return when every dependency is ready; raise ``DependencyNotReady`` otherwise, or
    ``InvalidCELExpression`` (stalling) when a `readyExpr` does not compile."""

    def same_revision_applied(where: str, dep: Obj) -> str | None:
        applied = (dep.get("status") or {}).get("lastAppliedRevision")
        if _same_source(dep, ks) and not same_revision(artifact.revision, applied):
            return f"dependency '{where}' revision is not up to date"
        return None

    await check_depends_on(
        client,
        KUSTOMIZATIONS,
        ks.spec.depends_on or [],
        namespace=ks.namespace,
        self_object=lambda: ks.model_dump(mode="json", by_alias=True, exclude_none=True),
        requeue_after=requeue_after,
        check=same_revision_applied,
    )


def _same_source(dep: Obj, ks: Kustomization) -> bool:
    ref = (dep.get("spec") or {}).get("sourceRef") or {}
    dep_namespace = ref.get("namespace") or dep["metadata"].get("namespace")
    return (
        ref.get("kind") == ks.spec.source_ref.kind
        and ref.get("name") == ks.spec.source_ref.name
        and dep_namespace == ks.get_source_namespace()
    )
