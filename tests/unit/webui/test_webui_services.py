"""The overview's services: health and leader from leader-election Leases and Deployments."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

from fixtures.web_ui import UI_RUNTIME_NAMESPACE, RunningUI
from gotk_runtime import Resource
from gotk_runtime.kube import LEASES

DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", namespaced=True)


def _micro(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(body: str, service: str) -> str:
    match = re.search(rf"<tr><th scope=\"row\">{re.escape(service)}</th>(.*?)</tr>", body)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


async def test_services_show_leader_from_fresh_leases_and_down_from_expired_ones(
    web_ui: RunningUI,
) -> None:
    client = web_ui.client
    holder = f"kustomize-controller-{uuid.uuid4().hex[:6]}"
    leases = [
        ("kustomize-controller-leader-election", holder, _micro(), 3600),
        ("helm-controller-leader-election", "helm-controller-old", _micro(-timedelta(hours=1)), 35),
    ]
    for name, identity, renewed, duration in leases:
        await client.create(
            LEASES,
            {
                "metadata": {"name": name, "namespace": UI_RUNTIME_NAMESPACE},
                "spec": {
                    "holderIdentity": identity,
                    "leaseDurationSeconds": duration,
                    "renewTime": renewed,
                },
            },
        )
    await client.create(
        DEPLOYMENTS,
        {
            "metadata": {"name": "source-controller", "namespace": UI_RUNTIME_NAMESPACE},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "source-controller"}},
                "template": {
                    "metadata": {"labels": {"app": "source-controller"}},
                    "spec": {"containers": [{"name": "manager", "image": "gotk"}]},
                },
            },
        },
    )
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            _, body, _ = await web_ui.get("/")
            rows = {s: _row(body, s) for s in ("kustomize-controller", "helm-controller",
                                                 "source-controller")}  # fmt: skip
            if holder in rows["kustomize-controller"] and "replicas" in rows["source-controller"]:
                break
            assert asyncio.get_running_loop().time() < deadline, rows
            await asyncio.sleep(0.1)
        assert "Running" in rows["kustomize-controller"]
        assert "Down" in rows["helm-controller"]
        assert "the lease has expired" in rows["helm-controller"]
        # No controller-manager in this cluster: the Deployment never gets ready replicas.
        assert "Down" in rows["source-controller"]
        assert "0/2 replicas ready" in rows["source-controller"]
    finally:
        for name, *_ in leases:
            await client.delete(LEASES, name, UI_RUNTIME_NAMESPACE)
        await client.delete(DEPLOYMENTS, "source-controller", UI_RUNTIME_NAMESPACE)
