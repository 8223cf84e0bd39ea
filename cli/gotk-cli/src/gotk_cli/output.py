"""Objects as JSON or YAML: `get -o json|yaml`, `export`, `create --export`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import yaml
from gotk_api.objects import Obj

__all__ = ["as_list", "export_object", "to_json", "to_yaml", "yaml_documents"]


def _drop_managed_fields(obj: Obj) -> Obj:
    metadata = dict(obj.get("metadata") or {})
    metadata.pop("managedFields", None)
    return {**obj, "metadata": metadata}


def as_list(objects: Sequence[Obj]) -> Obj:
    """A kubectl-style ``List`` of whole objects (without managedFields)."""
    return {
        "apiVersion": "v1",
        "kind": "List",
        "items": [_drop_managed_fields(obj) for obj in objects],
        "metadata": {},
    }


def export_object(obj: Obj) -> Obj:
    """What `flux export` keeps: apiVersion, kind, name, namespace, labels, annotations, spec."""
    metadata = obj.get("metadata") or {}
    kept: Obj = {"name": metadata.get("name")}
    if metadata.get("namespace"):
        kept["namespace"] = metadata["namespace"]
    for key in ("labels", "annotations"):
        if metadata.get(key):
            kept[key] = metadata[key]
    exported: Obj = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": kept}
    for key in ("spec", "type", "data", "stringData"):
        if key in obj:
            exported[key] = obj[key]
    return exported


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks (readable values and scripts)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(value: Any) -> str:
    """One YAML document, keys sorted like Flux's (Go's sigs.k8s.io/yaml sorts them)."""
    text: str = yaml.dump(
        value, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )
    return text


def yaml_documents(objects: Iterable[Obj]) -> str:
    """`---`-separated documents, as `flux export` prints them."""
    return "".join(f"---\n{to_yaml(obj)}" for obj in objects)
