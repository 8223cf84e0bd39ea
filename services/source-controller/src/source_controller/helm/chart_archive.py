"""Checking a packaged chart (.tgz) before it is stored, and reading its metadata.

A chart archive holds one top-level directory named after the chart, with Chart.yaml in
it. Entries with absolute or `..` paths, links, devices, files above the per-file cap or
a decompressed total above Helm's 100 MiB are refused, as Helm's loader would refuse them.
"""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

import yaml

from source_controller.helm.errors import ChartPullError, HelmError
from source_controller.semver import InvalidVersion, parse_version

__all__ = [
    "DEFAULT_MAX_CHART_FILE_SIZE",
    "DEFAULT_MAX_CHART_SIZE",
    "MAX_DECOMPRESSED_SIZE",
    "ChartMetadata",
    "inspect_chart_archive",
    "parse_chart_metadata",
]

DEFAULT_MAX_CHART_SIZE: Final = 10 << 20  # --helm-chart-max-size
DEFAULT_MAX_CHART_FILE_SIZE: Final = 5 << 20  # --helm-chart-file-max-size
MAX_DECOMPRESSED_SIZE: Final = 100 << 20  # Helm's loader limit
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
        doc = yaml.load(data, Loader=_Loader)
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


def _check_name(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (
        not name
        or "\\" in name
        or path.is_absolute()
        or ".." in path.parts
        or (len(path.parts) and path.parts[0] in (".", ""))
    ):
        raise ChartPullError(f"chart archive {archive} has an illegal entry path '{name}'")
    return path


def inspect_chart_archive(
    path: Path, *, max_file_size: int = DEFAULT_MAX_CHART_FILE_SIZE
) -> ChartMetadata:
    """Walk every entry of the archive at `path` and return its Chart.yaml. Blocking."""
    archive = path.name
    chart_yaml: bytes | None = None
    top: str | None = None
    total = 0
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar:
                entry = _check_name(member.name, archive)
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ChartPullError(
                        f"chart archive {archive}: entry '{member.name}' is not a regular file"
                    )
                if member.size > max_file_size:
                    raise ChartPullError(
                        f"chart archive {archive}: file '{member.name}' is {member.size} "
                        f"bytes, above the limit of {max_file_size}"
                    )
                total += member.size
                if total > MAX_DECOMPRESSED_SIZE:
                    raise ChartPullError(
                        f"chart archive {archive} decompresses to more than "
                        f"{MAX_DECOMPRESSED_SIZE} bytes"
                    )
                top = top or entry.parts[0]
                if entry.parts[0] != top:
                    raise ChartPullError(
                        f"chart archive {archive} has more than one top-level directory"
                    )
                if len(entry.parts) == 2 and entry.parts[1] == "Chart.yaml":
                    handle = tar.extractfile(member)
                    chart_yaml = handle.read() if handle is not None else None
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise ChartPullError(f"chart archive {archive} is not a valid .tgz: {exc}") from None
    if chart_yaml is None:
        raise ChartPullError(f"chart archive {archive} has no Chart.yaml")
    return parse_chart_metadata(chart_yaml, f"Chart.yaml in {archive}")
