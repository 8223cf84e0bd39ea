"""The why-walk reading from the real API server, as the CLI will."""

from __future__ import annotations

from gotk_api.objects import Obj
from gotk_inspect import ObjectRef, kube_reader, resource_of, root_causes, why
from gotk_runtime import KubeClient


async def test_kube_reader_walks_objects_in_the_api_server(
    kube: KubeClient, namespace: str
) -> None:
    source: Obj = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        # The session source-controller leaves objects with this label alone.
        "metadata": {"name": "repo", "namespace": namespace, "labels": {"gotk.test/leader": "x"}},
        "spec": {"url": "https://example.com/repo.git", "interval": "1m"},
    }
    created = await kube.create(resource_of("GitRepository"), source)
    created["status"] = {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "GitOperationFailed",
                "message": "couldn't find remote ref 'refs/heads/nope'",
                "lastTransitionTime": "2026-01-02T03:04:05Z",
            }
        ],
    }
    await kube.replace(resource_of("GitRepository"), created, subresource="status")
    app: Obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "interval": "1m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "dependsOn": [{"name": "absent"}],
        },
    }
    app = await kube.create(resource_of("Kustomization"), app)
    tree = await why(app, kube_reader(kube))
    assert [(c.ref, c.state, c.reason) for c in root_causes(tree)] == [
        (ObjectRef("Kustomization", namespace, "absent"), "missing", "NotFound"),
        (ObjectRef("GitRepository", namespace, "repo"), "failing", "GitOperationFailed"),
    ]


async def test_kube_reader_reads_unknown_kinds_as_missing(kube: KubeClient) -> None:
    assert await kube_reader(kube)(ObjectRef("ConfigMap", "default", "x")) is None
