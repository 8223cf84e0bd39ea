"""What a Flux object references: the edges the why-walk and the UI's graph follow.

Read from the raw object's spec, with Flux's defaulting: a reference without a namespace
points into the referrer's namespace; `dependsOn` entries name objects of the referrer's own
kind; the HelmChart of a HelmRelease's `spec.chart` template is `<namespace>-<name>`, made
in the template's source namespace (`status.helmChart` names it once helm-controller has).
Secret and ConfigMap references are deliberately not edges: nothing here reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from gotk_api.objects import Obj

__all__ = ["ObjectRef", "Reference", "Relation", "object_ref", "references"]

Relation = Literal["dependsOn", "sourceRef", "chartRef", "chart", "include"]
"""How the referrer points at the target: the spec field that names it."""


class ObjectRef(NamedTuple):
    """A Flux object by kind (e.g. ``GitRepository``), namespace and name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Reference:
    """One edge: ``field`` of the referrer names ``target``."""

    relation: Relation
    target: ObjectRef
    field: str
    """Where in the referrer, e.g. ``spec.dependsOn[1]`` or ``spec.sourceRef``."""


def object_ref(obj: Obj) -> ObjectRef:
    """The reference to ``obj`` itself."""
    metadata = obj.get("metadata") or {}
    return ObjectRef(str(obj.get("kind", "")), str(metadata.get("namespace", "")), metadata["name"])


def _target(ref: Any, kind: str | None, namespace: str) -> ObjectRef | None:
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    target_kind = kind or ref.get("kind")
    if not target_kind:
        return None
    return ObjectRef(str(target_kind), str(ref.get("namespace") or namespace), str(ref["name"]))


def _depends_on(obj: Obj, spec: Obj, namespace: str) -> list[Reference]:
    kind = str(obj.get("kind", ""))
    found = []
    for index, dep in enumerate(spec.get("dependsOn") or ()):
        target = _target(dep, kind, namespace)
        if target is not None:
            found.append(Reference("dependsOn", target, f"spec.dependsOn[{index}]"))
    return found


def _helm_chart(obj: Obj, spec: Obj, namespace: str) -> Reference | None:
    template = spec.get("chart")
    if not isinstance(template, dict):
        return None
    made, sep, name = str((obj.get("status") or {}).get("helmChart") or "").partition("/")
    if sep and name:
        return Reference("chart", ObjectRef("HelmChart", made, name), "status.helmChart")
    source_ref = (template.get("spec") or {}).get("sourceRef") or {}
    chart_namespace = str(source_ref.get("namespace") or namespace)
    chart_name = f"{namespace}-{obj['metadata']['name']}"
    return Reference("chart", ObjectRef("HelmChart", chart_namespace, chart_name), "spec.chart")


def references(obj: Obj) -> list[Reference]:
    """Every Flux object ``obj`` depends on, dependencies first, in spec order."""
    spec = obj.get("spec") or {}
    namespace = str((obj.get("metadata") or {}).get("namespace", ""))
    found = _depends_on(obj, spec, namespace)
    match obj.get("kind"):
        case "Kustomization" | "HelmChart":
            target = _target(spec.get("sourceRef"), None, namespace)
            if obj.get("kind") == "HelmChart" and target is not None:
                target = target._replace(namespace=namespace)  # always the chart's namespace
            if target is not None:
                found.append(Reference("sourceRef", target, "spec.sourceRef"))
        case "HelmRelease":
            target = _target(spec.get("chartRef"), None, namespace)
            if target is not None:
                found.append(Reference("chartRef", target, "spec.chartRef"))
            chart = _helm_chart(obj, spec, namespace)
            if chart is not None:
                found.append(chart)
        case "GitRepository":
            for index, include in enumerate(spec.get("include") or ()):
                target = _target((include or {}).get("repository"), "GitRepository", namespace)
                if target is not None:
                    found.append(Reference("include", target, f"spec.include[{index}].repository"))
    return found
