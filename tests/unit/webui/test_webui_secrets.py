"""No Secret data ever reaches a response: not from values, inventories, references or the
live stream. The UI never reads a Secret; this crawls every page to hold it to that."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid

import aiohttp
from fixtures.web_ui import RunningUI, create_flux, ready_condition
from gotk_runtime.kube import CONFIG_MAPS, SECRETS


async def _sse_first_message(ui: RunningUI, path: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{ui.url}/live", params={"path": path, "v": "-1"}) as response,
    ):
        assert response.status == 200
        received = ""
        while "event: main" not in received:
            received += (await asyncio.wait_for(response.content.readline(), 10)).decode()
        while not received.endswith("\n\n"):
            received += (await asyncio.wait_for(response.content.readline(), 10)).decode()
        return received


async def test_no_secret_data_in_any_page_or_stream(web_ui: RunningUI, ui_namespace: str) -> None:
    namespace = ui_namespace
    secret_value = f"s3cr3t-{uuid.uuid4().hex}"
    encoded = base64.b64encode(secret_value.encode()).decode()
    client = web_ui.client
    await client.create(
        SECRETS,
        {
            "metadata": {"name": "app-secrets", "namespace": namespace},
            "stringData": {
                "values.yaml": f"password: {secret_value}\n",
                "token": secret_value,
                "username": secret_value,
            },
        },
    )
    await client.create(
        CONFIG_MAPS,
        {
            "metadata": {"name": "app-values", "namespace": namespace},
            "data": {"values.yaml": "replicas: 3\nimage:\n  tag: v1\n"},
        },
    )
    await create_flux(
        client, "GitRepository", namespace, "repo",
        {"url": "https://git.example.com/a.git", "interval": "1m",
         "secretRef": {"name": "app-secrets"}},
        conditions=[ready_condition("True", "Succeeded", "stored artifact")],
    )  # fmt: skip
    await create_flux(
        client, "HelmRepository", namespace, "charts",
        {"url": "https://charts.example.com", "interval": "1h",
         "secretRef": {"name": "app-secrets"}},
        conditions=[ready_condition("True", "Succeeded", "stored index")],
    )  # fmt: skip
    await create_flux(
        client, "Kustomization", namespace, "apps",
        {"interval": "5m", "prune": True, "sourceRef": {"kind": "GitRepository", "name": "repo"},
         "decryption": {"provider": "sops", "secretRef": {"name": "app-secrets"}},
         "postBuild": {"substituteFrom": [{"kind": "Secret", "name": "app-secrets"}]}},
        {"inventory": {"entries": [
            {"id": f"{namespace}_app-secrets__Secret", "v": "v1"},
            {"id": f"{namespace}_app-values__ConfigMap", "v": "v1"},
        ]}},
        conditions=[ready_condition("True", "ReconciliationSucceeded", "Applied")],
    )  # fmt: skip
    await create_flux(
        client, "HelmRelease", namespace, "web",
        {"interval": "5m",
         "chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository",
                                                          "name": "charts"}}},
         "valuesFrom": [
             {"kind": "ConfigMap", "name": "app-values"},
             {"kind": "Secret", "name": "app-secrets"},
             {"kind": "Secret", "name": "app-secrets", "valuesKey": "token",
              "targetPath": "auth.token"},
         ],
         "values": {"service": {"port": 8080}}},
        {"history": [{"digest": "sha256:ab", "name": "web", "namespace": namespace,
                      "version": 1, "status": "deployed", "chartName": "web",
                      "chartVersion": "1.0.0", "configDigest": "sha256:cd",
                      "firstDeployed": "2026-01-02T03:04:05Z",
                      "lastDeployed": "2026-01-02T03:04:05Z"}],
         "inventory": {"entries": [{"id": f"{namespace}_app-secrets__Secret", "v": "v1"}]}},
        conditions=[ready_condition("True", "InstallSucceeded", "Helm install succeeded")],
    )  # fmt: skip
    objects = [
        f"/gitrepositories/{namespace}/repo",
        f"/helmrepositories/{namespace}/charts",
        f"/kustomizations/{namespace}/apps",
        f"/helmreleases/{namespace}/web",
    ]
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        status, body, _ = await web_ui.get(f"/helmreleases/{namespace}/web")
        if "auth:" in body or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    # The values section shows ConfigMap values and the masked Secret value, never the secret.
    assert "replicas: 3" in body
    assert re.search(r"token: (&#x27;)?••••••", body), body
    assert "the UI does not read Secrets" in body
    responses = []
    for path in [
        "/",
        "/graph",
        f"/graph?namespace={namespace}",
        "/search",
        f"/search?namespace={namespace}",
        *objects,
        "/assets/app.js",
    ]:
        status, body, _ = await web_ui.get(path)
        assert status == 200, path
        responses.append(body)
    for path in objects:
        responses.append(await _sse_first_message(web_ui, path))
    for body in responses:
        assert secret_value not in body
        assert encoded not in body
