"""`spec.dependsOn`: every dependency must exist, be reconciled at its latest generation and
be Ready; one built from the same source must have applied the same revision. A
dependency with a `readyExpr` is ready when that CEL expression over `self` (this
Kustomization) and `dep` (the dependency) is true, instead of the built-in checks."""

from __future__ import annotations

from gotk_api.conditions import DEPENDENCY_NOT_READY_REASON
from gotk_api.kustomize import Kustomization
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NotFound, Resource, Waiting
from gotk_ssa import CELEvaluationError, compile_expr

from kustomize_controller.source import SourceArtifact, same_revision

KUSTOMIZATIONS = Resource(
    Kustomization.GROUP, Kustomization.VERSION, "kustomizations", "Kustomization", True
)


class DependencyNotReady(Waiting):
    reason = DEPENDENCY_NOT_READY_REASON


async def check_dependencies(
    client: KubeClient, ks: Kustomization, artifact: SourceArtifact, requeue_after: float
) -> None:
    """Return when every dependency is ready; raise ``DependencyNotReady`` otherwise, or
    ``InvalidCELExpression`` (stalling) when a `readyExpr` does not compile."""
    depends_on = ks.spec.depends_on or []
    ready_exprs = [
        compile_expr(d.ready_expr, f"spec.dependsOn[{i}].readyExpr") if d.ready_expr else None
        for i, d in enumerate(depends_on)
    ]
    self_obj: Obj | None = None
    for dep_ref, ready_expr in zip(depends_on, ready_exprs, strict=True):
        namespace = dep_ref.namespace or ks.namespace
        where = f"{namespace}/{dep_ref.name}"
        try:
            dep = await client.get(KUSTOMIZATIONS, dep_ref.name, namespace)
        except NotFound:
            raise _not_ready(f"dependency '{where}' not found", requeue_after) from None
        if ready_expr is not None:
            if self_obj is None:
                self_obj = ks.model_dump(mode="json", by_alias=True, exclude_none=True)
            try:
                ready = ready_expr.evaluate_bool({"self": self_obj, "dep": dep})
            except CELEvaluationError as err:
                raise _not_ready(f"dependency '{where}': {err}", requeue_after) from None
            if not ready:
                raise _not_ready(
                    f"dependency '{where}' is not ready according to readyExpr eval",
                    requeue_after,
                )
            continue
        status = dep.get("status") or {}
        conditions = status.get("conditions") or []
        if not conditions or dep["metadata"].get("generation") != status.get("observedGeneration"):
            raise _not_ready(f"dependency '{where}' is not ready", requeue_after)
        ready_condition: Obj = next((c for c in conditions if c.get("type") == "Ready"), {})
        if ready_condition.get("status") != "True":
            raise _not_ready(f"dependency '{where}' is not ready", requeue_after)
        if _same_source(dep, ks) and not same_revision(
            artifact.revision, status.get("lastAppliedRevision")
        ):
            raise _not_ready(f"dependency '{where}' revision is not up to date", requeue_after)


def _same_source(dep: Obj, ks: Kustomization) -> bool:
    ref = (dep.get("spec") or {}).get("sourceRef") or {}
    dep_namespace = ref.get("namespace") or dep["metadata"].get("namespace")
    return (
        ref.get("kind") == ks.spec.source_ref.kind
        and ref.get("name") == ks.spec.source_ref.name
        and dep_namespace == ks.get_source_namespace()
    )


def _not_ready(message: str, requeue_after: float) -> DependencyNotReady:
    return DependencyNotReady(
        message, requeue_after=requeue_after, announce=retry_message(requeue_after)
    )


def retry_message(requeue_after: float) -> str:
    return f"Dependencies do not meet ready condition, retrying in {format_duration(requeue_after)}"
