"""N GitRepository + Kustomization pairs (default 100), all created at once, each applying
five objects (three ConfigMaps, a Secret, a headless Service) into its own namespace through
`spec.targetNamespace`.

Reports, for real source-controller and kustomize-controller processes against a real
control plane:
- seconds from the first create until every Kustomization is Ready (and until every
  GitRepository is), and objects applied per second;
- the same N x 5 objects applied by a baseline measured in the same run, before the
  controllers start: one server-side apply PATCH per object, sent one after another from
  this process (no build, no diff, no inventory, no status) — the least any applier must do;
  the ratio of the two;
- each controller's CPU seconds and peak RSS, and the API server + etcd CPU in each phase.

All 2N objects are created at once (source and Kustomization interleaved, 16 requests in
flight); Ready is polled every second (every N/500 s above N=500). The Git remotes are copies
of one bare repository, served by `git http-backend` from this process. Namespaces are
created before either phase and not timed (the `minimal` cluster has no namespace
controller). The Services are headless: the cluster's service range has only ~250 addresses.

usage: uv run python bench/kustomize_fleet.py [--n 100] [--concurrent 4] [--interval 1h]
       [--progress]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_envtest import ControlPlane, free_port
from harness import (
    IN_FLIGHT,
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
NAMESPACE = "fleet"
SRC = "/apis/source.toolkit.fluxcd.io/v1"
KS = "/apis/kustomize.toolkit.fluxcd.io/v1"
APPLY = "application/apply-patch+yaml"


def _objects() -> list[Obj]:
    """The five objects every tenant gets, without a namespace."""

    def configmap(name: str, data: dict[str, str]) -> Obj:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}

    return [
        configmap("app-config", {"LOG_LEVEL": "info", "REPLICAS": "2"}),
        configmap("app-features", {f"feature-{i}": str(i % 2 == 0).lower() for i in range(8)}),
        configmap("app-routes", {"routes.yaml": "- path: /\n  backend: app\n" * 10}),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "app-credentials"},
            "type": "Opaque",
            "stringData": {"username": "app", "password": "not-a-real-password"},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "app"},
            "spec": {
                "clusterIP": "None",
                "selector": {"app": "app"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
            },
        },
    ]


def _plural(kind: str) -> str:
    return {"ConfigMap": "configmaps", "Secret": "secrets", "Service": "services"}[kind]


def _make_remotes(root: Path, n: int) -> list[str]:
    """N bare repositories with the same commit; returns their URL paths."""
    objects = _objects()
    files = {
        f"deploy/{o['kind'].lower()}-{o['metadata']['name']}.yaml": json.dumps(o) for o in objects
    }
    files["deploy/kustomization.yaml"] = json.dumps(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(name.removeprefix("deploy/") for name in files),
        }
    )
    template = GitRepo(root, "template")
    template.commit(files)
    paths = []
    for index in range(n):
        name = f"app-{index}.git"
        shutil.copytree(template.bare, root / name)
        paths.append(name)
    return paths


async def _create_namespaces(plane: ControlPlane, names: list[str]) -> None:
    await bounded(
        (partial(create, plane, "/api/v1/namespaces", {"metadata": {"name": n}}) for n in names),
        IN_FLIGHT,
    )


async def _baseline(plane: ControlPlane, namespaces: list[str]) -> float:
    objects = _objects()
    started = time.perf_counter()
    for namespace in namespaces:
        for obj in objects:
            body = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
            path = (
                f"/api/v1/namespaces/{namespace}/{_plural(obj['kind'])}/{obj['metadata']['name']}"
                "?fieldManager=bench&force=true"
            )
            status, reply = await plane.request("PATCH", path, body, content_type=APPLY)
            assert status in (200, 201), reply
    return time.perf_counter() - started


def _pair(index: int, url: str, interval: str) -> tuple[Obj, Obj]:
    name = f"app-{index}"
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name},
        "spec": {"url": url, "interval": interval, "ref": {"branch": "master"}},
    }
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {
            "interval": interval,
            "path": "./deploy",
            "prune": True,
            "targetNamespace": f"app-{index}",
            "sourceRef": {"kind": "GitRepository", "name": name},
        },
    }
    return source, kustomization


@dataclass
class FleetResult:
    sources_ready: float
    all_ready: float
    source_cpu: float
    source_rss: float
    kustomize_cpu: float
    kustomize_rss: float
    plane_cpu: float
    git_server_cpu: float
    source_errors: int
    kustomize_errors: int


async def _run_fleet(
    plane: ControlPlane,
    server: GitHTTPServer,
    paths: list[str],
    storage: Path,
    concurrent: int,
    interval: str,
    progress: bool,
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
    kustomize = start_controller("kustomize_controller", plane, concurrent)
    n = len(paths)
    poll = max(1.0, n / 500)
    sources_ready = 0.0
    try:
        await asyncio.sleep(2.0)  # both have listed and started watching
        plane_before, own_before = plane_cpu(plane), cpu_seconds(os.getpid())
        started = time.perf_counter()
        pairs = [_pair(i, server.url(path), interval) for i, path in enumerate(paths)]
        sources, kustomizations = (
            f"{SRC}/namespaces/{NAMESPACE}/gitrepositories",
            f"{KS}/namespaces/{NAMESPACE}/kustomizations",
        )
        creates = [
            call
            for src, ks in pairs
            for call in (
                partial(create, plane, sources, src),
                partial(create, plane, kustomizations, ks),
            )
        ]
        await bounded(creates, IN_FLIGHT)
        while True:
            check_alive(source, "source_controller", plane)
            check_alive(kustomize, "kustomize_controller", plane)
            ready_sources = n if sources_ready else await count_ready(plane, sources)
            if not sources_ready and ready_sources == n:
                sources_ready = time.perf_counter() - started
            ready = await count_ready(plane, kustomizations)
            if progress:
                elapsed = time.perf_counter() - started
                print(
                    f"{elapsed:7.1f} s: GitRepositories Ready {ready_sources}/{n}, "
                    f"Kustomizations Ready {ready}/{n}",
                    file=sys.stderr,
                )
            if ready == n:
                break
            await asyncio.sleep(poll)
        all_ready = time.perf_counter() - started
        return FleetResult(
            sources_ready=sources_ready or all_ready,
            all_ready=all_ready,
            source_cpu=cpu_seconds(source.pid),
            source_rss=peak_rss_mib(source.pid),
            kustomize_cpu=cpu_seconds(kustomize.pid),
            kustomize_rss=peak_rss_mib(kustomize.pid),
            plane_cpu=plane_cpu(plane) - plane_before,
            git_server_cpu=cpu_seconds(os.getpid()) - own_before,
            source_errors=error_lines(plane, "source_controller"),
            kustomize_errors=error_lines(plane, "kustomize_controller"),
        )
    finally:
        stop_all(kustomize, source)


async def main(n: int, concurrent: int, interval: str, progress: bool) -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        tmp_path = Path(tmp)
        paths = await asyncio.to_thread(_make_remotes, tmp_path / "remotes", n)
        server = GitHTTPServer(tmp_path / "remotes")
        await server.start()
        storage = tmp_path / "storage"
        storage.mkdir()
        try:
            async with ControlPlane.started("minimal", tmp_path / "cluster", [CRD_DIR]) as plane:
                baseline_ns = [f"base-{i}" for i in range(n)]
                fleet_ns = [f"app-{i}" for i in range(n)]
                await _create_namespaces(plane, [NAMESPACE, *baseline_ns, *fleet_ns])
                plane_before = plane_cpu(plane)
                baseline = await _baseline(plane, baseline_ns)
                baseline_plane_cpu = plane_cpu(plane) - plane_before
                fleet = await _run_fleet(
                    plane, server, paths, storage, concurrent, interval, progress
                )
        finally:
            await server.stop()
    objects = n * len(_objects())
    rows = [
        (
            "baseline: sequential SSA PATCH, one client",
            baseline,
            objects / baseline,
            baseline_plane_cpu,
        ),
        (
            "controllers: all Kustomizations Ready",
            fleet.all_ready,
            objects / fleet.all_ready,
            fleet.plane_cpu,
        ),
    ]
    print(
        f"pairs: {n}, objects: {objects}, --concurrent={concurrent} (both controllers), "
        f"interval: {interval}, load average at start: {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':44} {'seconds':>8} {'objects/s':>10} {'apiserver+etcd CPU s':>21}")
    for label, seconds, rate, cpu in rows:
        print(f"{label:44} {seconds:8.1f} {rate:10.1f} {cpu:21.1f}")
    print(f"ratio (controllers / baseline): {fleet.all_ready / baseline:.2f}x")
    print(f"all GitRepositories Ready after: {fleet.sources_ready:.1f} s")
    print(
        f"this process (git http-backend server + polling) CPU meanwhile: "
        f"{fleet.git_server_cpu:.1f} s"
    )
    print(f"{'':22} {'CPU s':>7} {'peak RSS MiB':>13} {'error logs':>11}")
    for label, cpu, rss, errors in (
        ("source-controller", fleet.source_cpu, fleet.source_rss, fleet.source_errors),
        ("kustomize-controller", fleet.kustomize_cpu, fleet.kustomize_rss, fleet.kustomize_errors),
    ):
        print(f"{label:22} {cpu:7.1f} {rss:13.1f} {errors:11d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--interval", default="1h")
    parser.add_argument("--progress", action="store_true", help="print Ready counts per poll")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.concurrent, args.interval, args.progress))
