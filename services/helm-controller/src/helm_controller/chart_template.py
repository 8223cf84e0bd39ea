"""The HelmChart a HelmRelease's `spec.chart` template stands for.

helm-controller owns a HelmChart `<hrNamespace>-<hrName>` in the source's namespace, keeps
its spec equal to the template (server-side apply, field manager `helm-controller`), records
it in `status.helmChart`, and deletes it when the template moves, when the release switches
to `spec.chartRef`, or when the HelmRelease is deleted. No owner reference: it may live in
another namespace, so the finalizer does the garbage collection, as in Flux.
"""

from __future__ import annotations

from gotk_api.conditions import (
    ACCESS_DENIED_REASON,
    HELM_NAME_LABEL,
    HELM_NAMESPACE_LABEL,
)
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_api.objects import Obj
from gotk_api.source_helm import HelmChart
from gotk_runtime import KubeClient, KubeError, NotFound, Resource

from helm_controller.options import FIELD_MANAGER

__all__ = [
    "HELM_CHARTS",
    "ChartTemplateError",
    "delete_helm_chart",
    "reconcile_chart_template",
]

HELM_CHARTS = Resource(HelmChart.GROUP, HelmChart.VERSION, HelmChart.PLURAL, "HelmChart", True)


class ChartTemplateError(GotkError):
    """The HelmChart of `spec.chart` cannot be created, updated or deleted."""


def chart_object(hr: HelmRelease) -> Obj:
    """The HelmChart `spec.chart` describes, as applied."""
    template = hr.spec.chart
    assert template is not None
    spec = template.spec
    labels = dict((template.metadata.labels if template.metadata else None) or {})
    labels.update({HELM_NAME_LABEL: hr.name, HELM_NAMESPACE_LABEL: hr.namespace})
    metadata: Obj = {
        "name": hr.get_helm_chart_name(),
        "namespace": template.get_namespace(hr.namespace),
        "labels": labels,
    }
    if template.metadata and template.metadata.annotations:
        metadata["annotations"] = dict(template.metadata.annotations)
    chart_spec: Obj = {
        "chart": spec.chart,
        "version": spec.version,
        "sourceRef": {"kind": spec.source_ref.kind, "name": spec.source_ref.name},
        "interval": template.get_interval(hr.spec.interval),
        "reconcileStrategy": spec.reconcile_strategy,
    }
    if spec.source_ref.api_version:
        chart_spec["sourceRef"]["apiVersion"] = spec.source_ref.api_version
    if spec.values_files:
        chart_spec["valuesFiles"] = list(spec.values_files)
    if spec.ignore_missing_values_files:
        chart_spec["ignoreMissingValuesFiles"] = True
    if spec.verify is not None:
        chart_spec["verify"] = spec.verify.model_dump(mode="json", exclude_none=True)
    return {
        "apiVersion": HelmChart.api_version_string(),
        "kind": "HelmChart",
        "metadata": metadata,
        "spec": chart_spec,
    }


async def reconcile_chart_template(
    client: KubeClient, obj: Obj, hr: HelmRelease, *, no_cross_namespace_refs: bool
) -> tuple[str, str] | None:
    """Apply the template's HelmChart (or drop a stale one); return its (namespace, name),
    None when the release uses `spec.chartRef`."""
    status = obj.setdefault("status", {})
    old_namespace, old_name = hr.status.get_helm_chart()
    if hr.spec.chart is None:
        if old_name:
            await delete_helm_chart(client, old_namespace, old_name)
            status.pop("helmChart", None)
        return None
    desired = chart_object(hr)
    namespace, name = desired["metadata"]["namespace"], desired["metadata"]["name"]
    if no_cross_namespace_refs and namespace != hr.namespace:
        raise GotkError(
            f"can't access 'HelmRepository/{namespace}/{hr.spec.chart.spec.source_ref.name}', "
            "cross-namespace references have been blocked",
            reason=ACCESS_DENIED_REASON,
            stalling=True,
        )
    if old_name and (old_namespace, old_name) != (namespace, name):
        await delete_helm_chart(client, old_namespace, old_name)
    try:
        await client.apply(HELM_CHARTS, desired, field_manager=FIELD_MANAGER, force=True)
    except KubeError as err:
        raise ChartTemplateError(
            f"failed to apply HelmChart '{namespace}/{name}' of spec.chart: {err.message}"
        ) from None
    status["helmChart"] = f"{namespace}/{name}"
    return namespace, name


async def delete_helm_chart(client: KubeClient, namespace: str, name: str) -> None:
    try:
        await client.delete(HELM_CHARTS, name, namespace)
    except NotFound:
        return
    except KubeError as err:
        raise ChartTemplateError(
            f"failed to delete HelmChart '{namespace}/{name}': {err.message}"
        ) from None
