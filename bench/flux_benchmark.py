"""Flux's own benchmark (fluxcd/flux-benchmark), the KS scenario, against gotk's services.

N OCIRepositories, all on the same small artifact (one YAML: a ServiceAccount, a ClusterIP
Service, a Deployment with `replicas: ${PODS:=0}` and CPU `${MCPU}`, an Ingress), interval
60m, `insecure: true`; N Kustomizations, one per source, `path: ./`, interval 60m,
`retryInterval: 2m`, `timeout: 1m`, `prune`, `wait`, `targetNamespace`, impersonating a
ServiceAccount bound to `admin`, `postBuild.substitute` `INDEX=<i>app`, `PODS=0`,
`MCPU=1m`. source-controller `--concurrent 10`, kustomize-controller `--concurrent 20`.

Runs on the `full` control plane (the controller-manager rolls Deployments out, so `wait`
means what it means in a cluster) and reports the seconds until every OCIRepository and
every Kustomization is Ready, each controller's CPU seconds and peak RSS, and the API
server's and etcd's CPU during the run with their share of all the CPU used. As a baseline
in the same run, after the controllers' run (so its Deployments do not load the
controller-manager during it): the same 4N objects, renamed, applied by one server-side
apply PATCH each, sent one after another from this process — the least any applier must
do.

usage: uv run python bench/flux_benchmark.py [--n 100] [--progress]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.oci_registry import Registry
from gotk_envtest import ControlPlane, free_port
from harness import (
    Obj,
    bounded,
    check_alive,
    count_ready,
    create,
    error_lines,
    plane_cpu,
    start_controller,
    stop_all,
)
from procstats import cpu_seconds, peak_rss_mib

CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NAMESPACE = "flux-bench"
TARGET = "flux-bench-apps"
ACCOUNT = "flux-bench"
REPO = "flux-bench/app"
SRC = "/apis/source.toolkit.fluxcd.io/v1"
KS = "/apis/kustomize.toolkit.fluxcd.io/v1"
APPLY = "application/apply-patch+yaml"

APP_YAML = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-${INDEX}
---
apiVersion: v1
kind: Service
metadata:
  name: app-${INDEX}
spec:
  type: ClusterIP
  selector:
    app: app-${INDEX}
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${INDEX}
spec:
  replicas: ${PODS:=0}
  selector:
    matchLabels:
      app: app-${INDEX}
  template:
    metadata:
      labels:
        app: app-${INDEX}
    spec:
      serviceAccountName: app-${INDEX}
      containers:
        - name: app
          image: ghcr.io/stefanprodan/podinfo:6.7.1
          resources:
            requests:
              cpu: ${MCPU}
              memory: 16Mi
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-${INDEX}
spec:
  rules:
    - host: app-${INDEX}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: app-${INDEX}
                port:
                  number: 80
"""

_PATHS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}",
}


def _rendered(index: str) -> list[Obj]:
    """The app's four objects with the variables substituted, for the baseline."""
    text = APP_YAML.replace("${INDEX}", index).replace("${PODS:=0}", "0")
    return [doc for doc in yaml.safe_load_all(text.replace("${MCPU}", "1m")) if doc]


async def _baseline(plane: ControlPlane, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        for obj in _rendered(f"base{i}app"):
            path = _PATHS[obj["kind"]].format(ns=TARGET, name=obj["metadata"]["name"])
            status, reply = await plane.request(
                "PATCH", f"{path}?fieldManager=bench&force=true", obj, content_type=APPLY
            )
            assert status in (200, 201), reply
    return time.perf_counter() - started


async def _tenancy(plane: ControlPlane) -> None:
    """The namespaces, and the ServiceAccount the Kustomizations impersonate, bound to admin."""
    for name in (NAMESPACE, TARGET):
        await create(plane, "/api/v1/namespaces", {"metadata": {"name": name}})
    await create(
        plane, f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", {"metadata": {"name": ACCOUNT}}
    )
    for namespace in (NAMESPACE, TARGET):
        await create(
            plane,
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
            {
                "metadata": {"name": f"{ACCOUNT}-admin"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "admin",
                },
                "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}],
            },
        )


def _pair(index: int, url: str) -> tuple[Obj, Obj]:
    name = f"app-{index}"
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name},
        "spec": {"url": url, "ref": {"tag": "latest"}, "interval": "60m", "insecure": True},
    }
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {
            "interval": "60m",
            "retryInterval": "2m",
            "timeout": "1m",
            "path": "./",
            "prune": True,
            "wait": True,
            "targetNamespace": TARGET,
            "serviceAccountName": ACCOUNT,
            "sourceRef": {"kind": "OCIRepository", "name": name},
            "postBuild": {"substitute": {"INDEX": f"{index}app", "PODS": "0", "MCPU": "1m"}},
        },
    }
    return source, kustomization


@dataclass
class RunResult:
    sources_ready: float
    all_ready: float
    source_cpu: float
    source_rss: float
    kustomize_cpu: float
    kustomize_rss: float
    apiserver_cpu: float
    etcd_cpu: float
    other_plane_cpu: float
    source_errors: int
    kustomize_errors: int


async def _run(
    plane: ControlPlane,
    registry: Registry,
    n: int,
    storage: Path,
    progress: bool,
    deadline: float,
    flags: list[str],
) -> RunResult:
    addr = f"127.0.0.1:{free_port()}"
    source = start_controller(
        "source_controller",
        plane,
        10,
        f"--storage-path={storage}",
        f"--storage-addr={addr}",
        f"--storage-adv-addr={addr}",
        *flags,
    )
    kustomize = start_controller("kustomize_controller", plane, 20, *flags)
    poll = max(1.0, n / 500)
    sources_ready = 0.0
    try:
        await asyncio.sleep(2.0)  # both have listed and started watching
        before = {name: plane_cpu(plane, name) for name in ("kube-apiserver", "etcd")}
        plane_before = plane_cpu(plane)
        started = time.perf_counter()
        sources = f"{SRC}/namespaces/{NAMESPACE}/ocirepositories"
        kustomizations = f"{KS}/namespaces/{NAMESPACE}/kustomizations"
        pairs = [_pair(i, registry.url(REPO)) for i in range(n)]
        await bounded(
            call
            for src, ks in pairs
            for call in (
                partial(create, plane, sources, src),
                partial(create, plane, kustomizations, ks),
            )
        )
        while True:
            check_alive(source, "source_controller", plane)
            check_alive(kustomize, "kustomize_controller", plane)
            ready_sources = n if sources_ready else await count_ready(plane, sources)
            if not sources_ready and ready_sources == n:
                sources_ready = time.perf_counter() - started
            ready = await count_ready(plane, kustomizations)
            if progress:
                print(
                    f"{time.perf_counter() - started:7.1f} s: OCIRepositories Ready "
                    f"{ready_sources}/{n}, Kustomizations Ready {ready}/{n}",
                    file=sys.stderr,
                )
            if ready == n:
                break
            if time.perf_counter() - started > deadline:
                raise RuntimeError(f"only {ready}/{n} Kustomizations Ready after {deadline:g} s")
            await asyncio.sleep(poll)
        all_ready = time.perf_counter() - started
        apiserver = plane_cpu(plane, "kube-apiserver") - before["kube-apiserver"]
        etcd = plane_cpu(plane, "etcd") - before["etcd"]
        return RunResult(
            sources_ready=sources_ready or all_ready,
            all_ready=all_ready,
            source_cpu=cpu_seconds(source.pid),
            source_rss=peak_rss_mib(source.pid),
            kustomize_cpu=cpu_seconds(kustomize.pid),
            kustomize_rss=peak_rss_mib(kustomize.pid),
            apiserver_cpu=apiserver,
            etcd_cpu=etcd,
            other_plane_cpu=plane_cpu(plane) - plane_before - apiserver - etcd,
            source_errors=error_lines(plane, "source_controller"),
            kustomize_errors=error_lines(plane, "kustomize_controller"),
        )
    finally:
        stop_all(kustomize, source)


async def main(n: int, progress: bool, deadline: float, flags: list[str]) -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-flux-") as tmp:
        tmp_path = Path(tmp)
        registry = Registry(tmp_path / "registry")
        await registry.start()
        storage = tmp_path / "storage"
        storage.mkdir()
        try:
            await registry.push(REPO, "latest", {"app.yaml": APP_YAML})
            async with ControlPlane.started("full", tmp_path / "cluster", [CRD_DIR]) as plane:
                await _tenancy(plane)
                result = await _run(plane, registry, n, storage, progress, deadline, flags)
                baseline = await _baseline(plane, n)
        finally:
            await registry.stop()
    total_cpu = (
        result.source_cpu
        + result.kustomize_cpu
        + result.apiserver_cpu
        + result.etcd_cpu
        + result.other_plane_cpu
    )
    print(
        f"KS scenario: N={n}, source-controller --concurrent=10, kustomize-controller "
        f"--concurrent=20, load average at start: {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"baseline (sequential SSA PATCH of the same {4 * n} objects): {baseline:.1f} s")
    print(f"all OCIRepositories Ready: {result.sources_ready:.1f} s")
    print(
        f"all Kustomizations Ready:  {result.all_ready:.1f} s "
        f"({result.all_ready / baseline:.2f}x the baseline)"
    )
    print(f"{'':22} {'CPU s':>7} {'peak RSS MiB':>13} {'error logs':>11}")
    for label, cpu, rss, errors in (
        ("source-controller", result.source_cpu, result.source_rss, result.source_errors),
        (
            "kustomize-controller",
            result.kustomize_cpu,
            result.kustomize_rss,
            result.kustomize_errors,
        ),
    ):
        print(f"{label:22} {cpu:7.1f} {rss:13.1f} {errors:11d}")
    for label, cpu in (
        ("kube-apiserver", result.apiserver_cpu),
        ("etcd", result.etcd_cpu),
        ("controller-manager etc.", result.other_plane_cpu),
    ):
        print(f"{label:22} {cpu:7.1f}   ({cpu / total_cpu:.0%} of all CPU used)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--progress", action="store_true", help="print Ready counts per poll")
    parser.add_argument("--deadline", type=float, default=1800, help="give up after seconds")
    parser.add_argument(
        "--flag", action="append", default=[], help="an extra flag for both controllers"
    )
    args = parser.parse_args()
    asyncio.run(main(args.n, args.progress, args.deadline, args.flag))
