"""The HelmRelease reconciler: chart template → dependencies → chart artifact → values →
release target → the atomic release loop → status, in Flux's order.

Waiting on a source, a chart artifact or a dependency is a requeue, not a failure; a values
reference that cannot be resolved is InitFailed; everything Helm does is recorded by the
release loop (`release.py`) on the Released/TestSuccess/Remediated conditions, from which
Ready is derived.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from gotk_api.conditions import (
    FORCE_REQUEST_ANNOTATION,
    HELM_NAME_LABEL,
    HELM_NAMESPACE_LABEL,
    RECONCILE_REQUEST_ANNOTATION,
    RESET_REQUEST_ANNOTATION,
)
from gotk_api.helm import HelmRelease, shorten_release_name
from gotk_api.objects import Obj
from gotk_runtime import EventRecorder, KubeClient, Reconciler, Result, note_attempt
from gotk_runtime.tools import find_tool

from helm_controller.chart import (
    ChartArtifact,
    download_chart,
    get_chart_artifact,
    read_chart_metadata,
)
from helm_controller.chart_template import reconcile_chart_template
from helm_controller.crds import chart_crds
from helm_controller.dependencies import check_dependencies
from helm_controller.errors import InvalidReleaseSpec
from helm_controller.finalize import finalize_release, uninstall_previous_target
from helm_controller.helm_cli import HelmCLI
from helm_controller.inventory import build_inventory, manifest_objects
from helm_controller.kubeconfig import controller_kubeconfig, release_client, release_kubeconfig
from helm_controller.oci_chart import oci_revision_digest, pin_chart_version
from helm_controller.options import HelmOptions
from helm_controller.postrender import render_config, renderers_digest
from helm_controller.release import AtomicRelease, ReleaseRequest
from helm_controller.values import compose_values, config_digest

log = logging.getLogger(__name__)

__all__ = ["HelmReleaseReconciler", "release_target"]


def release_target(hr: HelmRelease) -> tuple[str, str]:
    """(release name, namespace) of `hr`'s Helm release.

    Helm's CLI keeps a release in the namespace it deploys to, so the storage namespace is
    the target namespace; an explicit, different `spec.storageNamespace` is refused.
    """
    target = hr.get_release_namespace()
    if hr.spec.storage_namespace and hr.spec.storage_namespace != target:
        raise InvalidReleaseSpec(
            f"spec.storageNamespace '{hr.spec.storage_namespace}' differs from the target "
            f"namespace '{target}': gotk runs the Helm CLI, which stores a release in the "
            "namespace it deploys to; remove spec.storageNamespace or make them equal"
        )
    return shorten_release_name(hr.get_release_name()), target


class HelmReleaseReconciler(Reconciler):
    api_version: ClassVar[str] = HelmRelease.api_version_string()
    kind: ClassVar[str] = "HelmRelease"

    def __init__(
        self,
        client: KubeClient,
        events: EventRecorder,
        options: HelmOptions | None = None,
        *,
        helm: HelmCLI | None = None,
    ) -> None:
        self.client = client
        self.events = events
        self.options = options or HelmOptions()
        self.helm = helm or HelmCLI()
        self.release = AtomicRelease(self.helm, events)
        self._base_kubeconfig: Obj | None = None

    @property
    def base_kubeconfig(self) -> Obj:
        if self._base_kubeconfig is None:
            self._base_kubeconfig = controller_kubeconfig(self.options.kubeconfig)
        return self._base_kubeconfig

    def retry_interval(self, obj: Obj) -> float | None:
        retry = HelmRelease.model_validate(obj).get_active_retry()
        return retry.get_retry_interval() if retry is not None else None

    async def reconcile(self, obj: Obj) -> Result:
        hr = HelmRelease.model_validate(obj)
        options = self.options
        if hr.spec.depends_on:
            await check_dependencies(self.client, hr, options.requeue_dependency)
        template = await reconcile_chart_template(
            self.client, obj, hr, no_cross_namespace_refs=options.no_cross_namespace_refs
        )
        artifact = await get_chart_artifact(
            self.client,
            hr,
            template,
            no_cross_namespace_refs=options.no_cross_namespace_refs,
            requeue_after=options.requeue_dependency
            if template is None
            else hr.get_requeue_after(),
            allow_external_artifact=options.allow_external_artifact,
        )
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="helmrelease-"))
        try:
            return await self._reconcile_chart(obj, hr, artifact, workdir)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)

    async def _reconcile_chart(
        self, obj: Obj, hr: HelmRelease, artifact: ChartArtifact, workdir: Path
    ) -> Result:
        options = self.options
        chart_path = await download_chart(
            artifact,
            workdir / "chart.tgz",
            timeout=hr.get_timeout(),
            retries=options.http_retry,
            requeue_after=options.requeue_dependency,
        )
        chart = await read_chart_metadata(chart_path, artifact)
        oci_digest = None
        if artifact.kind == "OCIRepository":
            oci_digest = oci_revision_digest(artifact)
            if not options.disable_chart_digest_tracking:
                chart = await pin_chart_version(chart_path, chart, oci_digest, artifact)
        values = await compose_values(self.client, hr)
        digest = config_digest(values)
        note_attempt(chart.version, {"token": digest})
        _record_attempt(obj, hr, chart.version, digest, oci_digest)
        force = _handle_requests(obj, hr)
        name, namespace = release_target(hr)
        obj["status"]["storageNamespace"] = namespace
        kubeconfig = await release_kubeconfig(
            self.client,
            hr,
            self.base_kubeconfig,
            default_service_account=options.default_service_account,
            insecure_exec=options.insecure_kubeconfig_exec,
            insecure_tls=options.insecure_kubeconfig_tls,
        )
        async with release_client(
            self.client,
            hr,
            kubeconfig,
            default_service_account=options.default_service_account,
        ) as client:
            await uninstall_previous_target(
                self.helm, self.events, obj, hr, kubeconfig, name, namespace, chart.name
            )
            request = ReleaseRequest(
                obj=obj,
                chart=chart,
                chart_path=chart_path,
                values=values,
                config_digest=digest,
                name=name,
                namespace=namespace,
                kubeconfig=kubeconfig,
                client=client,
                revision=chart.version,
                oci_digest=oci_digest,
                postrender=postrender_config(hr),
                digests=observed_digests(hr),
                force=force,
            )
            ready = await self.release.run(request)
            await _record_inventory(obj, client, request)
        # Each Helm action (and drift correction) has emitted its own event, as in Flux:
        # Ready changing is no event of its own.
        return Result(
            reason=str(ready.get("reason")),
            message=str(ready.get("message")),
            revision=chart.version,
            announced=True,
        )

    async def finalize(self, obj: Obj) -> None:
        hr = HelmRelease.model_validate(obj)
        await finalize_release(
            self.client,
            self.helm,
            self.events,
            obj,
            hr,
            self.base_kubeconfig,
            default_service_account=self.options.default_service_account,
        )


async def _record_inventory(obj: Obj, client: KubeClient, request: ReleaseRequest) -> None:
    record = request.current
    if record is None:
        return
    objects = await asyncio.to_thread(
        lambda: [*chart_crds(request.chart_path), *manifest_objects(record.manifest)]
    )
    inventory = await build_inventory(client, objects, record.namespace)
    obj["status"]["inventory"] = inventory.model_dump(mode="json")


def _record_attempt(
    obj: Obj, hr: HelmRelease, version: str, digest: str, oci_digest: str | None
) -> None:
    """Reset the failure counters when the generation, chart or values changed (or on
    `resetAt`), then record what this reconcile attempts."""
    status = obj.setdefault("status", {})
    generation = obj["metadata"].get("generation")
    changed = (
        status.get("lastAttemptedGeneration") != generation
        or status.get("lastAttemptedRevision") != version
        or status.get("lastAttemptedConfigDigest") != digest
    )
    annotations = obj["metadata"].get("annotations") or {}
    reset = annotations.get(RESET_REQUEST_ANNOTATION)
    requested = annotations.get(RECONCILE_REQUEST_ANNOTATION)
    if reset and reset == requested and reset != status.get("lastHandledResetAt"):
        changed = True
        status["lastHandledResetAt"] = reset
    if changed:
        for key in ("failures", "installFailures", "upgradeFailures"):
            status.pop(key, None)
    status["lastAttemptedGeneration"] = generation
    status["lastAttemptedRevision"] = version
    status["lastAttemptedConfigDigest"] = digest
    status.pop("lastAttemptedValuesChecksum", None)
    if oci_digest:
        status["lastAttemptedRevisionDigest"] = oci_digest
    else:
        status.pop("lastAttemptedRevisionDigest", None)


def _handle_requests(obj: Obj, hr: HelmRelease) -> bool:
    """Whether `reconcile.fluxcd.io/forceAt` asks for a one-off install or upgrade now."""
    annotations = obj["metadata"].get("annotations") or {}
    force = annotations.get(FORCE_REQUEST_ANNOTATION)
    status = obj.setdefault("status", {})
    if (
        force
        and force == annotations.get(RECONCILE_REQUEST_ANNOTATION)
        and force != status.get("lastHandledForceAt")
    ):
        status["lastHandledForceAt"] = force
        return True
    return False


def postrender_config(hr: HelmRelease) -> dict[str, Any]:
    """What gotk's post-renderer plugin does for `hr`: kustomize post-renderers, common
    metadata, then the origin labels Flux puts on every object of a release."""
    kustomize = [
        r.kustomize.model_dump(mode="json", by_alias=True, exclude_none=True)
        for r in hr.spec.post_renderers or ()
        if r.kustomize is not None
    ]
    common = hr.spec.common_metadata
    return render_config(
        kustomize=kustomize,
        labels=(common.labels if common else None) or {},
        annotations=(common.annotations if common else None) or {},
        origin={HELM_NAME_LABEL: hr.name, HELM_NAMESPACE_LABEL: hr.namespace},
        kustomize_bin=str(find_tool("kustomize")) if kustomize else None,
    )


def observed_digests(hr: HelmRelease) -> dict[str, str | None]:
    """The post-renderer and common-metadata digests a release made now records; a change
    of either makes the release out of sync, as in Flux."""
    renderers = hr.spec.post_renderers
    common = hr.spec.common_metadata
    return {
        "observedPostRenderersDigest": (
            renderers_digest(
                [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in renderers]
            )
            if renderers
            else None
        ),
        "observedCommonMetadataDigest": (
            renderers_digest(common.model_dump(mode="json", by_alias=True, exclude_none=True))
            if common
            else None
        ),
    }
