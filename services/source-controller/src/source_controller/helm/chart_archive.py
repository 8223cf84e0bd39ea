"""Checking a packaged chart (.tgz) before it is stored, and reading its metadata.

A chart archive holds one top-level directory named after the chart, with Chart.yaml in
it. Entries with absolute or `..` paths, links, devices, files above the per-file cap or
a decompressed total above Helm's 100 MiB are refused, as Helm's loader would refuse them;
so are more than `MAX_CHART_ENTRIES` entries, and extended headers above 1 MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from gotk_artifacts.errors import ArtifactError, CorruptArchive, UnsafeArchiveEntry
from gotk_artifacts.extract import ExtractLimits
from gotk_artifacts.scan import scan_archive
from gotk_artifacts.yaml_guard import load_yaml

from source_controller.helm.errors import ChartPullError, HelmError
from source_controller.semver import InvalidVersion, parse_version

__all__ = [
    "DEFAULT_MAX_CHART_FILE_SIZE",
    "DEFAULT_MAX_CHART_SIZE",
    "MAX_CHART_ENTRIES",
    "MAX_DECOMPRESSED_SIZE",
    "ChartMetadata",
    "inspect_chart_archive",
    "parse_chart_metadata",
]

DEFAULT_MAX_CHART_SIZE: Final = 10 << 20  # --helm-chart-max-size
DEFAULT_MAX_CHART_FILE_SIZE: Final = 5 << 20  # --helm-chart-file-max-size
MAX_DECOMPRESSED_SIZE: Final = 100 << 20  # Helm's loader limit
MAX_CHART_ENTRIES: Final = 10_000
"""Files and directories in one chart archive (Helm has no such cap; real charts hold
tens to hundreds)."""


@dataclass(frozen=True, slots=True)
class ChartMetadata:
    name: str
    version: str
    api_version: str = "v1"
    dependencies: tuple[dict[str, Any], ...] = field(default=())


def parse_chart_metadata(
    data: bytes, where: str, error: type[HelmError] = ChartPullError
) -> ChartMetadata:
    """Chart.yaml's name, version, apiVersion and dependencies, validated as Helm does."""
    try:
        doc = load_yaml(data)
    except yaml.YAMLError as exc:
        raise error(f"invalid {where}: {' '.join(str(exc).split())}") from None
    if not isinstance(doc, dict):
        raise error(f"invalid {where}: not a YAML mapping")
    name, version = doc.get("name"), doc.get("version")
    if not isinstance(name, str) or not name:
        raise error(f"invalid {where}: chart name is missing")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise error(f"invalid {where}: chart name '{name}' is not a valid name")
    version = str(version) if isinstance(version, str | int | float) else ""
    try:
        parse_version(version)
    except InvalidVersion:
        raise error(f"invalid {where}: version '{version}' is not a valid SemVer") from None
    deps = doc.get("dependencies") or []
    if not isinstance(deps, list) or not all(isinstance(d, dict) for d in deps):
        raise error(f"invalid {where}: dependencies must be a list of mappings")
    return ChartMetadata(name, version, str(doc.get("apiVersion") or "v1"), tuple(deps))


def inspect_chart_archive(
    path: Path, *, max_file_size: int = DEFAULT_MAX_CHART_FILE_SIZE
) -> ChartMetadata:
    """Read the archive at `path` as a stream and return its Chart.yaml. Blocking.

    Never `tarfile` in seekable mode: see gotk_artifacts.tarstream for what a small
    hostile archive does to it.
    """
    archive = path.name
    limits = ExtractLimits(
        max_total_bytes=MAX_DECOMPRESSED_SIZE,
        max_file_bytes=max_file_size,
        max_entries=MAX_CHART_ENTRIES,
    )
    try:
        scan = scan_archive(path, read=_is_chart_yaml, limits=limits, compressed=True)
    except UnsafeArchiveEntry as exc:
        raise ChartPullError(
            f"chart archive {archive} has an illegal entry path '{exc.entry}': {exc.cause}"
        ) from None
    except CorruptArchive as exc:
        raise ChartPullError(f"chart archive {archive} is not a valid .tgz: {exc}") from None
    except ArtifactError as exc:
        raise ChartPullError(f"chart archive {archive}: {exc}") from None
    tops = set()
    for entry in scan.entries:
        if entry.kind not in ("file", "dir"):
            raise ChartPullError(
                f"chart archive {archive}: entry '{entry.path}' is not a regular file"
            )
        tops.add(entry.path.split("/", 1)[0])
    if len(tops) > 1:
        raise ChartPullError(f"chart archive {archive} has more than one top-level directory")
    chart_yaml = next(iter(scan.files.values()), None)
    if chart_yaml is None:
        raise ChartPullError(f"chart archive {archive} has no Chart.yaml")
    return parse_chart_metadata(chart_yaml, f"Chart.yaml in {archive}")


def _is_chart_yaml(path: str) -> bool:
    top, _, rest = path.partition("/")
    return bool(top) and rest == "Chart.yaml"
