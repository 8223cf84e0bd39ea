"""Labels and annotations: selector matching and common metadata (fluxcd/pkg ssa utils).

The engine knows no label or annotation of its own: a controller passes its
``<group>/ssa``, ``<group>/force``, ``<group>/prune`` ... keys as selectors, so
kustomize-controller and helm-controller share it with their own API groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Selector = Mapping[str, str]
"""Label or annotation key → value; an object matches when any pair is present."""


def _metadata(obj: Mapping[str, Any], field_name: str) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get(field_name) or {}


def any_in_metadata(obj: Mapping[str, Any], selector: Selector) -> bool:
    """A label or annotation matches one of `selector`'s pairs (value case-insensitive)."""
    labels, annotations = _metadata(obj, "labels"), _metadata(obj, "annotations")
    for key, wanted in selector.items():
        for source in (labels, annotations):
            value = source.get(key)
            if value and str(value).casefold() == wanted.casefold():
                return True
    return False


def has_labels(obj: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Every one of `labels` is set on the object with exactly that value."""
    present = _metadata(obj, "labels")
    return all(present.get(key) == value for key, value in labels.items())


def set_common_metadata(
    objects: Sequence[dict[str, Any]],
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> None:
    """Add labels/annotations to every object, overriding same keys, in place.

    Flux does this after the build (not in the kustomization file), so selectors and
    templates are left alone.
    """
    for obj in objects:
        metadata = obj.setdefault("metadata", {})
        for field_name, values in (("labels", labels), ("annotations", annotations)):
            if values:
                merged = dict(metadata.get(field_name) or {})
                merged.update(values)
                metadata[field_name] = merged
