"""HelmChart's reconcile steps, one at a time, against the real API server (none of the
cases here gets as far as running `helm`)."""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.helm_repo import HelmRepoFactory
from fixtures.hostile_archives import (
    MIB,
    bounded,
    dir_entries_tgz,
    huge_extended_header_tgz,
    negative_size_tgz,
)
from fixtures.sources import SOURCE_API_VERSION, SourceDeps, condition, stored_artifact
from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    BUILD_FAILED,
    FETCH_FAILED,
    STORAGE_OPERATION_FAILED,
)
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_artifacts import ExtractLimits
from gotk_runtime import Conditions, Result, Stalling, Waiting
from source_controller.helm.chart_build import ChartBuild
from source_controller.helm.index_compact import compact_index
from source_controller.reconcilers import HelmChartReconciler
from source_controller.reconcilers import helmchart as helmchart_module
from source_controller.reconcilers.helmchart import (
    HelmChartContext,
    build_chart,
    check_source_artifact,
    check_spec,
    get_source,
    store_chart,
)

CHART_YAML = "apiVersion: v2\nname: app\nversion: 0.1.0\n"


def chart_context(deps: SourceDeps, obj: Obj) -> HelmChartContext:
    return HelmChartReconciler(deps.client, deps.storage, deps.events).context(obj)


def helmchart(
    deps: SourceDeps, chart: str = "app", kind: str = "GitRepository", **spec: Any
) -> Obj:
    source_ref = {"kind": kind, "name": "source"}
    return deps.source("HelmChart", "chart", chart=chart, sourceRef=source_ref, **spec)


def source(kind: str, artifact: Obj | None = None, **spec: Any) -> Obj:
    obj: Obj = {"apiVersion": SOURCE_API_VERSION, "kind": kind, "spec": spec, "status": {}}
    if artifact is not None:
        obj["status"]["artifact"] = artifact
    return obj


async def test_chart_verification_stalls(source_deps: SourceDeps) -> None:
    obj = helmchart(source_deps, kind="HelmRepository", verify={"provider": "cosign"})
    with pytest.raises(Stalling, match="not supported by gotk yet") as caught:
        await check_spec(chart_context(source_deps, obj))
    assert caught.value.reason == "InvalidProviderConfiguration"


@pytest.mark.parametrize("kind", ["HelmRepository", "GitRepository", "Bucket"])
async def test_a_missing_source_is_source_unavailable(source_deps: SourceDeps, kind: str) -> None:
    obj = helmchart(source_deps, kind=kind)
    with pytest.raises(GotkError) as caught:
        await get_source(chart_context(source_deps, obj))
    message = f"failed to get source: {kind} '{source_deps.namespace}/source' not found"
    assert (str(caught.value), caught.value.reason) == (message, "SourceUnavailable")
    assert condition(obj, FETCH_FAILED) == ("True", "SourceUnavailable", message)


async def test_get_source_reads_the_source_from_the_api_server(source_deps: SourceDeps) -> None:
    await source_deps.create(
        source_deps.source("Bucket", "source", bucketName="b", endpoint="minio:9000")
    )
    ctx = chart_context(source_deps, helmchart(source_deps, kind="Bucket"))
    await get_source(ctx)
    assert ctx.source["spec"]["bucketName"] == "b"


@pytest.mark.parametrize(
    ("kind", "source_obj"),
    [
        ("GitRepository", source("GitRepository")),
        ("HelmRepository", source("HelmRepository", type="default")),
        ("Bucket", source("Bucket", stored_artifact("bucket/ns/source/gone.tar.gz", "sha256:1"))),
    ],
    ids=["no-artifact", "no-index", "artifact-gone-from-storage"],
)
async def test_a_source_without_an_artifact_waits(
    source_deps: SourceDeps, kind: str, source_obj: Obj
) -> None:
    obj = helmchart(source_deps, kind=kind)
    ctx = chart_context(source_deps, obj)
    ctx.source = source_obj
    with pytest.raises(Waiting) as caught:
        await check_source_artifact(ctx)
    message = f"no artifact available for {kind} source 'source'"
    assert (str(caught.value), caught.value.reason) == (message, "NoSourceArtifact")
    assert caught.value.requeue_after == 5.0
    assert condition(obj, FETCH_FAILED) == ("True", "NoSourceArtifact", message)


async def test_an_oci_helm_repository_needs_no_artifact(source_deps: SourceDeps) -> None:
    ctx = chart_context(source_deps, helmchart(source_deps, kind="HelmRepository"))
    ctx.source = source("HelmRepository", type="oci")
    await check_source_artifact(ctx)
    assert ctx.from_oci
    assert "observedSourceArtifactRevision" not in ctx.status


async def _git_source(deps: SourceDeps, tmp_path: Path, **files: str) -> Obj:
    tree = tmp_path / "tree"
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    stored = await deps.storage.archive(tree, "GitRepository", deps.namespace, "source")
    api = stored.to_api("main@sha1:" + "a" * 40)
    return source("GitRepository", api.model_dump(mode="json", exclude_none=True))


@pytest.mark.parametrize(
    ("chart", "reason"),
    [("charts/missing", "InvalidChartReference"), ("../outside", "IllegalPath")],
)
async def test_a_chart_path_that_is_not_a_chart_is_fetch_failed(
    source_deps: SourceDeps, tmp_path: Path, chart: str, reason: str
) -> None:
    obj = helmchart(source_deps, chart=chart)
    Conditions(obj).mark_true(BUILD_FAILED, "ChartPackageError", "an earlier failure")
    ctx = chart_context(source_deps, obj)
    ctx.source = await _git_source(source_deps, tmp_path, **{"charts/app/Chart.yaml": CHART_YAML})
    async with ctx.resources:
        with pytest.raises(GotkError) as caught:
            await build_chart(ctx)
    assert (caught.value.reason, caught.value.stalling) == (reason, True)
    assert condition(obj, FETCH_FAILED) == ("True", reason, str(caught.value))
    assert condition(obj, BUILD_FAILED) is None


async def test_a_missing_values_file_is_build_failed(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    files = {"charts/app/Chart.yaml": CHART_YAML}
    obj = helmchart(source_deps, chart="charts/app", valuesFiles=["charts/app/absent.yaml"])
    async with source_deps.reconciling(obj) as created:
        Conditions(created).mark_true(FETCH_FAILED, "NoSourceArtifact", "an earlier failure")
        ctx = chart_context(source_deps, created)
        ctx.source = await _git_source(source_deps, tmp_path, **files)
        async with ctx.resources:
            with pytest.raises(GotkError) as caught:
                await build_chart(ctx)
    assert (caught.value.reason, caught.value.stalling) == ("ValuesFilesError", True)
    assert condition(created, BUILD_FAILED) == ("True", "ValuesFilesError", str(caught.value))
    assert condition(created, FETCH_FAILED) is None
    announced = await source_deps.get(created)
    assert condition(announced, "Reconciling") == (
        "True",
        "Progressing",
        "building artifact: new 'app' chart with version '0.1.0+1'",
    )


async def test_a_corrupt_source_artifact_is_fetch_failed(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    ctx = chart_context(source_deps, helmchart(source_deps, chart="charts/app"))
    ctx.source = await _git_source(source_deps, tmp_path, **{"charts/app/Chart.yaml": CHART_YAML})
    artifact = ctx.source["status"]["artifact"]
    source_deps.storage.local_path(artifact["path"]).write_bytes(b"not a tarball")
    async with ctx.resources:
        with pytest.raises(GotkError, match="failed to extract source artifact"):
            await build_chart(ctx)
    assert condition(ctx.obj, FETCH_FAILED) is not None


async def test_a_chart_missing_from_the_index_is_an_invalid_reference(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    raw, compact = tmp_path / "index.yaml", tmp_path / "index.json"
    raw.write_text("apiVersion: v1\nentries:\n  other:\n  - {name: other, version: 1.0.0}\n")
    await asyncio.to_thread(compact_index, raw, compact)
    stored = await source_deps.storage.copy_file(
        compact, "HelmRepository", source_deps.namespace, "source", filename="index-x.yaml"
    )
    artifact = stored.to_api("sha256:" + "b" * 64).model_dump(mode="json", exclude_none=True)
    ctx = chart_context(source_deps, helmchart(source_deps, kind="HelmRepository"))
    ctx.source = source("HelmRepository", artifact, url="https://charts.example.com")
    async with ctx.resources:
        with pytest.raises(GotkError, match="'app'") as caught:
            await build_chart(ctx)
    assert caught.value.reason == "InvalidChartReference"
    assert condition(ctx.obj, FETCH_FAILED) == ("True", "InvalidChartReference", str(caught.value))


async def test_a_cached_build_is_not_stored_again(source_deps: SourceDeps, tmp_path: Path) -> None:
    package = tmp_path / "app-0.1.0.tgz"
    package.write_bytes(b"chart")
    stored = await source_deps.storage.copy_file(
        package, "HelmChart", source_deps.namespace, "chart", filename=package.name
    )
    obj = helmchart(source_deps, kind="HelmRepository")
    obj["status"] = {"artifact": stored.to_api("0.1.0").model_dump(mode="json", exclude_none=True)}
    ctx = chart_context(source_deps, obj)
    ctx.build = ChartBuild("app", "0.1.0", source_deps.storage.local_path(stored.path))
    await store_chart(ctx)
    assert "url" not in obj["status"], "nothing was stored again"
    message = "pulled 'app' chart with version '0.1.0'"
    assert condition(obj, ARTIFACT_IN_STORAGE) == ("True", "ChartPullSucceeded", message)
    assert ctx.result == Result(message=message, reason="ChartPullSucceeded", revision="0.1.0")


async def test_a_storage_failure_sets_storage_operation_failed(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    (source_deps.storage.root / "helmchart").write_text("in the way")
    package = tmp_path / "app-0.1.0.tgz"
    package.write_bytes(b"chart")
    ctx = chart_context(source_deps, helmchart(source_deps, kind="HelmRepository"))
    ctx.build = ChartBuild("app", "0.1.0", package)
    with pytest.raises(GotkError) as caught:
        await store_chart(ctx)
    assert caught.value.reason == "DirectoryCreationFailed"
    stored = condition(ctx.obj, STORAGE_OPERATION_FAILED)
    assert stored == ("True", "DirectoryCreationFailed", str(caught.value))
    assert ctx.result is None


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda p: huge_extended_header_tgz(p, tarfile.XHDTYPE, 256 * MIB), id="pax"),
        pytest.param(negative_size_tgz, id="negative-size"),
        pytest.param(lambda p: dir_entries_tgz(p, 50_000), id="50k-entries"),
    ],
)
async def test_a_hostile_chart_from_a_real_repository_is_refused_in_bounded_memory(
    source_deps: SourceDeps,
    helm_repo_factory: HelmRepoFactory,
    tmp_path: Path,
    build: Callable[[Path], Path],
) -> None:
    """The chart repository serves a .tgz under 2 MiB that a seekable tarfile would turn
    into 256 MiB, 50k TarInfos or an endless loop; the pull fails with ChartPullError."""
    repo = await helm_repo_factory()
    build(repo.served / "app-1.0.0.tgz")
    raw, compact = tmp_path / "index.yaml", tmp_path / "index.json"
    raw.write_text(
        f"apiVersion: v1\nentries:\n  app:\n  - name: app\n    version: 1.0.0\n"
        f"    urls: [{repo.url}/app-1.0.0.tgz]\n"
    )
    await asyncio.to_thread(compact_index, raw, compact)
    stored = await source_deps.storage.copy_file(
        compact, "HelmRepository", source_deps.namespace, "source", filename="index-x.yaml"
    )
    artifact = stored.to_api("sha256:" + "b" * 64).model_dump(mode="json", exclude_none=True)
    async with source_deps.reconciling(helmchart(source_deps, kind="HelmRepository")) as obj:
        ctx = chart_context(source_deps, obj)
        ctx.source = source("HelmRepository", artifact, url=repo.url)
        async with ctx.resources:
            with bounded(32 * MIB, 30.0), pytest.raises(GotkError) as caught:
                await build_chart(ctx)
    assert caught.value.reason == "ChartPullError"
    assert "chart archive download.tgz" in str(caught.value)
    assert condition(obj, FETCH_FAILED) == ("True", "ChartPullError", str(caught.value))


async def test_a_chart_source_above_the_extraction_limits_is_refused(
    source_deps: SourceDeps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(helmchart_module, "SOURCE_LIMITS", ExtractLimits(max_total_bytes=4096))
    files = {"charts/app/Chart.yaml": CHART_YAML, "charts/app/big.txt": "x" * 8192}
    ctx = chart_context(source_deps, helmchart(source_deps, chart="charts/app"))
    ctx.source = await _git_source(source_deps, tmp_path, **files)
    async with ctx.resources:
        with pytest.raises(GotkError, match="unpacks to more than 4096 bytes") as caught:
            await build_chart(ctx)
    assert "failed to extract source artifact" in str(caught.value)
    assert condition(ctx.obj, FETCH_FAILED) is not None
