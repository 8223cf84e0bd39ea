"""The why-walk over tables of object chains, read from a dict (as a cache would serve them)."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, WhyNode, health, object_ref, references, root_causes, why

T0 = "2026-01-02T03:04:05Z"
NS = "apps"


def ready(status: str, reason: str, message: str = "", **extra: Any) -> Obj:
    return {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": T0,
            }
        ],
        **extra,
    }


OK = ready("True", "Succeeded", "all good")


def obj(kind: str, name: str, status: Obj | None = None, namespace: str = NS, **spec: Any) -> Obj:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": spec,
        **({"status": status} if status is not None else {}),
    }


def ks(name: str, status: Obj | None = OK, deps: tuple[str, ...] = (), **spec: Any) -> Obj:
    spec.setdefault("sourceRef", {"kind": "GitRepository", "name": "repo"})
    if deps:
        spec["dependsOn"] = [{"name": d} for d in deps]
    return obj("Kustomization", name, status, **spec)


def git(name: str = "repo", status: Obj | None = OK) -> Obj:
    return obj("GitRepository", name, status, url="https://example.com/x.git")


GIT_MISSING_BRANCH = ready(
    "False", "GitOperationFailed", "failed to checkout and determine revision: branch 'nope'"
)
DEP_NOT_READY = ready("False", "DependencyNotReady", "dependency 'apps/x' is not ready")
HELM_REPO_DOWN = ready("False", "IndexationFailed", "failed to fetch index: 404 Not Found")


def hr(name: str, status: Obj | None = OK, **spec: Any) -> Obj:
    if "chartRef" not in spec:
        spec.setdefault(
            "chart",
            {
                "spec": {
                    "chart": "podinfo",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                }
            },
        )
    return obj("HelmRelease", name, status, **spec)


def read_from(objects: list[Obj]) -> Any:
    index = {object_ref(o): o for o in objects}
    reads: list[ObjectRef] = []

    async def read(ref: ObjectRef) -> Obj | None:
        reads.append(ref)
        return index.get(ref)

    read.reads = reads  # type: ignore[attr-defined]
    return read


def shape(node: WhyNode) -> Any:
    """A compact, comparable rendering: (kind/name, state, reason, [children])."""
    label = f"{node.ref.kind}/{node.ref.name}"
    return (label, node.state, node.reason, [shape(c) for c in node.children])


CASES: list[tuple[str, list[Obj], Any, list[str]]] = [
    (
        "ready_kustomization_has_no_causes",
        [ks("app"), git()],
        ("Kustomization/app", "ready", "Succeeded", []),
        [],
    ),
    (
        "three_levels_dependency_then_source",
        [
            ks("app", DEP_NOT_READY, deps=("infra",)),
            ks("infra", DEP_NOT_READY, deps=("crds",)),
            ks("crds", ready("False", "ArtifactFailed", "source not ready")),
            git(status=GIT_MISSING_BRANCH),
        ],
        (
            "Kustomization/app",
            "failing",
            "DependencyNotReady",
            [
                (
                    "Kustomization/infra",
                    "failing",
                    "DependencyNotReady",
                    [
                        (
                            "Kustomization/crds",
                            "failing",
                            "ArtifactFailed",
                            [("GitRepository/repo", "failing", "GitOperationFailed", [])],
                        ),
                        ("GitRepository/repo", "failing", "GitOperationFailed", []),
                    ],
                ),
                ("GitRepository/repo", "failing", "GitOperationFailed", []),
            ],
        ),
        ["GitRepository/repo"],
    ),
    (
        "dependency_cycle_ends_the_walk",
        [
            ks("a", DEP_NOT_READY, deps=("b",)),
            ks("b", DEP_NOT_READY, deps=("c",)),
            ks("c", DEP_NOT_READY, deps=("a",)),
            git(),
        ],
        (
            "Kustomization/a",
            "failing",
            "DependencyNotReady",
            [
                (
                    "Kustomization/b",
                    "failing",
                    "DependencyNotReady",
                    [
                        (
                            "Kustomization/c",
                            "failing",
                            "DependencyNotReady",
                            [("Kustomization/a", "cycle", "DependencyCycle", [])],
                        )
                    ],
                )
            ],
        ),
        ["Kustomization/a"],
    ),
    (
        "self_dependency_is_a_cycle",
        [ks("a", DEP_NOT_READY, deps=("a",)), git()],
        (
            "Kustomization/a",
            "failing",
            "DependencyNotReady",
            [("Kustomization/a", "cycle", "DependencyCycle", [])],
        ),
        ["Kustomization/a"],
    ),
    (
        "missing_dependency_and_ready_source",
        [ks("app", DEP_NOT_READY, deps=("gone",)), git()],
        (
            "Kustomization/app",
            "failing",
            "DependencyNotReady",
            [("Kustomization/gone", "missing", "NotFound", [])],
        ),
        ["Kustomization/gone"],
    ),
    (
        "failing_object_with_healthy_references_is_its_own_root_cause",
        [ks("app", ready("False", "HealthCheckFailed", "timeout waiting for Deployment")), git()],
        ("Kustomization/app", "failing", "HealthCheckFailed", []),
        ["Kustomization/app"],
    ),
    (
        "helmrelease_chart_template_to_helmrepository",
        [
            hr("web", ready("False", "ArtifactFailed", "HelmChart 'apps/apps-web' is not ready")),
            obj(
                "HelmChart",
                "apps-web",
                ready("False", "ChartPullFailed", "no chart index"),
                chart="podinfo",
                sourceRef={"kind": "HelmRepository", "name": "charts"},
            ),
            obj("HelmRepository", "charts", HELM_REPO_DOWN, url="https://charts.example.com"),
        ],
        (
            "HelmRelease/web",
            "failing",
            "ArtifactFailed",
            [
                (
                    "HelmChart/apps-web",
                    "failing",
                    "ChartPullFailed",
                    [("HelmRepository/charts", "failing", "IndexationFailed", [])],
                )
            ],
        ),
        ["HelmRepository/charts"],
    ),
    (
        "helmrelease_chart_ref_to_missing_ocirepository",
        [hr("web", ready("False", "ArtifactFailed", "x"),
            chartRef={"kind": "OCIRepository", "name": "oci"})],
        (
            "HelmRelease/web",
            "failing",
            "ArtifactFailed",
            [("OCIRepository/oci", "missing", "NotFound", [])],
        ),
        ["OCIRepository/oci"],
    ),
    (
        "stalled_source_below_a_reconciling_applier",
        [
            ks("app", ready("Unknown", "Progressing", "reconciliation in progress")),
            git(
                status={
                    "observedGeneration": 1,
                    "conditions": [
                        {"type": "Ready", "status": "False", "reason": "URLInvalid",
                         "message": "no host", "lastTransitionTime": T0},
                        {"type": "Stalled", "status": "True", "reason": "URLInvalid",
                         "message": "no host", "lastTransitionTime": T0},
                    ],
                }
            ),
        ],
        (
            "Kustomization/app",
            "reconciling",
            "Progressing",
            [("GitRepository/repo", "stalled", "URLInvalid", [])],
        ),
        ["GitRepository/repo"],
    ),
    (
        "ready_applier_still_shows_its_failing_source",
        [ks("app"), git(status=GIT_MISSING_BRANCH)],
        (
            "Kustomization/app",
            "ready",
            "Succeeded",
            [("GitRepository/repo", "failing", "GitOperationFailed", [])],
        ),
        ["GitRepository/repo"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("objects", "expected", "causes"),
    [pytest.param(objects, expected, causes, id=name) for name, objects, expected, causes in CASES],
)
async def test_why_walks_to_the_root_causes(
    objects: list[Obj], expected: Any, causes: list[str]
) -> None:
    tree = await why(objects[0], read_from(objects))
    assert shape(tree) == expected
    assert [f"{c.ref.kind}/{c.ref.name}" for c in root_causes(tree)] == causes


async def test_leaves_carry_reason_message_and_transition_time() -> None:
    objects = [
        ks("app", DEP_NOT_READY, deps=("infra",)),
        ks("infra"),
        git(status=GIT_MISSING_BRANCH),
    ]
    tree = await why(objects[0], read_from(objects))
    (cause,) = root_causes(tree)
    assert cause.ref == ObjectRef("GitRepository", NS, "repo")
    assert cause.reason == "GitOperationFailed"
    assert "branch 'nope'" in cause.message
    assert cause.since == T0
    assert cause.relation == "sourceRef"
    assert cause.field == "spec.sourceRef"


async def test_each_object_is_read_once_per_walk() -> None:
    objects = [
        ks("app", DEP_NOT_READY, deps=("a", "b")),
        ks("a", DEP_NOT_READY, deps=("base",)),
        ks("b", DEP_NOT_READY, deps=("base",)),
        ks("base", ready("False", "BuildFailed", "kustomize build failed")),
        git(),
    ]
    read = read_from(objects)
    tree = await why(objects[0], read)
    assert sorted(map(str, read.reads)) == sorted(set(map(str, read.reads)))
    assert [c.ref.name for c in root_causes(tree)] == ["base"]


async def test_a_long_dependency_chain_stops_at_max_depth() -> None:
    chain = [ks(f"k{i}", DEP_NOT_READY, deps=(f"k{i + 1}",)) for i in range(50)]
    tree = await why(chain[0], read_from([*chain, git()]), max_depth=5)
    assert len(list(tree.walk())) == 6


def test_cross_namespace_references_default_to_the_referrers_namespace() -> None:
    app = ks(
        "app",
        deps=("x",),
        sourceRef={"kind": "OCIRepository", "name": "oci", "namespace": "shared"},
    )
    app["spec"]["dependsOn"].append({"name": "y", "namespace": "infra"})
    assert [(r.relation, str(r.target), r.field) for r in references(app)] == [
        ("dependsOn", "Kustomization/apps/x", "spec.dependsOn[0]"),
        ("dependsOn", "Kustomization/infra/y", "spec.dependsOn[1]"),
        ("sourceRef", "OCIRepository/shared/oci", "spec.sourceRef"),
    ]


def test_helmrelease_chart_is_named_after_the_release_in_the_source_namespace() -> None:
    release = hr("web")
    release["spec"]["chart"]["spec"]["sourceRef"]["namespace"] = "charts-ns"
    (chart,) = references(release)
    assert chart.target == ObjectRef("HelmChart", "charts-ns", "apps-web")
    release["status"]["helmChart"] = "other/custom"
    (chart,) = references(release)
    assert (chart.target, chart.field) == (
        ObjectRef("HelmChart", "other", "custom"),
        "status.helmChart",
    )


@pytest.mark.parametrize(
    ("status", "spec", "generation", "expected"),
    [
        (None, {}, 1, ("unknown", "")),
        (OK, {}, 1, ("ready", "Succeeded")),
        (OK, {}, 2, ("reconciling", "Succeeded")),
        (OK, {"suspend": True}, 2, ("ready", "Succeeded")),
        (ready("False", "BuildFailed"), {}, 1, ("failing", "BuildFailed")),
        (ready("False", "GitOperationFailed"), {}, 2, ("failing", "GitOperationFailed")),
        (ready("Unknown", "Progressing"), {}, 1, ("reconciling", "Progressing")),
    ],
    ids=[
        "no-status",
        "ready",
        "new-generation",
        "suspended-keeps-state",
        "failing",
        "failing-while-retrying-a-new-generation",
        "progressing",
    ],
)
def test_health_states(status: Obj | None, spec: Obj, generation: int, expected: Any) -> None:
    item = obj("Kustomization", "x", status, **spec)
    item["metadata"]["generation"] = generation
    current = health(item)
    assert (current.state, current.reason) == expected
    assert current.suspended == bool(spec.get("suspend"))
