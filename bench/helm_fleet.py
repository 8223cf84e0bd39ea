"""N HelmReleases (default 20) of one 4-object chart — ServiceAccount, headless Service,
Deployment with 0 replicas, Ingress — all in one namespace, from one HTTP HelmRepository,
each impersonating a ServiceAccount bound to `admin`, tests off (Flux's HelmRelease scale
scenario).

Reports, for real source-controller and helm-controller processes (`--concurrent`, default
10) against a real `full` control plane (controller-manager, so Deployments get a status
and `--wait=watcher` completes):
- seconds from the first create until every HelmRelease is Ready, and releases per second;
- a baseline measured in the same run, before the controllers start: a sequential
  `helm upgrade --install` loop over the same N releases (same chart archive, same wait and
  server-side flags, admin credentials, another namespace) — what a shell script would do;
  the ratio of the two;
- each controller's CPU seconds (its helm children included once reaped) and peak RSS
  (the Python process; helm processes come and go), and the API server + etcd CPU.

The Services are headless: the cluster's service range has only ~250 addresses.

usage: uv run python bench/helm_fleet.py [--n 20] [--concurrent 10] [--progress]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from gotk_envtest import ControlPlane, free_port
from gotk_runtime.tools import find_tool
from harness import (
    bounded,
    check_alive,
    count_ready,
    create,
    error_lines,
    plane_cpu,
    start_controller,
)
from procstats import cpu_seconds, peak_rss_mib

Obj = dict[str, Any]
CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NAMESPACE = "fleet"
BASELINE_NAMESPACE = "baseline"
SRC = "/apis/source.toolkit.fluxcd.io/v1"
HR = "/apis/helm.toolkit.fluxcd.io/v2"
IN_FLIGHT = 16
WAIT_FLAGS = ("--wait=watcher", "--wait-for-jobs", "--server-side=true", "--timeout=5m0s")

TEMPLATES = {
    "serviceaccount.yaml": """apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
""",
    "service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  clusterIP: None
  selector: {app: {{ .Release.Name }}}
  ports: [{name: http, port: 80, targetPort: 8080}]
""",
    "deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      serviceAccountName: {{ .Release.Name }}
      containers:
      - name: app
        image: "{{ .Values.image }}"
        ports: [{containerPort: 8080}]
""",
    "ingress.yaml": """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
  - host: {{ .Release.Name }}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: {{ .Release.Name }}, port: {number: 80}}}
""",
}


def _helm_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "PATH": "/usr/bin:/bin",
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def _package_chart(root: Path, url: str) -> Path:
    """Write, package and index the chart; return the served directory's archive."""
    chart = root / "src" / "app"
    (chart / "templates").mkdir(parents=True)
    meta = {"apiVersion": "v2", "name": "app", "version": "1.0.0", "appVersion": "1.0"}
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    (chart / "values.yaml").write_text(yaml.safe_dump({"replicas": 0, "image": "nginx:1.27"}))
    for name, text in TEMPLATES.items():
        (chart / "templates" / name).write_text(text)
    served = root / "charts"
    served.mkdir()
    helm, env = str(find_tool("helm")), _helm_env(root / ".helm")
    subprocess.run([helm, "package", str(chart), "-d", str(served)], env=env, check=True)
    subprocess.run([helm, "repo", "index", str(served), "--url", url], env=env, check=True)
    return served / "app-1.0.0.tgz"


async def _serve(directory: Path, port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_static("/charts", directory)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _setup_tenant(plane: ControlPlane, repo_url: str) -> None:
    for name in (NAMESPACE, BASELINE_NAMESPACE):
        await create(plane, "/api/v1/namespaces", {"metadata": {"name": name}})
    await create(
        plane,
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"}},
    )
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "deployer-admin"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": NAMESPACE}],
    }
    await create(
        plane, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}/rolebindings", binding
    )
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "charts"},
        "spec": {"url": repo_url, "interval": "1h"},
    }
    await create(plane, f"{SRC}/namespaces/{NAMESPACE}/helmrepositories", repository)


async def _wait_for_admin_role(plane: ControlPlane) -> None:
    """`admin` is aggregated by the controller-manager; wait until it has rules."""
    for _ in range(300):
        status, body = await plane.request(
            "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin"
        )
        if status == 200 and body.get("rules"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the admin ClusterRole never got its aggregated rules")


def _baseline(plane: ControlPlane, archive: Path, n: int, home: Path) -> float:
    helm, env = str(find_tool("helm")), _helm_env(home, plane.kubeconfig)
    started = time.perf_counter()
    for index in range(n):
        subprocess.run(
            [
                helm,
                "upgrade",
                "--install",
                f"app-{index}",
                str(archive),
                f"--namespace={BASELINE_NAMESPACE}",
                *WAIT_FLAGS,
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.perf_counter() - started


def _release(index: int) -> Obj:
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": f"app-{index}"},
        "spec": {
            "interval": "1h",
            "serviceAccountName": "deployer",
            "chart": {
                "spec": {
                    "chart": "app",
                    "version": "1.0.0",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                }
            },
        },
    }


@dataclass
class FleetResult:
    all_ready: float
    source_cpu: float
    source_rss: float
    helm_cpu: float
    helm_rss: float
    plane_cpu: float
    source_errors: int
    helm_errors: int


async def _run_fleet(
    plane: ControlPlane, n: int, storage: Path, concurrent: int, progress: bool
) -> FleetResult:
    addr = f"127.0.0.1:{free_port()}"
    source = start_controller(
        "source_controller",
        plane,
        concurrent,
        f"--storage-path={storage}",
        f"--storage-addr={addr}",
        f"--storage-adv-addr={addr}",
    )
    helm = start_controller("helm_controller", plane, concurrent)
    path = f"{HR}/namespaces/{NAMESPACE}/helmreleases"
    try:
        await asyncio.sleep(2.0)
        plane_before = plane_cpu(plane)
        started = time.perf_counter()
        await bounded((partial(create, plane, path, _release(i)) for i in range(n)), IN_FLIGHT)
        while True:
            check_alive(source, "source_controller", plane)
            check_alive(helm, "helm_controller", plane)
            _sample((source, helm))
            ready = await count_ready(plane, path)
            if progress:
                elapsed = time.perf_counter() - started
                print(f"{elapsed:7.1f} s: HelmReleases Ready {ready}/{n}", file=sys.stderr)
            if ready == n:
                break
            await asyncio.sleep(1.0)
        all_ready = time.perf_counter() - started
        plane_used = plane_cpu(plane) - plane_before
        _sample((source, helm))
    finally:
        for process in (helm, source):
            process.terminate()
        for process in (helm, source):
            process.wait(timeout=120)
    # Sampled while alive: a process's CPU includes its helm children once reaped.
    return FleetResult(
        all_ready=all_ready,
        source_cpu=_exited_cpu(source),
        source_rss=_exited_rss(source),
        helm_cpu=_exited_cpu(helm),
        helm_rss=_exited_rss(helm),
        plane_cpu=plane_used,
        source_errors=error_lines(plane, "source_controller"),
        helm_errors=error_lines(plane, "helm_controller"),
    )


_USAGE: dict[int, tuple[float, float]] = {}


def _exited_cpu(process: subprocess.Popen[bytes]) -> float:
    return _USAGE.get(process.pid, (0.0, 0.0))[0]


def _exited_rss(process: subprocess.Popen[bytes]) -> float:
    return _USAGE.get(process.pid, (0.0, 0.0))[1]


def _sample(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            _USAGE[process.pid] = (cpu_seconds(process.pid), peak_rss_mib(process.pid))


async def main(n: int, concurrent: int, progress: bool) -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-helm-fleet-") as tmp:
        root = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}/charts"
        archive = await asyncio.to_thread(_package_chart, root / "repo", url)
        runner = await _serve(root / "repo" / "charts", port)
        storage = root / "storage"
        storage.mkdir()
        try:
            async with ControlPlane.started("full", root / "cluster", [CRD_DIR]) as plane:
                await _wait_for_admin_role(plane)
                await _setup_tenant(plane, url)
                plane_before = plane_cpu(plane)
                baseline = await asyncio.to_thread(_baseline, plane, archive, n, root / ".helm")
                baseline_plane_cpu = plane_cpu(plane) - plane_before
                fleet = await _run_fleet(plane, n, storage, concurrent, progress)
        finally:
            await runner.cleanup()
    print(
        f"releases: {n}, 4 objects each, --concurrent={concurrent} (both controllers), "
        f"load average at start: {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':52} {'seconds':>8} {'releases/s':>11} {'apiserver+etcd CPU s':>21}")
    for label, seconds, cpu in (
        ("baseline: sequential helm upgrade --install", baseline, baseline_plane_cpu),
        ("controllers: all HelmReleases Ready", fleet.all_ready, fleet.plane_cpu),
    ):
        print(f"{label:52} {seconds:8.1f} {n / seconds:11.2f} {cpu:21.1f}")
    print(f"ratio (controllers / baseline): {fleet.all_ready / baseline:.2f}x")
    print(f"{'':22} {'CPU s':>7} {'peak RSS MiB':>13} {'error logs':>11}")
    for label, cpu, rss, errors in (
        ("source-controller", fleet.source_cpu, fleet.source_rss, fleet.source_errors),
        ("helm-controller", fleet.helm_cpu, fleet.helm_rss, fleet.helm_errors),
    ):
        print(f"{label:22} {cpu:7.1f} {rss:13.1f} {errors:11d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--progress", action="store_true", help="print Ready counts per poll")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrent, args.progress))
