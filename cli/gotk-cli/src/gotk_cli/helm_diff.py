"""`gotk diff helmrelease NAME`: what the next upgrade of a HelmRelease would change.

The chart and values are the ones helm-controller would use now — the artifact of the
release's HelmChart (or `spec.chartRef`) and `valuesFrom` merged with `values`, with
helm-controller's own functions — rendered by `helm template` through gotk's
post-renderer (origin labels, `commonMetadata`, kustomize post-renderers), as an upgrade
renders them. Hooks are left out (they are not part of the release's objects). Every
object is then dry-run server-side as Helm's field manager and compared with the live
one; objects of the release's inventory the render no longer has would be deleted.

Nothing is written to the cluster: the HelmChart of `spec.chart` is only read.
"""

from __future__ import annotations

import asyncio

import yaml
from gotk_api.helm import HelmRelease
from gotk_api.objects import Obj
from gotk_artifacts import scratch_dir
from gotk_runtime import GotkError
from gotk_ssa import ApplyError, ApplyOptions, Diff, diff, inventory_from_objects, stale_refs
from gotk_ssa.inventory import ObjectRef
from helm_controller.chart import download_chart, get_chart_artifact
from helm_controller.chart_template import chart_object
from helm_controller.helm_cli import HelmCLI
from helm_controller.helmrelease import postrender_config, release_target
from helm_controller.values import compose_values

from gotk_cli.cluster import Cluster
from gotk_cli.diff import DiffReport
from gotk_cli.errors import CliError
from gotk_cli.health import server_version
from gotk_cli.kinds import HELMRELEASE

__all__ = ["HELM_FIELD_MANAGER", "diff_helmrelease", "render_release"]

HELM_FIELD_MANAGER = "helm"
"""The field manager Helm 4 applies a release's objects with (server-side apply)."""
_HOOK = "helm.sh/hook"
_RETRIES = 3
_EMPTY_KUBECONFIG: Obj = {"apiVersion": "v1", "kind": "Config"}


async def diff_helmrelease(
    cluster: Cluster, name: str, namespace: str, *, timeout: float
) -> DiffReport:
    obj = await cluster.get(HELMRELEASE, name, namespace)
    hr = HelmRelease.model_validate(obj)
    objects = await render_release(cluster, hr, timeout=timeout)
    options = ApplyOptions(field_manager=HELM_FIELD_MANAGER, force=True)
    diffs: list[Diff] = []
    errors: list[str] = []
    for desired in objects:
        try:
            diffs.append(await diff(cluster.client, desired, options))
        except ApplyError as err:
            errors.append(str(err))
    deleted: list[str] = []
    if not errors:
        new = inventory_from_objects(d.entry.ref.as_object() for d in diffs)
        deleted = [str(ref) for ref in stale_refs(hr.status.inventory, new) if not _is_crd(ref)]
    return DiffReport(diffs, deleted, errors)


async def render_release(cluster: Cluster, hr: HelmRelease, *, timeout: float) -> list[Obj]:
    """The objects an upgrade of ``hr`` would apply now, hooks left out."""
    client = cluster.client
    template = None
    if hr.spec.chart is not None:
        desired = chart_object(hr)
        template = (desired["metadata"]["namespace"], desired["metadata"]["name"])
    try:
        artifact = await get_chart_artifact(
            client, hr, template, no_cross_namespace_refs=False, requeue_after=0
        )
    except GotkError as err:
        raise CliError(
            f"cannot get the chart of HelmRelease {hr.namespace}/{hr.name}: {err}"
        ) from None
    values = await compose_values(client, hr)
    release, target = release_target(hr)
    kube_version = await server_version(cluster)
    async with scratch_dir("gotk-diff-hr-") as scratch:
        chart = await download_chart(
            artifact, scratch / "chart.tgz", timeout=timeout, retries=_RETRIES, requeue_after=0
        )
        helm = HelmCLI(home=scratch / "helm")
        args = [
            "template",
            release,
            str(chart),
            f"--namespace={target}",
            "--values={values}",
            "--is-upgrade",
            f"--kube-version={kube_version}",
        ]
        outcome = await helm.run(
            args,
            kubeconfig=_EMPTY_KUBECONFIG,
            timeout=timeout,
            values=values,
            postrender=postrender_config(hr),
        )
    if not outcome.ok:
        raise CliError(
            f"helm template failed for HelmRelease {hr.namespace}/{hr.name}: {outcome.error}"
        )
    documents = await asyncio.to_thread(_documents, outcome.stdout)
    return [
        _owned(_in_namespace(doc, target), release, target)
        for doc in documents
        if not _is_hook(doc)
    ]


def _documents(text: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and doc.get("kind")]


def _is_hook(obj: Obj) -> bool:
    return _HOOK in ((obj.get("metadata") or {}).get("annotations") or {})


def _in_namespace(obj: Obj, namespace: str) -> Obj:
    """Helm puts an object without a namespace into the release's; a cluster-scoped one
    loses it again in gotk_ssa.diff."""
    metadata = obj.get("metadata") or {}
    if metadata.get("namespace"):
        return obj
    return {**obj, "metadata": {**metadata, "namespace": namespace}}


def _owned(obj: Obj, release: str, namespace: str) -> Obj:
    """With the ownership metadata Helm adds to every object of a release as it applies
    it (`helm template` leaves it out)."""
    metadata = dict(obj.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), "app.kubernetes.io/managed-by": "Helm"}
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        "meta.helm.sh/release-name": release,
        "meta.helm.sh/release-namespace": namespace,
    }
    return {**obj, "metadata": metadata}


def _is_crd(ref: ObjectRef) -> bool:
    # CRDs are in a release's inventory but an upgrade never deletes them.
    return ref.kind == "CustomResourceDefinition"
