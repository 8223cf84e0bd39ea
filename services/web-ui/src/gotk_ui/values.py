"""The values a HelmRelease is installed with, as helm-controller composes them, masked.

Flux merges ``spec.valuesFrom`` in order (a whole values file is deep-merged, a
``targetPath`` sets one value) and then ``spec.values`` on top. The UI reads the ConfigMaps;
it never reads a Secret: a Secret's ``targetPath`` value shows as ``MASK`` and a whole values
file from a Secret is named but left out, so Secret contents cannot reach a page.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Final

import yaml
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, KubeError, NotFound
from gotk_runtime.kube import CONFIG_MAPS

__all__ = ["MASK", "ValuesSource", "compose_values"]

MASK: Final = "••••••"
DEFAULT_VALUES_KEY: Final = "values.yaml"


@dataclass(frozen=True, slots=True)
class ValuesSource:
    label: str
    """E.g. ``ConfigMap apps/web-values, key values.yaml``."""
    note: str
    """What was merged, or why nothing was."""
    masked: bool = False


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _set_path(values: dict[str, Any], path: str, value: Any) -> bool:
    parts = path.split(".")
    if not all(parts) or any("[" in part for part in parts):
        return False  # list indexes and escapes: not shown rather than shown wrong
    node = values
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
    return True


async def compose_values(
    client: KubeClient, release: Obj
) -> tuple[dict[str, Any], list[ValuesSource]]:
    """The merged values (Secret-sourced ones masked) and what each source contributed."""
    namespace = release["metadata"]["namespace"]
    spec = release.get("spec") or {}
    merged: dict[str, Any] = {}
    sources = []
    for ref in spec.get("valuesFrom") or ():
        kind, name = ref.get("kind"), ref.get("name")
        key = ref.get("valuesKey") or DEFAULT_VALUES_KEY
        target = ref.get("targetPath")
        label = f"{kind} {namespace}/{name}, key {key}" + (f" → {target}" if target else "")
        if kind == "Secret":
            shown = bool(target) and _set_path(merged, target, MASK)
            note = "masked" if shown else "not shown: the UI does not read Secrets"
            sources.append(ValuesSource(label, note, masked=True))
            continue
        try:
            configmap = await client.get(CONFIG_MAPS, name, namespace)
        except NotFound:
            note = "optional, not found" if ref.get("optional") else "not found"
            sources.append(ValuesSource(label, note))
            continue
        except KubeError as err:
            sources.append(ValuesSource(label, f"cannot read: {err}"))
            continue
        data = (configmap.get("data") or {}).get(key)
        if data is None:
            sources.append(ValuesSource(label, f"no key {key!r}"))
        elif target:
            shown = _set_path(merged, target, data)
            sources.append(ValuesSource(label, "merged" if shown else "path not shown"))
        else:
            try:
                parsed = yaml.safe_load(data)
            except yaml.YAMLError:
                sources.append(ValuesSource(label, "not valid YAML"))
                continue
            if isinstance(parsed, dict):
                _merge(merged, parsed)
                sources.append(ValuesSource(label, "merged"))
            else:
                sources.append(ValuesSource(label, "not a YAML mapping"))
    if spec.get("values"):
        _merge(merged, spec["values"])
        sources.append(ValuesSource("spec.values", "merged last"))
    return merged, sources
