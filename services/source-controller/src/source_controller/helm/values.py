"""`spec.valuesFiles`: merging values files in order into the chart's values.yaml.

As Flux: maps merge key by key, any other value (lists included) is replaced by the later
file's; the merged result replaces the chart's default values (list `values.yaml` itself
to keep them). Paths are confined to their root; a missing file is an error unless
`ignoreMissingValuesFiles`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from gotk_artifacts.yaml_guard import load_yaml

from source_controller.helm.errors import IllegalChartPath, ValuesFilesError

__all__ = ["dump_values", "load_values", "merge_maps", "merge_values_files", "safe_join"]

Values = dict[str, Any]
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> Values:
    """A new map: `override` merged into `base`, recursively for nested maps."""
    merged: Values = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_maps(current, value)
        else:
            merged[key] = value
    return merged


def load_values(data: bytes, where: str) -> Values:
    try:
        values = load_yaml(data)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ValuesFilesError(f"unmarshaling values from '{where}' failed: {detail}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValuesFilesError(f"values file '{where}' is not a YAML mapping")
    return values


def dump_values(values: Mapping[str, Any]) -> bytes:
    text: str = yaml.dump(dict(values), Dumper=_Dumper, sort_keys=True, allow_unicode=True)
    return text.encode()


def safe_join(root: Path, relative: str, field: str) -> Path:
    """`root/relative`, refusing absolute paths and `..` that leave `root` (IllegalPath)."""
    pure = PurePosixPath(relative)
    parts: list[str] = []
    for part in pure.parts:
        if part in ("/", "."):
            continue
        if part == "..":
            if not parts:
                raise IllegalChartPath(f"{field} '{relative}' escapes the source root")
            parts.pop()
            continue
        parts.append(part)
    if "\\" in relative or "\x00" in relative:
        raise IllegalChartPath(f"{field} '{relative}' is not a valid path")
    joined = root.joinpath(*parts)
    resolved, real_root = joined.resolve(), root.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise IllegalChartPath(f"{field} '{relative}' resolves outside the source root")
    return joined


def merge_values_files(
    paths: Sequence[str],
    read: Callable[[str], bytes | None],
    *,
    ignore_missing: bool,
) -> tuple[Values, list[str]]:
    """Merge the files `read` returns (None: missing) in order; return the merged values
    and the paths actually merged. Blocking when `read` is."""
    merged: Values = {}
    used: list[str] = []
    for path in paths:
        data = read(path)
        if data is None:
            if ignore_missing:
                continue
            raise ValuesFilesError(f"no values file found at path '{path}'")
        merged = merge_maps(merged, load_values(data, path))
        used.append(path)
    return merged, used
