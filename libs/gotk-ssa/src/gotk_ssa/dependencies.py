"""`spec.dependsOn` of an applier (Kustomization, HelmRelease): every object it names, of
the same kind, must exist, be reconciled at its latest generation and be Ready — or, for an
entry with `readyExpr`, make that CEL expression over `self` (the dependent) and `dep` (the
dependency) true instead. A caller adds checks of its own (kustomize-controller: a
dependency built from the same source must have applied the same revision).

A dependency not ready is a wait (`DependencyNotReady`, requeued after the dependency
interval, with Flux's Normal event); a `readyExpr` that does not compile stalls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gotk_api.conditions import DEPENDENCY_NOT_READY_REASON
from gotk_api.kustomize_types import DependencyReference
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NotFound, Resource, Waiting

from gotk_ssa.cel import compile_expr
from gotk_ssa.errors import CELEvaluationError

__all__ = ["DependencyCheck", "DependencyNotReady", "check_dependencies"]

DependencyCheck = Callable[[str, Obj], str | None]
"""`(namespace/name, dependency) → why it is not ready`, or None when it is."""


class DependencyNotReady(Waiting):
    reason = DEPENDENCY_NOT_READY_REASON


async def check_dependencies(
    client: KubeClient,
    resource: Resource,
    depends_on: Sequence[DependencyReference],
    *,
    namespace: str,
    self_object: Callable[[], Obj],
    requeue_after: float,
    check: DependencyCheck | None = None,
) -> None:
    """Return when every dependency is ready; raise ``DependencyNotReady`` otherwise, or
    ``InvalidCELExpression`` (stalling) when a `readyExpr` does not compile.

    ``self_object`` builds `self` for `readyExpr`, only when one is used; ``check`` runs on
    each dependency found ready by the built-in rules.
    """
    ready_exprs = [
        compile_expr(d.ready_expr, f"spec.dependsOn[{i}].readyExpr") if d.ready_expr else None
        for i, d in enumerate(depends_on)
    ]
    announce = (
        f"Dependencies do not meet ready condition, retrying in {format_duration(requeue_after)}"
    )

    def not_ready(message: str) -> DependencyNotReady:
        return DependencyNotReady(message, requeue_after=requeue_after, announce=announce)

    self_obj: Obj | None = None
    for ref, ready_expr in zip(depends_on, ready_exprs, strict=True):
        where = f"{ref.namespace or namespace}/{ref.name}"
        try:
            dep = await client.get(resource, ref.name, ref.namespace or namespace)
        except NotFound:
            raise not_ready(f"dependency '{where}' not found") from None
        if ready_expr is not None:
            if self_obj is None:
                self_obj = self_object()
            try:
                ready = ready_expr.evaluate_bool({"self": self_obj, "dep": dep})
            except CELEvaluationError as err:
                raise not_ready(f"dependency '{where}': {err}") from None
            if not ready:
                raise not_ready(f"dependency '{where}' is not ready according to readyExpr eval")
            continue
        status = dep.get("status") or {}
        ready_condition: Obj = next(
            (c for c in status.get("conditions") or () if c.get("type") == "Ready"), {}
        )
        if (
            dep["metadata"].get("generation") != status.get("observedGeneration")
            or ready_condition.get("status") != "True"
        ):
            raise not_ready(f"dependency '{where}' is not ready")
        if check is not None and (reason := check(where, dep)) is not None:
            raise not_ready(reason)
