"""Regenerate the web UI screenshots in docs/: a small demo fleet (one failing chain, a
HelmRelease, leases and events) in a throw-away control plane, photographed in Chromium.

usage: uv run python tools/web_ui_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.browser import CHROMIUM_ARGS, chromium_path
from fixtures.web_ui import create_flux, serve_ui
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient
from gotk_runtime.kube import EVENTS, LEASES
from playwright.async_api import async_playwright

CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NS = "flux-system"


def _stamp(minutes_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready(ok: bool, reason: str, message: str, minutes_ago: float) -> list[dict[str, Any]]:
    return [
        {"type": "Ready", "status": "True" if ok else "False", "reason": reason,
         "message": message, "lastTransitionTime": _stamp(minutes_ago)}
    ]  # fmt: skip


async def _demo(client: KubeClient) -> None:
    art = {"path": "a.tar.gz", "url": "http://source-controller/a.tar.gz",
           "digest": "sha256:" + "1" * 64, "lastUpdateTime": _stamp(3)}  # fmt: skip
    await create_flux(client, "GitRepository", NS, "platform",
                      {"url": "https://git.example.com/platform.git", "interval": "1m",
                       "ref": {"branch": "main"}},
                      {"artifact": {**art, "revision": "main@sha1:5f3c2a9"}},
                      conditions=_ready(True, "Succeeded", "stored artifact for revision "
                                        "'main@sha1:5f3c2a9'", 42))  # fmt: skip
    await create_flux(client, "GitRepository", NS, "apps",
                      {"url": "https://git.example.com/apps.git", "interval": "1m",
                       "ref": {"branch": "release-2.4"}},
                      conditions=_ready(False, "GitOperationFailed",
                                        "couldn't find remote ref 'refs/heads/release-2.4'",
                                        6))  # fmt: skip
    inventory = {
        "entries": [
            {"id": f"{NS}_{n}_{g}_{k}", "v": v}
            for n, g, k, v in (
                ("monitoring", "", "Namespace", "v1"),
                ("grafana", "apps", "Deployment", "v1"),
                ("grafana", "", "Service", "v1"),
                ("grafana-config", "", "ConfigMap", "v1"),
            )
        ]
    }
    inventory["entries"][0]["id"] = "_monitoring__Namespace"  # fmt: skip
    await create_flux(client, "Kustomization", NS, "infrastructure",
                      {"interval": "10m", "path": "./infrastructure", "prune": True,
                       "sourceRef": {"kind": "GitRepository", "name": "platform"}},
                      {"lastAppliedRevision": "main@sha1:5f3c2a9", "inventory": inventory},
                      conditions=_ready(True, "ReconciliationSucceeded",
                                        "Applied revision: main@sha1:5f3c2a9", 40))  # fmt: skip
    await create_flux(client, "Kustomization", NS, "apps",
                      {"interval": "10m", "path": "./apps/production", "prune": True,
                       "dependsOn": [{"name": "infrastructure"}],
                       "sourceRef": {"kind": "GitRepository", "name": "apps"}},
                      {"lastAppliedRevision": "release-2.4@sha1:9e1d07b"},
                      conditions=_ready(False, "ArtifactFailed",
                                        "Source artifact not found, retrying in 30s",
                                        5))  # fmt: skip
    await create_flux(client, "Kustomization", NS, "tenants",
                      {"interval": "10m", "path": "./tenants", "prune": True, "suspend": True,
                       "sourceRef": {"kind": "GitRepository", "name": "platform"}},
                      conditions=_ready(True, "ReconciliationSucceeded",
                                        "Applied revision: main@sha1:5f3c2a9", 300))  # fmt: skip
    await create_flux(client, "HelmRepository", NS, "bitnami",
                      {"url": "https://charts.example.com/bitnami", "interval": "1h"},
                      {"artifact": {**art, "revision": "sha256:77ab"}},
                      conditions=_ready(True, "Succeeded", "stored artifact", 55))  # fmt: skip
    await create_flux(client, "HelmChart", NS, f"{NS}-redis",
                      {"chart": "redis", "version": "19.x", "interval": "10m",
                       "sourceRef": {"kind": "HelmRepository", "name": "bitnami"}},
                      {"artifact": {**art, "revision": "19.6.2"}},
                      conditions=_ready(True, "ChartPullSucceeded",
                                        "pulled 'redis' chart with version '19.6.2'",
                                        50))  # fmt: skip
    await create_flux(client, "HelmRelease", NS, "redis",
                      {"interval": "10m", "dependsOn": [{"name": "cache-operator"}],
                       "chart": {"spec": {"chart": "redis", "version": "19.x",
                                          "sourceRef": {"kind": "HelmRepository",
                                                        "name": "bitnami"}}},
                       "values": {"architecture": "standalone", "auth": {"enabled": True}}},
                      {"helmChart": f"{NS}/{NS}-redis", "history": [
                          {"digest": "sha256:aa", "name": "redis", "namespace": NS, "version": 2,
                           "status": "deployed", "chartName": "redis", "chartVersion": "19.6.2",
                           "appVersion": "7.2.5", "action": "upgrade", "configDigest": "sha256:c1",
                           "firstDeployed": _stamp(900), "lastDeployed": _stamp(48),
                           "testHooks": {}},
                          {"digest": "sha256:ab", "name": "redis", "namespace": NS, "version": 1,
                           "status": "superseded", "chartName": "redis",
                           "chartVersion": "19.5.0", "appVersion": "7.2.4", "action": "install",
                           "configDigest": "sha256:c0", "firstDeployed": _stamp(900),
                           "lastDeployed": _stamp(900)}]},
                      conditions=_ready(False, "DependencyNotReady",
                                        "dependency 'flux-system/cache-operator' is not ready",
                                        2))  # fmt: skip
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for service in ("source-controller", "kustomize-controller"):
        await client.create(LEASES, {"metadata": {"name": f"{service}-leader-election",
                                                  "namespace": NS},
                                     "spec": {"holderIdentity": f"{service}-7d9f8_1c2e",
                                              "leaseDurationSeconds": 3600,
                                              "renewTime": now, "acquireTime": now}})  # fmt: skip
    events = [
        ("GitRepository", "apps", "Warning", "GitOperationFailed",
         "couldn't find remote ref 'refs/heads/release-2.4'", 6, "source-controller"),
        ("Kustomization", "apps", "Warning", "ArtifactFailed",
         "Source artifact not found, retrying in 30s", 5, "kustomize-controller"),
        ("Kustomization", "infrastructure", "Normal", "ReconciliationSucceeded",
         "Reconciliation finished in 1.4s, next run in 10m0s", 40, "kustomize-controller"),
        ("GitRepository", "platform", "Normal", "NewArtifact",
         "stored artifact for commit 'Bump grafana to 11.1'", 42, "source-controller"),
    ]  # fmt: skip
    for index, (kind, name, type_, reason, message, ago, controller) in enumerate(events):
        group = "source.toolkit.fluxcd.io/v1" if kind == "GitRepository" else (
            "kustomize.toolkit.fluxcd.io/v1")  # fmt: skip
        await client.create(EVENTS, {
            "metadata": {"name": f"{name}.{index}", "namespace": NS},
            "involvedObject": {"apiVersion": group, "kind": kind, "name": name, "namespace": NS},
            "type": type_, "reason": reason, "message": message,
            "lastTimestamp": _stamp(ago), "firstTimestamp": _stamp(ago), "count": 1,
            "source": {"component": controller}, "reportingComponent": controller,
        })  # fmt: skip


async def main(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="webui-shots-") as tmp:
        async with ControlPlane.started("minimal", Path(tmp), [CRD_DIR]) as plane:
            await plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
            async with serve_ui(str(plane.kubeconfig), runtime_namespace=NS) as ui:
                await _demo(ui.client)
                await asyncio.sleep(1.5)
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=chromium_path(), args=CHROMIUM_ARGS
                    )
                    shots = [
                        ("web-ui-overview.png", "/", "light", 1280),
                        ("web-ui-object.png", f"/kustomizations/{NS}/apps", "light", 1280),
                        ("web-ui-graph-dark.png", f"/graph?namespace={NS}", "dark", 1100),
                        ("web-ui-phone-dark.png", "/", "dark", 390),
                    ]
                    for name, path, scheme, width in shots:
                        context = await browser.new_context(
                            viewport={"width": width, "height": 900}, color_scheme=scheme
                        )
                        page = await context.new_page()
                        await page.goto(ui.url + path)
                        await page.wait_for_timeout(500)
                        await page.screenshot(path=str(out / name), full_page=True)
                        await context.close()
                        print(out / name)
                    await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(out))
