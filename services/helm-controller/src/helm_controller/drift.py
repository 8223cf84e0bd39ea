"""Drift detection and correction (`spec.driftDetection`), as helm-controller's
`action.Diff` and `action.ApplyDiff` do it, on gotk_ssa.

The objects of the stored release manifest (hooks are not in it) get the metadata Helm adds
when it creates them and, when namespaced without a namespace, the release namespace; each
is dry-run applied as `helm-controller` and compared with the cluster, the JSON pointers of
the `ignore` rules selecting it left out. An object carrying
`helm.toolkit.fluxcd.io/driftDetection: disabled` (label or annotation, in the chart or on
the cluster object) is excluded. A missing object is drift too. Correcting creates the
missing objects and JSON-patches the changed ones with exactly the drifted fields, so
ignored fields and fields no one drifted keep their owners.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from gotk_api.conditions import DISABLED_VALUE, HELM_DRIFT_DETECTION_ANNOTATION
from gotk_api.helm import HelmRelease
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, KubeError, Resource
from gotk_ssa import (
    Action,
    ApplyError,
    ApplyOptions,
    ChangeSetEntry,
    Diff,
    IgnoreRule,
    InvalidIgnoreRule,
    ObjectSelector,
    diff,
    ignored_paths,
)

from helm_controller.errors import InvalidReleaseSpec
from helm_controller.inventory import manifest_objects
from helm_controller.options import FIELD_MANAGER
from helm_controller.storage import ReleaseRecord

log = logging.getLogger(__name__)

__all__ = [
    "ClusterDrift",
    "Correction",
    "ObjectDrift",
    "compile_ignore_rules",
    "correct_drift",
    "detect_drift",
]

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
RELEASE_NAME_ANNOTATION: Final = "meta.helm.sh/release-name"
RELEASE_NAMESPACE_ANNOTATION: Final = "meta.helm.sh/release-namespace"
DIFF_OPTIONS: Final = ApplyOptions(
    field_manager=FIELD_MANAGER,
    exclusion_selector={HELM_DRIFT_DETECTION_ANNOTATION: DISABLED_VALUE},
)
_CONCURRENCY: Final = 4


@dataclass(frozen=True, slots=True)
class ObjectDrift:
    """One release object against the cluster."""

    resource: Resource
    desired: Obj
    diff: Diff

    @property
    def removed(self) -> bool:
        return self.diff.entry.action is Action.CREATED

    @property
    def changed(self) -> bool:
        return self.diff.entry.action is Action.CONFIGURED and bool(self.diff.patch)

    @property
    def excluded(self) -> bool:
        return self.diff.entry.action is Action.SKIPPED

    def summary(self) -> str:
        """Flux's line for the object, plus the JSON pointers of what changed."""
        ref = self.diff.entry.ref
        if self.removed:
            return f"{ref} removed"
        if self.excluded:
            return f"{ref} excluded"
        ops = self.diff.patch
        counts = {kind: sum(op.op == kind for op in ops) for kind in ("add", "replace", "remove")}
        paths = ", ".join(op.path for op in ops)
        return (
            f"{ref} changed ({counts['add']} additions, {counts['replace']} changes, "
            f"{counts['remove']} removals): {paths}"
        )


@dataclass
class ClusterDrift:
    """The release objects that drifted (and were excluded), and objects not compared."""

    objects: list[ObjectDrift] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> list[ObjectDrift]:
        return [o for o in self.objects if o.removed or o.changed]

    def summary(self) -> str:
        """One line per removed, changed or excluded object (helm-controller's summary)."""
        return "\n".join(o.summary() for o in self.objects if o.removed or o.changed or o.excluded)

    def brief(self) -> str:
        removed = sum(o.removed for o in self.objects)
        changed = sum(o.changed for o in self.objects)
        excluded = sum(o.excluded for o in self.objects)
        return f"removed: {removed}, changed: {changed}, excluded: {excluded}"


@dataclass
class Correction:
    changes: list[ChangeSetEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def compile_ignore_rules(hr: HelmRelease) -> list[IgnoreRule]:
    """`spec.driftDetection.ignore`, compiled; a bad pointer or pattern stalls the release."""
    rules: list[IgnoreRule] = []
    for index, rule in enumerate(hr.get_drift_detection().ignore or ()):
        where = f"spec.driftDetection.ignore[{index}]"
        try:
            target = None
            if rule.target is not None:
                t = rule.target
                target = ObjectSelector.compile(
                    group=t.group,
                    version=t.version,
                    kind=t.kind,
                    name=t.name,
                    namespace=t.namespace,
                    label_selector=t.label_selector,
                    annotation_selector=t.annotation_selector,
                )
            rules.append(IgnoreRule.compile(rule.paths, target))
        except InvalidIgnoreRule as err:
            raise InvalidReleaseSpec(f"{where}: {err}") from None
    return rules


async def detect_drift(
    client: KubeClient, record: ReleaseRecord, rules: Sequence[IgnoreRule]
) -> ClusterDrift:
    """Compare the objects of `record`'s manifest with the cluster; never changes it."""
    objects = await asyncio.to_thread(manifest_objects, record.manifest)
    result = ClusterDrift()
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def compare(obj: Obj) -> ObjectDrift | str:
        async with limit:
            try:
                resource = await client.discovery.resource_of(obj)
            except KubeError as err:
                return f"{_name(obj)}: failed to determine if it is namespace scoped: {err.message}"
            desired = _with_helm_metadata(obj, record, resource)
            try:
                found = await diff(
                    client, desired, DIFF_OPTIONS, ignore_paths=ignored_paths(rules, desired)
                )
            except ApplyError as err:
                return err.message
            return ObjectDrift(resource, desired, found)

    for outcome in await asyncio.gather(*(compare(obj) for obj in objects)):
        if isinstance(outcome, str):
            result.errors.append(outcome)
        else:
            result.objects.append(outcome)
    for item in result.drifted:
        for op in item.diff.patch:
            # Values stay out of logs: a Secret's would be its data.
            log.debug(
                "release %s: %s drifted: %s %s",
                record.full_name,
                item.diff.entry.ref,
                op.op,
                op.path,
            )
    return result


async def correct_drift(client: KubeClient, drift: ClusterDrift) -> Correction:
    """Recreate the removed objects, then patch the changed ones back, in manifest order."""
    correction = Correction()
    for item in (o for o in drift.drifted if o.removed):
        ref = item.diff.entry.ref
        try:
            await client.apply(item.resource, item.desired, field_manager=FIELD_MANAGER, force=True)
        except KubeError as err:
            correction.errors.append(f"{ref} creation failure: {_safe(item, err)}")
            continue
        correction.changes.append(ChangeSetEntry(ref, Action.CREATED))
    for item in (o for o in drift.drifted if o.changed):
        ref = item.diff.entry.ref
        try:
            await client.patch(
                item.resource,
                ref.name,
                [op.as_json() for op in item.diff.patch],
                namespace=ref.namespace or None,
                patch_type="json",
                field_manager=FIELD_MANAGER,
            )
        except KubeError as err:
            correction.errors.append(f"{ref} patch failure: {_safe(item, err)}")
            continue
        correction.changes.append(ChangeSetEntry(ref, Action.CONFIGURED))
    return correction


def _with_helm_metadata(obj: Obj, record: ReleaseRecord, resource: Resource) -> Obj:
    """`obj` as Helm created it: its ownership metadata, and the release namespace."""
    metadata = dict(obj.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), MANAGED_BY_LABEL: "Helm"}
    metadata["annotations"] = {
        **(metadata.get("annotations") or {}),
        RELEASE_NAME_ANNOTATION: record.name,
        RELEASE_NAMESPACE_ANNOTATION: record.namespace,
    }
    if resource.namespaced and not metadata.get("namespace"):
        metadata["namespace"] = record.namespace
    return {**obj, "metadata": metadata}


def _name(obj: Obj) -> str:
    metadata = obj.get("metadata") or {}
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj.get('kind')}/{where}{metadata.get('name')}"


def _safe(item: ObjectDrift, err: KubeError) -> str:
    """The API server's message; for a Secret only its last part, which holds no data."""
    if item.resource.kind == "Secret" and item.resource.group == "" and err.status == 422:
        return err.message.rpartition(":")[2].strip() or "invalid"
    return err.message
