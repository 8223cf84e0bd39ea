"""The chart to release: the artifact of the HelmChart (`spec.chart`) or of `spec.chartRef`
(OCIRepository, HelmChart, or ExternalArtifact behind Flux's ExternalArtifact feature gate),
downloaded digest-verified with gotk_artifacts.

A source that is missing, not yet reconciled at its generation, not Ready or without an
artifact is waited for (the source watch reconciles the release when an artifact arrives);
its own Ready message is quoted so "no chart version found" reads on the HelmRelease.
The chart's `Chart.yaml` is read from the archive for the name, version and appVersion
that decide whether an upgrade is needed.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from gotk_api.conditions import (
    ACCESS_DENIED_REASON,
    ARTIFACT_FAILED_REASON,
    FEATURE_GATE_DISABLED_REASON,
)
from gotk_api.errors import GotkError
from gotk_api.groups import SOURCE_GROUP, SOURCE_VERSION
from gotk_api.helm import HelmRelease
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_artifacts import (
    ArtifactError,
    ArtifactNotFound,
    ExtractLimits,
    download_artifact,
    scan_archive,
)
from gotk_artifacts.yaml_guard import load_yaml
from gotk_runtime import KubeClient, KubeError, NotFound, Resource, Waiting

__all__ = [
    "CHART_LIMITS",
    "SOURCE_KINDS",
    "ChartArtifact",
    "ChartLoadError",
    "ChartMetadata",
    "download_chart",
    "get_chart_artifact",
    "read_chart_metadata",
]

SOURCE_KINDS: dict[str, Resource] = {
    "HelmChart": Resource(SOURCE_GROUP, SOURCE_VERSION, "helmcharts", "HelmChart", True),
    "OCIRepository": Resource(
        SOURCE_GROUP, SOURCE_VERSION, "ocirepositories", "OCIRepository", True
    ),
    "ExternalArtifact": Resource(
        SOURCE_GROUP, SOURCE_VERSION, "externalartifacts", "ExternalArtifact", True
    ),
}
MAX_CHART_SIZE: Final = 100 << 20
"""Helm's own loader refuses charts that unpack to more than this."""
MAX_CHART_FILE_SIZE: Final = 5 << 20
CHART_LIMITS: Final = ExtractLimits(
    max_total_bytes=MAX_CHART_SIZE, max_file_bytes=MAX_CHART_FILE_SIZE, max_entries=10_000
)
"""A chart archive is read as a stream within Helm's loader limits and at most 10,000
entries (see gotk_artifacts.tarstream for what seekable tarfile does with hostile input)."""


class ChartLoadError(GotkError):
    """The chart artifact cannot be downloaded or is not a chart (ArtifactFailed)."""

    reason = ARTIFACT_FAILED_REASON


@dataclass(frozen=True, slots=True)
class ChartArtifact:
    """Where the chart artifact is, as the source's status advertises it."""

    kind: str
    namespace: str
    name: str
    url: str
    revision: str
    digest: str

    def __str__(self) -> str:
        return f"{self.kind} '{self.namespace}/{self.name}'"


@dataclass(frozen=True, slots=True)
class ChartMetadata:
    name: str
    version: str
    app_version: str

    @property
    def versioned(self) -> str:
        return f"{self.name}@{self.version}"


def chart_source(hr: HelmRelease, template: tuple[str, str] | None) -> tuple[str, str, str]:
    """(kind, namespace, name) of the object holding the chart artifact."""
    if template is not None:
        return "HelmChart", template[0], template[1]
    ref = hr.spec.chart_ref
    assert ref is not None
    return ref.kind, ref.namespace or hr.namespace, ref.name


async def get_chart_artifact(
    client: KubeClient,
    hr: HelmRelease,
    template: tuple[str, str] | None,
    *,
    no_cross_namespace_refs: bool,
    requeue_after: float,
    allow_external_artifact: bool = False,
) -> ChartArtifact:
    kind, namespace, name = chart_source(hr, template)
    where = f"{kind} '{namespace}/{name}'"
    if template is None and no_cross_namespace_refs and namespace != hr.namespace:
        raise GotkError(
            f"can't access '{kind}/{namespace}/{name}', cross-namespace references have been "
            "blocked",
            reason=ACCESS_DENIED_REASON,
            stalling=True,
        )
    resource = SOURCE_KINDS.get(kind)
    if resource is None:
        raise GotkError(
            f"spec.chartRef: kind '{kind}' is not supported",
            reason=ARTIFACT_FAILED_REASON,
            stalling=True,
        )
    if kind == "ExternalArtifact" and not allow_external_artifact:
        raise GotkError(
            f"spec.chartRef: {where} cannot be used: the ExternalArtifact feature gate is "
            "disabled (enable it with --feature-gates=ExternalArtifact=true)",
            reason=FEATURE_GATE_DISABLED_REASON,
            stalling=True,
        )
    retry = f", retrying in {format_duration(requeue_after)}"
    try:
        source = await client.get(resource, name, namespace)
    except NotFound:
        raise Waiting(
            f"{where} not found{retry}", requeue_after=requeue_after, reason=ARTIFACT_FAILED_REASON
        ) from None
    except KubeError as err:
        raise ChartLoadError(f"could not get {where}: {err.message}") from None
    status = source.get("status") or {}
    artifact = status.get("artifact") or {}
    ready: Obj = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), {})
    generation = source["metadata"].get("generation")
    observed = status.get("observedGeneration")
    # An ExternalArtifact's producer need not record an observed generation.
    if kind == "ExternalArtifact" and observed is None:
        observed = generation
    if generation != observed or ready.get("status") != "True":
        detail = ready.get("message") or "reconciliation in progress"
        raise Waiting(
            f"{where} is not ready: {detail}",
            requeue_after=requeue_after,
            reason=ARTIFACT_FAILED_REASON,
        )
    if not artifact.get("url"):
        raise Waiting(
            f"{where} has no artifact{retry}",
            requeue_after=requeue_after,
            reason=ARTIFACT_FAILED_REASON,
        )
    return ChartArtifact(
        kind=kind,
        namespace=namespace,
        name=name,
        url=_localhost(str(artifact["url"])),
        revision=str(artifact.get("revision", "")),
        digest=str(artifact.get("digest", "")),
    )


async def download_chart(
    artifact: ChartArtifact, dest: Path, *, timeout: float, retries: int, requeue_after: float
) -> Path:
    """The chart archive at `dest`, its digest verified before anything reads it."""
    try:
        return await download_artifact(
            artifact.url,
            artifact.digest,
            dest,
            max_size=MAX_CHART_SIZE,
            timeout=timeout,
            retries=retries,
        )
    except ArtifactNotFound:
        raise Waiting(
            f"chart artifact of {artifact} not found, retrying in {format_duration(requeue_after)}",
            requeue_after=requeue_after,
            reason=ARTIFACT_FAILED_REASON,
        ) from None


async def read_chart_metadata(archive: Path, artifact: ChartArtifact) -> ChartMetadata:
    return await asyncio.to_thread(_read_metadata, archive, artifact)


def _read_metadata(archive: Path, artifact: ChartArtifact) -> ChartMetadata:
    try:
        scan = scan_archive(archive, read=_is_chart_yaml, limits=CHART_LIMITS)
    except ArtifactError as err:
        raise ChartLoadError(
            f"chart artifact of {artifact} is not a chart archive: {err}"
        ) from None
    data = next(iter(scan.files.values()), None)
    if data is None:
        raise ChartLoadError(f"chart artifact of {artifact} holds no Chart.yaml")
    return _parse_chart_yaml(data, artifact)


def _is_chart_yaml(path: str) -> bool:
    top, _, rest = path.partition("/")
    return bool(top) and rest == "Chart.yaml"


def _parse_chart_yaml(data: bytes, artifact: ChartArtifact) -> ChartMetadata:
    try:
        meta = load_yaml(data)
    except yaml.YAMLError as err:
        raise ChartLoadError(f"Chart.yaml of {artifact} is not valid YAML: {err}") from None
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise ChartLoadError(f"Chart.yaml of {artifact} has no name or version")
    return ChartMetadata(
        name=str(meta["name"]),
        version=str(meta["version"]),
        app_version=str(meta.get("appVersion") or ""),
    )


SOURCE_LOCALHOST_ENV: Final = "SOURCE_CONTROLLER_LOCALHOST"
"""Rewrites the host of artifact URLs (Flux's knob for running outside the cluster)."""


def _localhost(url: str) -> str:
    override = os.environ.get(SOURCE_LOCALHOST_ENV)
    if not override:
        return url
    scheme, sep, rest = url.partition("://")
    _, slash, path = rest.partition("/")
    return f"{scheme}{sep}{override}{slash}{path}"
