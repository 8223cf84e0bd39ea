"""The HelmChart reconciler: storage → source → chart build → artifact, as Flux orders it.

The source is a HelmRepository (the chart is looked up in its stored index and pulled),
or a GitRepository or Bucket (the chart is packaged from the source's artifact). A chart
whose name and version equal the stored artifact's is not rebuilt unless the generation
changed; the Revision strategy adds the source revision to the version so that every new
source revision gives a new chart. Flux's revisions: `<version>`, `<version>+<generation>`
with valuesFiles, `<version>+<12 hex of the source revision>[.<generation>]` for Revision.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar, Final

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    BUILD_FAILED,
    CHART_PACKAGE_SUCCEEDED_REASON,
    CHART_PULL_SUCCEEDED_REASON,
    FETCH_FAILED,
    INVALID_PROVIDER_CONFIGURATION_REASON,
    NEW_CHART_REASON,
    NO_SOURCE_ARTIFACT_REASON,
    SOURCE_UNAVAILABLE_REASON,
    SOURCE_VERIFIED,
    STORAGE_OPERATION_FAILED,
)
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_api.source_helm import HelmChart, HelmRepository
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.extract import UNLIMITED, extract_archive_async
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import (
    Conditions,
    EventRecorder,
    GenericError,
    KubeClient,
    NotFound,
    ReadySummary,
    Result,
    Stalling,
    Waiting,
    patch_progress,
)

from source_controller.helm.auth import repository_auth_for
from source_controller.helm.chart_archive import DEFAULT_MAX_CHART_FILE_SIZE, DEFAULT_MAX_CHART_SIZE
from source_controller.helm.chart_build import (
    BuildOptions,
    ChartBuild,
    build_local_chart,
    build_remote_chart,
    read_local_chart_metadata,
    with_version_metadata,
)
from source_controller.helm.dependencies import dependency_repositories
from source_controller.helm.download import download
from source_controller.helm.errors import ChartPullError, HelmError
from source_controller.helm.index_lookup import find_chart_versions, select_chart_version
from source_controller.helm.oci_chart import OCIChartSource
from source_controller.helm.package import HelmPackager, chart_dir_in_source
from source_controller.helm.urls import resolve_chart_url
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import SourceReconciler
from source_controller.storage import ArtifactStorage, StorageError

__all__ = ["HelmChartReconciler"]

_NO_ARTIFACT_RETRY: Final = 5.0
_HELM_TIMEOUT: Final = 300.0
_SOURCE_KINDS: Final = {
    "HelmRepository": "helmrepositories",
    "GitRepository": "gitrepositories",
    "Bucket": "buckets",
}


class HelmChartReconciler(SourceReconciler):
    api_version: ClassVar[str] = HelmChart.api_version_string()
    kind: ClassVar[str] = "HelmChart"
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(
            STORAGE_OPERATION_FAILED,
            FETCH_FAILED,
            BUILD_FAILED,
            ARTIFACT_OUTDATED,
            ARTIFACT_IN_STORAGE,
            SOURCE_VERIFIED,
        ),
        negative_polarity=(STORAGE_OPERATION_FAILED, FETCH_FAILED, BUILD_FAILED, ARTIFACT_OUTDATED),
    )

    def __init__(
        self,
        client: KubeClient,
        storage: ArtifactStorage,
        events: EventRecorder,
        *,
        chart_max_size: int = DEFAULT_MAX_CHART_SIZE,
        chart_file_max_size: int = DEFAULT_MAX_CHART_FILE_SIZE,
    ) -> None:
        super().__init__(client, storage, events)
        self.chart_max_size = chart_max_size
        self.chart_file_max_size = chart_file_max_size

    async def reconcile(self, obj: Obj) -> Result:
        chart = HelmChart.model_validate(obj)
        if chart.spec.verify is not None:
            raise Stalling(
                "spec.verify (chart signature verification) is not supported by gotk yet",
                reason=INVALID_PROVIDER_CONFIGURATION_REASON,
            )
        await artifact_steps.reconcile_storage(self.context(obj))
        source = await self._get_source(chart, obj)
        kind = chart.spec.source_ref.kind
        is_oci = kind == "HelmRepository" and (source.get("spec") or {}).get("type") == "oci"
        artifact = (source.get("status") or {}).get("artifact")
        if not is_oci and (not artifact or not await self.storage.exists(artifact["path"])):
            message = f"no artifact available for {kind} source '{chart.spec.source_ref.name}'"
            Conditions(obj).mark_true(FETCH_FAILED, NO_SOURCE_ARTIFACT_REASON, message)
            raise Waiting(
                message, requeue_after=_NO_ARTIFACT_RETRY, reason=NO_SOURCE_ARTIFACT_REASON
            )
        if artifact:
            obj.setdefault("status", {})["observedSourceArtifactRevision"] = artifact["revision"]

        async with scratch_dir("helmchart-") as workdir:
            try:
                if kind == "HelmRepository":
                    if is_oci:
                        build = await self._from_oci(chart, obj, source, workdir)
                    else:
                        assert artifact is not None
                        build = await self._from_repository(chart, obj, source, artifact, workdir)
                else:
                    assert artifact is not None
                    build = await self._from_source_artifact(chart, obj, artifact, workdir)
            except HelmError as err:
                raise self._build_failed(obj, err) from None
            conditions = Conditions(obj)
            conditions.delete(FETCH_FAILED)
            conditions.delete(BUILD_FAILED)
            if build.path is not None:
                await self._store(chart, obj, build)
        reason = _reason_for(build)
        Conditions(obj).mark_true(ARTIFACT_IN_STORAGE, reason, build.summary())
        return Result(message=build.summary(), reason=reason, revision=build.version)

    # -- source

    async def _get_source(self, chart: HelmChart, obj: Obj) -> Obj:
        ref = chart.spec.source_ref
        api_version = ref.api_version or HelmRepository.api_version_string()
        try:
            resource = await self.client.discovery.resource_for(api_version, ref.kind)
            return await self.client.get(resource, ref.name, chart.namespace)
        except NotFound:
            message = f"failed to get source: {ref.kind} '{chart.namespace}/{ref.name}' not found"
        Conditions(obj).mark_true(FETCH_FAILED, SOURCE_UNAVAILABLE_REASON, message)
        raise GenericError(message, reason=SOURCE_UNAVAILABLE_REASON)

    def _cached(self, chart: HelmChart, obj: Obj, name: str, version: str) -> ChartBuild | None:
        """The stored artifact when it already holds this chart version (Flux: no Force)."""
        status = obj.get("status") or {}
        artifact = artifact_steps.current_artifact(obj)
        if artifact is None or obj["metadata"].get("generation") != status.get(
            "observedGeneration"
        ):
            return None
        if status.get("observedChartName") != name or artifact.get("revision") != version:
            return None
        build = ChartBuild(name, version, self.storage.local_path(artifact["path"]))
        build.packaged = (
            bool(chart.spec.values_files)
            or "+" in version
            or (chart.spec.source_ref.kind != "HelmRepository")
        )
        observed = status.get("observedValuesFiles")
        build.values_files = list(
            observed if observed is not None else chart.spec.values_files or []
        )
        return build

    async def _announce(self, obj: Obj, build: ChartBuild) -> None:
        if artifact_steps.current_artifact(obj) is not None:
            Conditions(obj).mark_true(ARTIFACT_OUTDATED, NEW_CHART_REASON, build.summary())
        Conditions(obj).mark_reconciling(f"building artifact: {build.summary()}")
        await patch_progress(obj)

    def _options(self, chart: HelmChart, metadata: str) -> BuildOptions:
        return BuildOptions(
            values_files=tuple(chart.spec.values_files or ()),
            ignore_missing_values_files=bool(chart.spec.ignore_missing_values_files),
            version_metadata=metadata,
            max_file_size=self.chart_file_max_size,
        )

    # -- builds

    async def _from_repository(
        self, chart: HelmChart, obj: Obj, source: Obj, artifact: Obj, workdir: Path
    ) -> ChartBuild:
        repo = HelmRepository.model_validate(source)
        index = self.storage.local_path(artifact["path"])
        versions = await asyncio.to_thread(find_chart_versions, index, chart.spec.chart)
        entry = select_chart_version(versions, chart.spec.chart, chart.spec.version)
        metadata = str(_generation(obj)) if chart.spec.values_files else ""
        version = with_version_metadata(entry.version, metadata)
        if (cached := self._cached(chart, obj, entry.name, version)) is not None:
            return cached
        await self._announce(obj, ChartBuild(entry.name, version))
        if not entry.urls:
            raise ChartPullError(f"chart '{entry.name}' version '{entry.version}' has no URLs")
        url = resolve_chart_url(repo.spec.url, entry.urls[0])
        auth = await repository_auth_for(self.client, repo)
        downloaded = await download(
            url,
            workdir / "download.tgz",
            auth=auth,
            repository_url=repo.spec.url,
            timeout=repo.spec.timeout_seconds(),
            max_size=self.chart_max_size,
            what=f"chart '{entry.name}' version '{entry.version}'",
            too_large=ChartPullError,
        )
        packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
        return await build_remote_chart(
            downloaded.path, entry.name, version, workdir, packager, self._options(chart, metadata)
        )

    async def _from_oci(self, chart: HelmChart, obj: Obj, source: Obj, workdir: Path) -> ChartBuild:
        repo = HelmRepository.model_validate(source)
        oci = OCIChartSource(self.client, repo, chart.spec.chart)
        chosen = await oci.choose_version(chart.spec.version)
        metadata = str(_generation(obj)) if chart.spec.values_files else ""
        version = with_version_metadata(chosen, metadata)
        name = chart.spec.chart.rpartition("/")[2]
        if (cached := self._cached(chart, obj, name, version)) is not None:
            return cached
        await self._announce(obj, ChartBuild(name, version))
        pulled = await oci.download(chosen, workdir / "download.tgz", max_size=self.chart_max_size)
        packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
        return await build_remote_chart(
            pulled.path, name, version, workdir, packager, self._options(chart, metadata)
        )

    async def _from_source_artifact(
        self, chart: HelmChart, obj: Obj, artifact: Obj, workdir: Path
    ) -> ChartBuild:
        root = workdir / "source"
        try:
            await extract_archive_async(
                self.storage.local_path(artifact["path"]), root, limits=UNLIMITED, symlinks="skip"
            )
        except (ArtifactError, StorageError) as exc:
            raise GenericError(f"failed to extract source artifact: {exc}") from None
        chart_path = chart_dir_in_source(root, chart.spec.chart)
        meta = await asyncio.to_thread(
            read_local_chart_metadata, chart_path, chart.spec.chart, self.chart_file_max_size
        )
        metadata = ""
        if chart.spec.reconcile_strategy == "Revision":
            metadata = _revision_hash(str(artifact["revision"]))[:12]
        if chart.spec.values_files:
            metadata = f"{metadata}.{_generation(obj)}" if metadata else str(_generation(obj))
        version = with_version_metadata(meta.version, metadata)
        if (cached := self._cached(chart, obj, meta.name, version)) is not None:
            return cached
        await self._announce(obj, ChartBuild(meta.name, version))
        repositories = await dependency_repositories(self.client, chart.namespace, meta)
        packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
        return await build_local_chart(
            root,
            chart_path,
            meta,
            version,
            workdir,
            packager,
            self._options(chart, metadata),
            repositories,
        )

    # -- artifact

    async def _store(self, chart: HelmChart, obj: Obj, build: ChartBuild) -> None:
        assert build.path is not None
        current = artifact_steps.current_artifact(obj)
        if current is not None and self.storage.local_path(current["path"]) == build.path:
            return
        try:
            stored = await self.storage.copy_file(
                build.path,
                self.kind,
                chart.namespace,
                chart.name,
                filename=f"{build.name}-{build.version}.tgz",
            )
            link = await self.storage.set_latest(stored.path)
        except (StorageError, ArtifactError) as err:
            raise artifact_steps.storage_failure(obj, err) from None
        artifact_steps.record_artifact(obj, stored.to_api(build.version))
        status = obj["status"]
        status["observedChartName"] = build.name
        status["url"] = self.storage.artifact_url(link)
        if chart.spec.ignore_missing_values_files:
            status["observedValuesFiles"] = build.values_files
        else:
            status.pop("observedValuesFiles", None)
        if current is None or current.get("digest") != stored.digest:
            await self.events.normal(
                obj,
                _reason_for(build),
                build.summary(),
                revision=build.version,
                metadata={"revision": build.version, "digest": stored.digest},
            )

    @staticmethod
    def _build_failed(obj: Obj, err: HelmError | GenericError) -> GotkError:
        conditions = Conditions(obj)
        if getattr(err, "build_failure", False):
            conditions.delete(FETCH_FAILED)
            conditions.mark_true(BUILD_FAILED, err.reason, str(err))
        else:
            conditions.delete(BUILD_FAILED)
            conditions.mark_true(FETCH_FAILED, err.reason, str(err))
        return err


def _reason_for(build: ChartBuild) -> str:
    return CHART_PACKAGE_SUCCEEDED_REASON if build.packaged else CHART_PULL_SUCCEEDED_REASON


def _generation(obj: Obj) -> int:
    return int(obj["metadata"].get("generation") or 0)


def _revision_hash(revision: str) -> str:
    """The hex of a Git (`main@sha1:<hex>`) or Bucket (`sha256:<hex>`) revision."""
    return revision.rpartition(":")[2]
