"""`spec.dependsOn`: every HelmRelease it names must exist, be reconciled at its latest
generation and be Ready — or, for an entry with `readyExpr`, make that CEL expression over
`self` (this HelmRelease) and `dep` (the dependency) true instead. Flux's HelmRelease has no
revision check (unlike Kustomization's)."""

from __future__ import annotations

from typing import Any

import cel
from gotk_api.conditions import DEPENDENCY_NOT_READY_REASON, INVALID_CEL_EXPRESSION_REASON
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, NotFound, Resource, Waiting

__all__ = ["HELM_RELEASES", "DependencyNotReady", "check_dependencies"]

HELM_RELEASES = Resource(
    HelmRelease.GROUP, HelmRelease.VERSION, "helmreleases", "HelmRelease", True
)


class DependencyNotReady(Waiting):
    reason = DEPENDENCY_NOT_READY_REASON


def _compile(source: str, field: str) -> Any:
    try:
        if not source.strip():
            raise ValueError("expression is empty")
        return cel.compile(source)
    except Exception as err:  # the library raises ValueError and friends for syntax errors
        detail = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        raise GotkError(
            f"{field}: invalid CEL expression: {detail}",
            reason=INVALID_CEL_EXPRESSION_REASON,
            stalling=True,
        ) from None


async def check_dependencies(client: KubeClient, hr: HelmRelease, requeue_after: float) -> None:
    """Return when every dependency is ready; raise DependencyNotReady otherwise."""
    refs = hr.spec.depends_on or []
    programs = [
        _compile(r.ready_expr, f"spec.dependsOn[{i}].readyExpr") if r.ready_expr else None
        for i, r in enumerate(refs)
    ]
    announce = (
        f"Dependencies do not meet ready condition, retrying in {format_duration(requeue_after)}"
    )

    def not_ready(message: str) -> DependencyNotReady:
        return DependencyNotReady(message, requeue_after=requeue_after, announce=announce)

    self_obj: Obj | None = None
    for ref, program in zip(refs, programs, strict=True):
        namespace = ref.namespace or hr.namespace
        where = f"{namespace}/{ref.name}"
        try:
            dep = await client.get(HELM_RELEASES, ref.name, namespace)
        except NotFound:
            raise not_ready(f"dependency '{where}' not found") from None
        if program is not None:
            if self_obj is None:
                self_obj = hr.model_dump(mode="json", by_alias=True, exclude_none=True)
            try:
                ready = program.execute({"self": self_obj, "dep": dep})
            except Exception as err:
                raise not_ready(
                    f"dependency '{where}': failed to evaluate readyExpr: {err}"
                ) from None
            if ready is not True:
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
