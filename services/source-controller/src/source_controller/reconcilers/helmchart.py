"""The HelmChart reconciler: storage → source → chart build → artifact, as Flux orders it.

`STEPS` is the whole reconcile. The source is a HelmRepository (the chart is looked up in
its stored index and pulled, or pulled from an OCI repository), or a GitRepository or
Bucket (the chart is packaged from the source's artifact). A chart whose name and version
equal the stored artifact's is not rebuilt unless the generation changed; the Revision
strategy adds the source revision to the version so that every new source revision gives
a new chart. Flux's revisions: `<version>`, `<version>+<generation>` with valuesFiles,
`<version>+<12 hex of the source revision>[.<generation>]` for Revision.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
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
from gotk_artifacts.extract import ExtractLimits, extract_archive_async
from gotk_runtime import (
    EventRecorder,
    GenericError,
    KubeClient,
    KubeError,
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
from source_controller.helm.errors import ChartPullError
from source_controller.helm.index_lookup import find_chart_versions, select_chart_version
from source_controller.helm.oci_chart import OCIChartSource
from source_controller.helm.package import HelmPackager, chart_dir_in_source
from source_controller.helm.urls import resolve_chart_url
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    Step,
    records,
    run_steps,
)
from source_controller.storage import ArtifactStorage, StorageError

__all__ = ["SOURCE_LIMITS", "STEPS", "HelmChartContext", "HelmChartReconciler"]

KIND: Final = "HelmChart"
SOURCE_LIMITS: Final = ExtractLimits()
"""A chart is built from a Git or Bucket artifact unpacked within the bounds
kustomize-controller puts on every artifact it fetches: 100 MiB, 100,000 entries (Flux
unpacks it without a cap)."""
_NO_ARTIFACT_RETRY: Final = 5.0
_HELM_TIMEOUT: Final = 300.0


@dataclass(eq=False, kw_only=True)
class HelmChartContext(SourceContext):
    chart: HelmChart
    chart_max_size: int = DEFAULT_MAX_CHART_SIZE
    chart_file_max_size: int = DEFAULT_MAX_CHART_FILE_SIZE
    source: Obj = field(init=False)
    build: ChartBuild = field(init=False)

    @property
    def source_artifact(self) -> Obj | None:
        artifact: Obj | None = (self.source.get("status") or {}).get("artifact")
        return artifact

    @property
    def from_oci(self) -> bool:
        """An OCI HelmRepository: the chart is pulled from the registry, no artifact needed."""
        spec = self.source.get("spec") or {}
        return self.chart.spec.source_ref.kind == "HelmRepository" and spec.get("type") == "oci"

    @property
    def generation(self) -> int:
        return int(self.obj["metadata"].get("generation") or 0)


async def check_spec(ctx: HelmChartContext) -> None:
    if ctx.chart.spec.verify is not None:
        raise Stalling(
            "spec.verify (chart signature verification) is not supported by gotk yet",
            reason=INVALID_PROVIDER_CONFIGURATION_REASON,
        )


@records(FETCH_FAILED)
async def get_source(ctx: HelmChartContext) -> None:
    ref, namespace = ctx.chart.spec.source_ref, ctx.chart.namespace
    api_version = ref.api_version or HelmRepository.api_version_string()
    try:
        resource = await ctx.client.discovery.resource_for(api_version, ref.kind)
        ctx.source = await ctx.client.get(resource, ref.name, namespace)
    except NotFound:
        raise GenericError(
            f"failed to get source: {ref.kind} '{namespace}/{ref.name}' not found",
            reason=SOURCE_UNAVAILABLE_REASON,
        ) from None


@records(FETCH_FAILED)
async def check_source_artifact(ctx: HelmChartContext) -> None:
    """Wait for the source's artifact (an OCI HelmRepository has none to wait for)."""
    artifact = ctx.source_artifact
    if not ctx.from_oci and (not artifact or not await ctx.storage.exists(artifact["path"])):
        ref = ctx.chart.spec.source_ref
        raise Waiting(
            f"no artifact available for {ref.kind} source '{ref.name}'",
            requeue_after=_NO_ARTIFACT_RETRY,
            reason=NO_SOURCE_ARTIFACT_REASON,
        )
    if artifact:
        ctx.status["observedSourceArtifactRevision"] = artifact["revision"]


async def build_chart(ctx: HelmChartContext) -> None:
    """Pull or package the chart, unless the stored artifact already holds this version.

    Flux reports failures after the chart was fetched as BuildFailed, others as FetchFailed.
    """
    workdir = await ctx.scratch("helmchart-")
    try:
        if ctx.from_oci:
            ctx.build = await _from_oci(ctx, workdir)
        elif ctx.chart.spec.source_ref.kind == "HelmRepository":
            ctx.build = await _from_repository(ctx, workdir)
        else:
            ctx.build = await _from_source_artifact(ctx, workdir)
    except KubeError:
        raise
    except GotkError as err:
        failed = BUILD_FAILED if getattr(err, "build_failure", False) else FETCH_FAILED
        ctx.conditions.delete(FETCH_FAILED if failed == BUILD_FAILED else BUILD_FAILED)
        ctx.conditions.mark_true(failed, err.reason, str(err))
        raise
    ctx.conditions.delete(FETCH_FAILED)
    ctx.conditions.delete(BUILD_FAILED)


@records(STORAGE_OPERATION_FAILED)
async def store_chart(ctx: HelmChartContext) -> None:
    """Store a new build (a cached one is the stored artifact already) and finish."""
    build, chart, storage = ctx.build, ctx.chart, ctx.storage
    current = artifact_steps.current_artifact(ctx.obj)
    if build.path is not None and (
        current is None or storage.local_path(current["path"]) != build.path
    ):
        stored = await storage.copy_file(
            build.path,
            KIND,
            chart.namespace,
            chart.name,
            filename=f"{build.name}-{build.version}.tgz",
        )
        link = await storage.set_latest(stored.path)
        artifact_steps.record_artifact(ctx.obj, stored.to_api(build.version))
        status = ctx.status
        status["observedChartName"] = build.name
        status["url"] = storage.artifact_url(link)
        if chart.spec.ignore_missing_values_files:
            status["observedValuesFiles"] = build.values_files
        else:
            status.pop("observedValuesFiles", None)
        if current is None or current.get("digest") != stored.digest:
            await ctx.events.normal(
                ctx.obj,
                _reason_for(build),
                build.summary(),
                revision=build.version,
                metadata={"revision": build.version, "digest": stored.digest},
            )
    reason = _reason_for(build)
    ctx.conditions.mark_true(ARTIFACT_IN_STORAGE, reason, build.summary())
    ctx.finish(Result(message=build.summary(), reason=reason, revision=build.version))


STEPS: Final[tuple[Step[HelmChartContext], ...]] = (
    check_spec,
    artifact_steps.reconcile_storage,
    get_source,
    check_source_artifact,
    build_chart,
    store_chart,
)


class HelmChartReconciler(SourceReconciler):
    api_version: ClassVar[str] = HelmChart.api_version_string()
    kind: ClassVar[str] = KIND
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

    def context(self, obj: Obj) -> HelmChartContext:
        return HelmChartContext(
            obj=obj,
            chart=HelmChart.model_validate(obj),
            chart_max_size=self.chart_max_size,
            chart_file_max_size=self.chart_file_max_size,
            client=self.client,
            storage=self.storage,
            events=self.events,
        )

    async def reconcile(self, obj: Obj) -> Result:
        return await run_steps(self.context(obj), STEPS)


# -- the three ways to build a chart


async def _from_repository(ctx: HelmChartContext, workdir: Path) -> ChartBuild:
    chart, artifact = ctx.chart, ctx.source_artifact
    assert artifact is not None  # check_source_artifact
    repo = HelmRepository.model_validate(ctx.source)
    index = ctx.storage.local_path(artifact["path"])
    versions = await asyncio.to_thread(find_chart_versions, index, chart.spec.chart)
    entry = select_chart_version(versions, chart.spec.chart, chart.spec.version)
    metadata = str(ctx.generation) if chart.spec.values_files else ""
    version = with_version_metadata(entry.version, metadata)
    if (cached := _cached(ctx, entry.name, version)) is not None:
        return cached
    await _announce(ctx, ChartBuild(entry.name, version))
    if not entry.urls:
        raise ChartPullError(f"chart '{entry.name}' version '{entry.version}' has no URLs")
    url = resolve_chart_url(repo.spec.url, entry.urls[0])
    auth = await repository_auth_for(ctx.client, repo)
    downloaded = await download(
        url,
        workdir / "download.tgz",
        auth=auth,
        repository_url=repo.spec.url,
        timeout=repo.spec.timeout_seconds(),
        max_size=ctx.chart_max_size,
        what=f"chart '{entry.name}' version '{entry.version}'",
        too_large=ChartPullError,
    )
    packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
    return await build_remote_chart(
        downloaded.path, entry.name, version, workdir, packager, _options(ctx, metadata)
    )


async def _from_oci(ctx: HelmChartContext, workdir: Path) -> ChartBuild:
    chart = ctx.chart
    repo = HelmRepository.model_validate(ctx.source)
    oci = OCIChartSource(ctx.client, repo, chart.spec.chart)
    chosen = await oci.choose_version(chart.spec.version)
    metadata = str(ctx.generation) if chart.spec.values_files else ""
    version = with_version_metadata(chosen, metadata)
    name = chart.spec.chart.rpartition("/")[2]
    if (cached := _cached(ctx, name, version)) is not None:
        return cached
    await _announce(ctx, ChartBuild(name, version))
    pulled = await oci.download(chosen, workdir / "download.tgz", max_size=ctx.chart_max_size)
    packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
    return await build_remote_chart(
        pulled.path, name, version, workdir, packager, _options(ctx, metadata)
    )


async def _from_source_artifact(ctx: HelmChartContext, workdir: Path) -> ChartBuild:
    chart, artifact = ctx.chart, ctx.source_artifact
    assert artifact is not None  # check_source_artifact
    root = workdir / "source"
    try:
        await extract_archive_async(
            ctx.storage.local_path(artifact["path"]), root, limits=SOURCE_LIMITS, symlinks="skip"
        )
    except (ArtifactError, StorageError) as exc:
        raise GenericError(f"failed to extract source artifact: {exc}") from None
    chart_path = chart_dir_in_source(root, chart.spec.chart)
    meta = await asyncio.to_thread(
        read_local_chart_metadata, chart_path, chart.spec.chart, ctx.chart_file_max_size
    )
    metadata = ""
    if chart.spec.reconcile_strategy == "Revision":
        # The hex of a Git (`main@sha1:<hex>`) or Bucket (`sha256:<hex>`) revision.
        metadata = str(artifact["revision"]).rpartition(":")[2][:12]
    if chart.spec.values_files:
        metadata = f"{metadata}.{ctx.generation}" if metadata else str(ctx.generation)
    version = with_version_metadata(meta.version, metadata)
    if (cached := _cached(ctx, meta.name, version)) is not None:
        return cached
    await _announce(ctx, ChartBuild(meta.name, version))
    repositories = await dependency_repositories(ctx.client, chart.namespace, meta)
    packager = HelmPackager(workdir, timeout=_HELM_TIMEOUT)
    return await build_local_chart(
        root, chart_path, meta, version, workdir, packager, _options(ctx, metadata), repositories
    )


def _cached(ctx: HelmChartContext, name: str, version: str) -> ChartBuild | None:
    """The stored artifact when it already holds this chart version (Flux: no Force)."""
    status, spec = ctx.obj.get("status") or {}, ctx.chart.spec
    artifact = artifact_steps.current_artifact(ctx.obj)
    if artifact is None or ctx.obj["metadata"].get("generation") != status.get(
        "observedGeneration"
    ):
        return None
    if status.get("observedChartName") != name or artifact.get("revision") != version:
        return None
    build = ChartBuild(name, version, ctx.storage.local_path(artifact["path"]))
    build.packaged = (
        bool(spec.values_files) or "+" in version or spec.source_ref.kind != "HelmRepository"
    )
    observed = status.get("observedValuesFiles")
    build.values_files = list(observed if observed is not None else spec.values_files or [])
    return build


async def _announce(ctx: HelmChartContext, build: ChartBuild) -> None:
    if artifact_steps.current_artifact(ctx.obj) is not None:
        ctx.conditions.mark_true(ARTIFACT_OUTDATED, NEW_CHART_REASON, build.summary())
    ctx.conditions.mark_reconciling(f"building artifact: {build.summary()}")
    await patch_progress(ctx.obj)


def _options(ctx: HelmChartContext, metadata: str) -> BuildOptions:
    return BuildOptions(
        values_files=tuple(ctx.chart.spec.values_files or ()),
        ignore_missing_values_files=bool(ctx.chart.spec.ignore_missing_values_files),
        version_metadata=metadata,
        max_file_size=ctx.chart_file_max_size,
    )


def _reason_for(build: ChartBuild) -> str:
    return CHART_PACKAGE_SUCCEEDED_REASON if build.packaged else CHART_PULL_SUCCEEDED_REASON
