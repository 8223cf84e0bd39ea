"""Building a HelmChart's artifact: a pulled chart, or one packaged with values and metadata.

Two builders, as Flux has: `build_remote_chart` takes a chart .tgz downloaded from a
repository and repackages it only when values files or version metadata require it;
`build_local_chart` packages a chart directory (or a .tgz) found in an extracted Git or
Bucket artifact, resolving its dependencies. Both return a `ChartBuild` describing the
.tgz they produced. Blocking steps run in threads; helm runs through HelmPackager.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.extract import ExtractLimits, extract_archive_async

from source_controller.helm.chart_archive import (
    MAX_CHART_ENTRIES,
    MAX_DECOMPRESSED_SIZE,
    ChartMetadata,
    inspect_chart_archive,
    parse_chart_metadata,
)
from source_controller.helm.errors import (
    ChartPackageError,
    ChartPullError,
    ChartReferenceError,
    HelmError,
    MetadataPatchError,
    ValuesFilesError,
)
from source_controller.helm.package import DependencyRepository, HelmPackager, check_chart_files
from source_controller.helm.values import dump_values, merge_values_files, safe_join
from source_controller.semver import InvalidVersion, parse_version

__all__ = [
    "BuildOptions",
    "ChartBuild",
    "build_local_chart",
    "build_remote_chart",
    "read_local_chart_metadata",
    "with_version_metadata",
]


@dataclass(frozen=True, slots=True)
class BuildOptions:
    values_files: tuple[str, ...] = ()
    ignore_missing_values_files: bool = False
    version_metadata: str = ""
    max_file_size: int = 5 << 20


@dataclass(slots=True)
class ChartBuild:
    name: str
    version: str
    path: Path | None = None
    packaged: bool = False
    values_files: list[str] = field(default_factory=list)
    resolved_dependencies: int = 0

    def summary(self) -> str:
        action = "new"
        if self.path is not None:
            action = "packaged" if self.packaged else "pulled"
        text = f"{action} '{self.name}' chart with version '{self.version}'"
        if self.values_files:
            text += f" and merged values files [{' '.join(self.values_files)}]"
        return text


def with_version_metadata(version: str, metadata: str) -> str:
    """`version` with its build metadata replaced by `metadata` (Masterminds' SetMetadata)."""
    if not metadata:
        return version
    try:
        parsed = parse_version(version)
    except InvalidVersion as exc:
        raise MetadataPatchError(
            f"failed to parse version '{version}' from chart metadata as SemVer: {exc.cause}"
        ) from None
    if not all(part and part.replace("-", "").isalnum() for part in metadata.split(".")):
        raise MetadataPatchError(f"invalid SemVer build metadata '{metadata}'")
    base = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    if parsed.prerelease:
        base += f"-{parsed.prerelease}"
    return f"{base}+{metadata}"


def _needs_packaging(options: BuildOptions) -> bool:
    return bool(options.values_files) or bool(options.version_metadata)


async def _extract_chart(archive: Path, target: Path, max_file_size: int) -> Path:
    """Extract a chart .tgz; return its top-level (chart) directory."""
    limits = ExtractLimits(
        max_total_bytes=MAX_DECOMPRESSED_SIZE,
        max_file_bytes=max_file_size,
        max_entries=MAX_CHART_ENTRIES,
    )
    try:
        await extract_archive_async(archive, target, limits=limits, symlinks="reject")
    except ArtifactError as exc:
        raise ChartPackageError(f"failed to extract chart {archive.name}: {exc}") from None
    tops = await asyncio.to_thread(lambda: [p for p in target.iterdir() if p.is_dir()])
    if len(tops) != 1:
        raise ChartPackageError(f"chart archive {archive.name} has no single chart directory")
    return tops[0]


def _apply_values(chart_dir: Path, merged: dict[str, object], used: list[str]) -> list[str]:
    if not used:
        return []
    (chart_dir / "values.yaml").write_bytes(dump_values(merged))
    return used


def _merge_in_chart(chart_dir: Path, options: BuildOptions) -> list[str]:
    """Values files named relative to the chart root (a chart from a repository)."""

    def read(path: str) -> bytes | None:
        try:
            target = safe_join(chart_dir, path, "spec.valuesFiles")
        except HelmError as exc:
            raise ValuesFilesError(str(exc)) from None
        return target.read_bytes() if target.is_file() and not target.is_symlink() else None

    merged, used = merge_values_files(
        options.values_files, read, ignore_missing=options.ignore_missing_values_files
    )
    return _apply_values(chart_dir, merged, used)


def _merge_in_source(source_root: Path, chart_dir: Path, options: BuildOptions) -> list[str]:
    """Values files named relative to the source root (a chart from Git or a Bucket)."""

    def read(path: str) -> bytes | None:
        target = safe_join(source_root, path, "spec.valuesFiles")
        if not target.exists():
            return None
        if not target.is_file() or target.is_symlink():
            raise ValuesFilesError(f"values file '{path}' is not a regular file")
        return target.read_bytes()

    merged, used = merge_values_files(
        options.values_files, read, ignore_missing=options.ignore_missing_values_files
    )
    return _apply_values(chart_dir, merged, used)


async def build_remote_chart(
    downloaded: Path,
    expected_name: str,
    version: str,
    workdir: Path,
    packager: HelmPackager,
    options: BuildOptions,
) -> ChartBuild:
    """Check a downloaded chart, and repackage it when the options require it."""
    meta = await asyncio.to_thread(
        inspect_chart_archive, downloaded, max_file_size=options.max_file_size
    )
    if meta.name != expected_name:
        raise ChartPullError(
            f"downloaded chart is named '{meta.name}', but the index lists '{expected_name}'"
        )
    build = ChartBuild(meta.name, version)
    if not _needs_packaging(options):
        build.path = downloaded
        return build
    chart_dir = await _extract_chart(downloaded, workdir / "chart", options.max_file_size)
    build.values_files = await asyncio.to_thread(_merge_in_chart, chart_dir, options)
    build.path = await packager.package(chart_dir, workdir / "out", name=meta.name, version=version)
    build.packaged = True
    return build


def read_local_chart_metadata(
    chart_path: Path, spec_chart: str, max_file_size: int
) -> ChartMetadata:
    """Chart.yaml of the chart at `chart_path` (a directory or a .tgz). Blocking."""
    if chart_path.is_file():
        try:
            return inspect_chart_archive(chart_path, max_file_size=max_file_size)
        except ChartPullError as exc:
            raise ChartReferenceError(str(exc)) from None
    chart_yaml = chart_path / "Chart.yaml"
    if not chart_path.is_dir() or not chart_yaml.is_file():
        raise ChartReferenceError(f"no chart found at path '{spec_chart}' (no Chart.yaml)")
    if chart_yaml.stat().st_size > max_file_size:
        raise ChartReferenceError(f"Chart.yaml at '{spec_chart}' is too large")
    return parse_chart_metadata(
        chart_yaml.read_bytes(), f"Chart.yaml at '{spec_chart}'", ChartReferenceError
    )


async def build_local_chart(
    source_root: Path,
    chart_path: Path,
    meta: ChartMetadata,
    version: str,
    workdir: Path,
    packager: HelmPackager,
    options: BuildOptions,
    repositories: Sequence[DependencyRepository],
) -> ChartBuild:
    """Package the chart at `chart_path` inside `source_root` as `version`."""
    build = ChartBuild(meta.name, version)
    if await asyncio.to_thread(chart_path.is_file):
        if not _needs_packaging(options):
            build.path = chart_path
            return build
        chart_dir = await _extract_chart(chart_path, workdir / "chart", options.max_file_size)
    else:
        chart_dir = chart_path
        await asyncio.to_thread(check_chart_files, chart_dir, options.max_file_size)
    build.values_files = await asyncio.to_thread(_merge_in_source, source_root, chart_dir, options)
    if chart_dir == chart_path:
        build.resolved_dependencies = await packager.build_dependencies(
            chart_dir, source_root, meta, repositories
        )
    build.path = await packager.package(chart_dir, workdir / "out", name=meta.name, version=version)
    build.packaged = True
    return build
