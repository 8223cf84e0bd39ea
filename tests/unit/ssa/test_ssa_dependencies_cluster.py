"""dependsOn against the real API server: missing, not reconciled, not Ready, a caller's
own check, `readyExpr` deciding instead, and a `readyExpr` that does not compile."""

from __future__ import annotations

from typing import Any

import pytest
from fixtures.runtime import widget
from gotk_api.kustomize_types import DependencyReference
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, Resource
from gotk_ssa import DependencyNotReady, InvalidCELExpression, check_dependencies


async def make(kube: KubeClient, res: Resource, ns: str, name: str, ready: str | None) -> None:
    created = await kube.create(res, widget(ns, name))
    if ready is None:
        return
    status: dict[str, Any] = {
        "observedGeneration": created["metadata"]["generation"],
        "conditions": [
            {
                "type": "Ready",
                "status": ready,
                "reason": "Succeeded" if ready == "True" else "Failed",
                "message": "",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ],
    }
    await kube.patch(res, name, {"status": status}, namespace=ns, subresource="status")


async def check(kube: KubeClient, res: Resource, ns: str, *deps: Obj, **kwargs: Any) -> None:
    await check_dependencies(
        kube,
        res,
        [DependencyReference.model_validate(d) for d in deps],
        namespace=ns,
        self_object=lambda: {"metadata": {"name": "me"}},
        requeue_after=30,
        **kwargs,
    )


async def test_dependencies_must_exist_be_reconciled_and_ready(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await make(kube, widget_crd, namespace, "ready", "True")
    await make(kube, widget_crd, namespace, "failing", "False")
    await make(kube, widget_crd, namespace, "new", None)
    await check(kube, widget_crd, namespace, {"name": "ready"})
    for name, why in (
        ("absent", "not found"),
        ("failing", "is not ready"),
        ("new", "is not ready"),
    ):
        with pytest.raises(DependencyNotReady) as info:
            await check(kube, widget_crd, namespace, {"name": "ready"}, {"name": name})
        assert str(info.value) == f"dependency '{namespace}/{name}' {why}"
        assert info.value.requeue_after == 30
        assert info.value.announce == ("Dependencies do not meet ready condition, retrying in 30s")


async def test_a_callers_check_and_ready_expressions(
    kube: KubeClient, namespace: str, widget_crd: Resource
) -> None:
    await make(kube, widget_crd, namespace, "ready", "True")
    with pytest.raises(DependencyNotReady, match="revision is not up to date"):
        await check(
            kube,
            widget_crd,
            namespace,
            {"name": "ready"},
            check=lambda w, d: "revision is not up to date",
        )
    await make(kube, widget_crd, namespace, "failing", "False")
    await check(
        kube, widget_crd, namespace, {"name": "failing", "readyExpr": "dep.spec.interval == '10m'"}
    )
    with pytest.raises(DependencyNotReady, match="not ready according to readyExpr eval"):
        await check(
            kube, widget_crd, namespace, {"name": "ready", "readyExpr": "self.metadata.name == 'x'"}
        )
    with pytest.raises(InvalidCELExpression, match=r"spec\.dependsOn\[0\]\.readyExpr"):
        await check(kube, widget_crd, namespace, {"name": "ready", "readyExpr": "dep.("})
