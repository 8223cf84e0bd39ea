"""Drift detection's pure parts: the ignore rules of the spec, the objects as Helm created
them, and the summary helm-controller writes in its DriftDetected event."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.helm import HelmRelease
from gotk_runtime import Resource
from gotk_ssa import Action, ChangeSetEntry, Diff, ObjectRef, PatchOperation
from helm_controller.drift import (
    ClusterDrift,
    ObjectDrift,
    _with_helm_metadata,
    compile_ignore_rules,
)
from helm_controller.errors import InvalidReleaseSpec
from helm_controller.storage import ReleaseRecord

CONFIG_MAPS = Resource("", "v1", "configmaps", "ConfigMap", True)
ROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)


def hr(**drift: Any) -> HelmRelease:
    return HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": "ns"},
            "spec": {
                "interval": "1h",
                "chartRef": {"kind": "HelmChart", "name": "c"},
                "driftDetection": drift,
            },
        }
    )


def test_ignore_rules_compile_with_their_targets() -> None:
    rules = compile_ignore_rules(
        hr(
            mode="enabled",
            ignore=[
                {"paths": ["/spec/replicas"], "target": {"kind": "Deployment", "name": "web"}},
                {"paths": ["/metadata/annotations/x"]},
            ],
        )
    )
    assert [r.paths for r in rules] == [("/spec/replicas",), ("/metadata/annotations/x",)]
    assert rules[0].target is not None
    assert rules[1].target is None


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"paths": ["spec"]},
            "spec.driftDetection.ignore[0]: JSON pointer 'spec' does not start with '/'",
        ),
        (
            {"paths": ["/spec"], "target": {"labelSelector": "a in (b"}},
            "spec.driftDetection.ignore[0]: target.labelSelector: ",
        ),
    ],
)
def test_a_bad_ignore_rule_stalls_naming_the_field(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidReleaseSpec) as info:
        compile_ignore_rules(hr(mode="warn", ignore=[rule]))
    assert str(info.value).startswith(message)
    assert info.value.stalling


def record() -> ReleaseRecord:
    return ReleaseRecord(
        name="app",
        namespace="ns",
        version=3,
        status="deployed",
        chart_name="demo",
        chart_version="1.0.0",
        app_version="",
        config={},
        first_deployed=None,
        last_deployed=None,
        deleted=None,
        description="",
        manifest="",
        hooks=[],
        digest="sha256:x",
        payload={},
        secret={},
    )


def test_objects_get_the_metadata_helm_adds_and_the_release_namespace() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "b"}}}
    desired = _with_helm_metadata(cm, record(), CONFIG_MAPS)
    assert desired["metadata"] == {
        "name": "c",
        "namespace": "ns",
        "labels": {"a": "b", "app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "meta.helm.sh/release-name": "app",
            "meta.helm.sh/release-namespace": "ns",
        },
    }
    assert "namespace" not in cm["metadata"], "the manifest object is left alone"
    role: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"}
    role["metadata"] = {"name": "r"}
    assert "namespace" not in _with_helm_metadata(role, record(), ROLES)["metadata"]


def drifted(name: str, action: Action, *ops: PatchOperation) -> ObjectDrift:
    ref = ObjectRef("ns", name, "", "ConfigMap", "v1")
    return ObjectDrift(CONFIG_MAPS, {}, Diff(ChangeSetEntry(ref, action), patch=ops))


def test_the_summary_names_each_object_and_changed_field() -> None:
    drift = ClusterDrift(
        [
            drifted("gone", Action.CREATED),
            drifted("same", Action.UNCHANGED),
            drifted(
                "edited",
                Action.CONFIGURED,
                PatchOperation("replace", "/data/a", "1"),
                PatchOperation("add", "/data/b", "2"),
                PatchOperation("remove", "/data/c"),
                PatchOperation("replace", "/metadata/labels/x", "y"),
            ),
            drifted("labels-removed-only", Action.CONFIGURED),
            drifted("opted-out", Action.SKIPPED),
        ]
    )
    assert [o.diff.entry.ref.name for o in drift.drifted] == ["gone", "edited"]
    assert drift.summary() == (
        "ConfigMap/ns/gone removed\n"
        "ConfigMap/ns/edited changed (1 additions, 2 changes, 1 removals): "
        "/data/a, /data/b, /data/c, /metadata/labels/x\n"
        "ConfigMap/ns/opted-out excluded"
    )
    assert drift.brief() == "removed: 1, changed: 1, excluded: 1"
