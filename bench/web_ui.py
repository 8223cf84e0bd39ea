"""The web UI over a fleet: N Kustomizations and N HelmReleases (default 1,000 each) with
their sources (a GitRepository per Kustomization, a HelmChart per HelmRelease, N/20
HelmRepositories), created with statuses through the status subresource in a real API server
(no controllers). One in ten Kustomizations depends on the one before it; 5% of the sources
fail (so their appliers fail, and the overview walks to the root causes); 2% of the appliers
are suspended; every Kustomization carries a five-entry inventory.

Reports, for `python -m gotk_ui` as its own process:
- seconds from start until /readyz (every informer listed);
- the overview page's server time (HTTP GET, median and worst of R requests), a failing
  Kustomization's page, a search for every failing object;
- the baseline measured in the same run: a plain `kubectl get -A`-style LIST of the same
  objects from the API server (one LIST per kind, JSON decoded), and the ratio;
- the UI's RSS after sync and after the requests, and its peak RSS.
Goal: overview under 1 s and RSS under 150 MiB at N=1,000.

usage: uv run python bench/web_ui.py [--n 1000] [--requests 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import IO, Any

import aiohttp
from gotk_envtest import ControlPlane, free_port
from procstats import peak_rss_mib, rss_mib

Obj = dict[str, Any]
CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NS = "fleet"
SRC = f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{NS}"
KS = f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{NS}"
HR = f"/apis/helm.toolkit.fluxcd.io/v2/namespaces/{NS}"
IN_FLIGHT = 16
T0 = "2026-01-02T03:04:05Z"


def _ready(ok: bool, reason: str, message: str) -> Obj:
    return {
        "type": "Ready",
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": T0,
    }


def _artifact(revision: str) -> Obj:
    return {
        "path": "x.tar.gz",
        "url": "http://source-controller/x.tar.gz",
        "revision": revision,
        "digest": "sha256:" + "0" * 64,
        "lastUpdateTime": T0,
    }


def _fleet(n: int) -> list[tuple[str, Obj, Obj]]:
    """(collection path, object, status) for every object, sources before their appliers."""
    items: list[tuple[str, Obj, Obj]] = []
    repos = max(1, n // 20)
    for r in range(repos):
        items.append((f"{SRC}/helmrepositories", {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": f"charts-{r}"},
            "spec": {"url": f"https://charts-{r}.example.com", "interval": "1h"},
        }, {"conditions": [_ready(True, "Succeeded", "stored index")],
            "artifact": _artifact(f"sha256:{r:064x}")}))  # fmt: skip
    for i in range(n):
        failing = i % 20 == 7
        revision = f"main@sha1:{i:040x}"
        git_status = (
            {"conditions": [_ready(False, "GitOperationFailed",
                                   "couldn't find remote ref 'refs/heads/main'")]}
            if failing
            else {"conditions": [_ready(True, "Succeeded", f"stored artifact for {revision}")],
                  "artifact": _artifact(revision)}
        )  # fmt: skip
        items.append((f"{SRC}/gitrepositories", {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": f"app-{i}"},
            "spec": {"url": f"https://git.example.com/app-{i}.git", "interval": "5m",
                     "ref": {"branch": "main"}},
        }, git_status))  # fmt: skip
        items.append((f"{SRC}/helmcharts", {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": f"{NS}-web-{i}"},
            "spec": {"chart": "web", "version": "1.x", "interval": "5m",
                     "sourceRef": {"kind": "HelmRepository", "name": f"charts-{i % repos}"}},
        }, {"conditions": [_ready(not failing, "ChartPullSucceeded" if not failing
                                  else "ChartPullFailed", "pulled 'web' chart")],
            "artifact": _artifact("1.2.3")}))  # fmt: skip
    for i in range(n):
        failing = i % 20 == 7
        ks_spec: Obj = {
            "interval": "10m", "path": "./deploy", "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": f"app-{i}"},
            "suspend": i % 50 == 3,
        }  # fmt: skip
        if i % 10 == 1:
            ks_spec["dependsOn"] = [{"name": f"app-{i - 1}"}]
        inventory = {"entries": [
            {"id": f"app-{i}_{name}_{group}_{kind}", "v": "v1"}
            for name, group, kind in (("config", "", "ConfigMap"), ("web", "apps", "Deployment"),
                                      ("web", "", "Service"), ("web", "", "ServiceAccount"),
                                      ("creds", "", "Secret"))
        ]}  # fmt: skip
        items.append((f"{KS}/kustomizations", {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": f"app-{i}"}, "spec": ks_spec,
        }, {"conditions": [_ready(not failing, "ArtifactFailed" if failing
                                  else "ReconciliationSucceeded",
                                  "Source artifact not found" if failing
                                  else f"Applied revision: main@sha1:{i:040x}")],
            "lastAppliedRevision": f"main@sha1:{i:040x}", "inventory": inventory}))  # fmt: skip
        items.append((f"{HR}/helmreleases", {
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": f"web-{i}"},
            "spec": {"interval": "10m", "suspend": i % 50 == 5,
                     "chart": {"spec": {"chart": "web", "version": "1.x",
                               "sourceRef": {"kind": "HelmRepository",
                                             "name": f"charts-{i % repos}"}}}},
        }, {"conditions": [_ready(not failing, "ArtifactFailed" if failing
                                  else "UpgradeSucceeded", "Helm upgrade succeeded")],
            "helmChart": f"{NS}/{NS}-web-{i}", "lastAttemptedRevision": "1.2.3"}))  # fmt: skip
    return items


async def _bounded(calls: Iterable[Callable[[], Awaitable[None]]], limit: int) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with semaphore:
            await call()

    await asyncio.gather(*(one(call) for call in calls))


async def _create(plane: ControlPlane, path: str, obj: Obj, status: Obj) -> None:
    code, created = await plane.request("POST", path, obj)
    assert code == 201, created
    created["status"] = {"observedGeneration": created["metadata"]["generation"], **status}
    name = created["metadata"]["name"]
    code, body = await plane.request("PUT", f"{path}/{name}/status", created)
    assert code == 200, body


async def _baseline_list(plane: ControlPlane) -> tuple[float, int]:
    """`kubectl get -A` for the five kinds: one LIST each, JSON decoded."""
    started = time.perf_counter()
    total = 0
    for path in ("/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
                 "/apis/source.toolkit.fluxcd.io/v1/helmrepositories",
                 "/apis/source.toolkit.fluxcd.io/v1/helmcharts",
                 "/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
                 "/apis/helm.toolkit.fluxcd.io/v2/helmreleases"):  # fmt: skip
        code, body = await plane.request("GET", path)
        assert code == 200, body
        total += len(body["items"])
    return time.perf_counter() - started, total


async def _timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    started = time.perf_counter()
    async with session.get(url) as response:
        body = await response.read()
        assert response.status == 200, body[:500]
    return time.perf_counter() - started, len(body)


async def _wait_ready(
    session: aiohttp.ClientSession, url: str, ui: subprocess.Popen[bytes]
) -> None:
    while True:
        if ui.poll() is not None:
            raise RuntimeError(f"gotk_ui exited with {ui.returncode}")
        try:
            async with session.get(url + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)


def _start_ui(plane: ControlPlane, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gotk_ui", f"--kubeconfig={plane.kubeconfig}",
         f"--addr=127.0.0.1:{port}", f"--runtime-namespace={NS}", "--log-level=error"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def main(n: int, requests: int) -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-webui-") as tmp:
        async with ControlPlane.started("minimal", Path(tmp) / "cluster", [CRD_DIR]) as plane:
            code, body = await plane.request("POST", "/api/v1/namespaces",
                                             {"metadata": {"name": NS}})  # fmt: skip
            assert code == 201, body
            items = _fleet(n)
            started = time.perf_counter()
            await _bounded((partial(_create, plane, *item) for item in items), IN_FLIGHT)
            create_seconds = time.perf_counter() - started
            baselines = [await _baseline_list(plane) for _ in range(requests)]
            listed = baselines[0][1]
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log = (Path(tmp) / "ui.log").open("wb")
            ui = _start_ui(plane, port, log)
            try:
                async with aiohttp.ClientSession() as session:
                    started = time.perf_counter()
                    await _wait_ready(session, url, ui)
                    ready_seconds = time.perf_counter() - started
                    await asyncio.sleep(1.0)  # let the last informer events land
                    rss_synced = rss_mib(ui.pid)
                    overview = [await _timed_get(session, url + "/") for _ in range(requests)]
                    page = [
                        await _timed_get(session, f"{url}/kustomizations/{NS}/app-7")
                        for _ in range(requests)
                    ]
                    search = [
                        await _timed_get(session, f"{url}/search?status=failing")
                        for _ in range(requests)
                    ]
                    rss_after = rss_mib(ui.pid)
                    peak = peak_rss_mib(ui.pid)
            finally:
                ui.terminate()
                ui.wait(timeout=30)
                log.close()
    base = statistics.median(b[0] for b in baselines)
    print(
        f"objects: {len(items)} ({n} Kustomizations, {n} HelmReleases, {n} GitRepositories, "
        f"{n} HelmCharts, {max(1, n // 20)} HelmRepositories); created with status in "
        f"{create_seconds:.1f} s; load average at start {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':48} {'median s':>9} {'worst s':>8} {'bytes':>9}")

    def row(label: str, samples: list[tuple[float, int]]) -> None:
        times = [s[0] for s in samples]
        print(f"{label:48} {statistics.median(times):9.3f} {max(times):8.3f} {samples[0][1]:9d}")

    row(f"baseline: LIST of the {listed} objects (5 kinds)", [(b[0], 0) for b in baselines])
    row("UI: overview GET /", overview)
    row("UI: failing Kustomization page", page)
    row("UI: search ?status=failing", search)
    print(
        f"ratio (overview / baseline LIST): {statistics.median(s[0] for s in overview) / base:.2f}x"
    )
    print(f"UI ready (all informers listed) after: {ready_seconds:.1f} s")
    print(f"UI RSS MiB: {rss_synced:.1f} after sync, {rss_after:.1f} after requests, "
          f"peak {peak:.1f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.requests))
