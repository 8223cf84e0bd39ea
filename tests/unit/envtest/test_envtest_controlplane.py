"""The local control plane is a real Kubernetes API: objects are stored, watched and deleted,
and in the `full` profile Deployments roll out on the kwok node and garbage collection runs."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from gotk_envtest import ControlPlane


def _crd_names_on_disk() -> set[str]:
    crd_dir = Path(__file__).resolve().parents[3] / "config" / "crds"
    return {yaml.safe_load(p.read_text())["metadata"]["name"] for p in crd_dir.glob("*.yaml")}


def _configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def _watch_events(plane: ControlPlane, path: str, count: int) -> list[dict[str, Any]]:
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    context.load_cert_chain(str(plane.cert_file), str(plane.key_file))
    events: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
        session.get(plane.server + path, timeout=aiohttp.ClientTimeout(total=30)) as response,
    ):
        assert response.status == 200
        async for line in response.content:
            events.append(json.loads(line))
            if len(events) == count:
                return events
    return events


async def _until(check: Any, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def _create_read_watch_delete(plane: ControlPlane, namespace: str) -> None:
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    status, created = await plane.request("POST", base, _configmap("demo", {"a": "1"}))
    assert status == 201, created
    rv = created["metadata"]["resourceVersion"]
    # Only this object: in the full profile the controller-manager adds kube-root-ca.crt.
    query = f"watch=1&resourceVersion={rv}&fieldSelector=metadata.name%3Ddemo"
    watcher = asyncio.create_task(_watch_events(plane, f"{base}?{query}", 2))
    status, read = await plane.request("GET", f"{base}/demo")
    assert (status, read["data"]) == (200, {"a": "1"})
    status, _ = await plane.request(
        "PATCH", f"{base}/demo", {"data": {"a": "2"}}, content_type="application/merge-patch+json"
    )
    assert status == 200
    status, _ = await plane.request("DELETE", f"{base}/demo")
    assert status == 200
    events = await asyncio.wait_for(watcher, 30)
    assert [(e["type"], e["object"]["data"]["a"]) for e in events] == [
        ("MODIFIED", "2"),
        ("DELETED", "2"),
    ]
    status, _ = await plane.request("GET", f"{base}/demo")
    assert status == 404


async def test_minimal_profile_stores_watches_and_deletes_objects(
    cluster: ControlPlane, namespace: str
) -> None:
    await _create_read_watch_delete(cluster, namespace)


async def test_minimal_profile_reports_a_real_kubernetes_version(cluster: ControlPlane) -> None:
    status, version = await cluster.request("GET", "/version")
    assert status == 200
    assert version["gitVersion"].startswith("v1.")
    assert version["major"] == "1"


async def test_service_range_holds_more_than_a_slash_24(
    cluster: ControlPlane, namespace: str
) -> None:
    """Flux's benchmark makes one ClusterIP Service per app: 1,000 need more than a /24."""
    base = f"/api/v1/namespaces/{namespace}/services"

    async def create(i: int) -> str:
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"svc{i}"},
            "spec": {"ports": [{"port": 80}]},
        }
        status, body = await cluster.request("POST", base, service)
        assert status == 201, body
        return str(body["spec"]["clusterIP"])

    ips: list[str] = []
    for batch in range(0, 300, 50):
        ips += await asyncio.gather(*(create(i) for i in range(batch, batch + 50)))
    assert len(set(ips)) == 300


async def test_minimal_profile_installs_gotk_crds(cluster: ControlPlane) -> None:
    status, crds = await cluster.request(
        "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    )
    assert status == 200
    names = {item["metadata"]["name"] for item in crds["items"]}
    assert _crd_names_on_disk() <= names


async def test_full_profile_stores_watches_and_deletes_objects(
    full_cluster: ControlPlane, full_namespace: str
) -> None:
    await _create_read_watch_delete(full_cluster, full_namespace)


async def test_full_profile_rolls_out_a_deployment_and_collects_its_garbage(
    full_cluster: ControlPlane, full_namespace: str
) -> None:
    ns = full_namespace
    await _until(lambda: _ok(full_cluster, f"/api/v1/namespaces/{ns}/serviceaccounts/default"))
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    status, body = await full_cluster.request("POST", path, deployment)
    assert status == 201, body

    async def available() -> bool:
        _, current = await full_cluster.request("GET", f"{path}/web")
        conditions = current.get("status", {}).get("conditions", [])
        return current["status"].get("readyReplicas") == 2 and any(
            c["type"] == "Available" and c["status"] == "True" for c in conditions
        )

    await _until(available, timeout=90)
    status, _ = await full_cluster.request("DELETE", f"{path}/web?propagationPolicy=Background")
    assert status == 200

    async def pods_gone() -> bool:
        _, pods = await full_cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
        _, sets = await full_cluster.request("GET", f"/apis/apps/v1/namespaces/{ns}/replicasets")
        return not pods["items"] and not sets["items"]

    await _until(pods_gone, timeout=90)


async def test_full_profile_finalizes_deleted_namespaces(full_cluster: ControlPlane) -> None:
    status, _ = await full_cluster.request(
        "POST", "/api/v1/namespaces", {"metadata": {"name": "to-be-finalized"}}
    )
    assert status == 201
    status, _ = await full_cluster.request(
        "POST", "/api/v1/namespaces/to-be-finalized/configmaps", _configmap("x", {})
    )
    assert status == 201
    await full_cluster.request("DELETE", "/api/v1/namespaces/to-be-finalized")

    async def gone() -> bool:
        status, _ = await full_cluster.request("GET", "/api/v1/namespaces/to-be-finalized")
        return status == 404

    await _until(gone, timeout=90)


async def _ok(plane: ControlPlane, path: str) -> bool:
    status, _ = await plane.request("GET", path)
    return status == 200


def _pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


async def test_stop_leaves_no_process_behind(tmp_path: Path) -> None:
    async with ControlPlane.started("minimal", tmp_path) as plane:
        pids = list(plane.pids.values())
        assert len(pids) == 2
    assert _pids_alive(pids) == []


async def test_cli_up_prints_kubeconfig_and_down_stops_everything(tmp_path: Path) -> None:
    workdir = tmp_path / "envtest"
    up = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "gotk_envtest",
            "up",
            "--dir",
            str(workdir),
            "--crds",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    kubeconfig = workdir.resolve() / "cluster" / "kubeconfig"
    assert up.stdout.strip() == f"export KUBECONFIG={kubeconfig}"
    server_pid = int((workdir / "pid").read_text())
    down = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gotk_envtest", "down", "--dir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert down.returncode == 0, down.stdout + down.stderr
    assert _pids_alive([server_pid]) == []
    leftovers = subprocess.run(  # noqa: ASYNC221 - pgrep returns at once
        ["pgrep", "-f", str(workdir.resolve())], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""
