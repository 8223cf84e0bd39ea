"""Benchmark: the gotk_runtime informer over N ConfigMaps on a real control plane.

Starts its own etcd + kube-apiserver (gotk_envtest), server-side applies N ConfigMaps of a
few hundred bytes each, then measures in separate child processes (so RSS deltas do not
mix):

- ``informer``: seconds from start to initial sync; RSS per cached (trimmed) object; a burst
  of N updates: events/s seen by the informer, and the lag after the last write returned.
- ``raw``: the same list held as untrimmed orjson dicts (managedFields kept) - baseline 1.
- ``models``: the same list as kubernetes_asyncio ``V1ConfigMap`` objects - baseline 2.

    uv run python bench/informer.py [--n 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from gotk_runtime import Informer, KubeClient, load_config
from gotk_runtime.kube import CONFIG_MAPS, NAMESPACES

NAMESPACE = "bench"
Obj = dict[str, Any]


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def settled_rss() -> float:
    gc.collect()
    return rss_mib()


def configmap(index: int, generation: int = 0) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"cm-{index:06d}",
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/name": "bench", "shard": str(index % 4)},
            "annotations": {"bench.gotk.io/generation": str(generation)},
        },
        "data": {
            "config.yaml": f"replicas: {index % 7}\nimage: ghcr.io/stefanprodan/podinfo:6.{index % 97}.0\n"
            + "# padding "
            + "x" * 160
            + "\n",
            "revision": f"main@sha1:{index:040x}",
        },
    }


async def bounded(coroutines: list[Any], limit: int = 48) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> None:
        async with semaphore:
            await coroutine

    await asyncio.gather(*(one(c) for c in coroutines))


async def apply_all(client: KubeClient, n: int, generation: int) -> None:
    await bounded(
        [
            client.apply(CONFIG_MAPS, configmap(i, generation), field_manager="bench")
            for i in range(n)
        ]
    )


# --- child processes


async def child_informer(kubeconfig: str, n: int) -> Obj:
    async with KubeClient(await load_config(kubeconfig)) as client:
        await client.list(CONFIG_MAPS, NAMESPACE, limit=1)  # warm the connection pool
        before = settled_rss()
        informer = Informer(client, CONFIG_MAPS, namespace=NAMESPACE)
        modified = 0
        all_seen = asyncio.Event()

        def count(event: str, obj: Obj, old: Obj | None) -> None:
            nonlocal modified
            if event == "MODIFIED":
                modified += 1
                if modified >= n:
                    all_seen.set()

        informer.add_handler(count)
        started = time.perf_counter()
        task = asyncio.create_task(informer.run())
        await informer.wait_synced()
        sync_seconds = time.perf_counter() - started
        after = settled_rss()
        assert len(informer) == n, len(informer)

        burst_started = time.perf_counter()
        await apply_all(client, n, generation=1)
        writes_done = time.perf_counter()
        await asyncio.wait_for(all_seen.wait(), 600)
        burst_seconds = time.perf_counter() - burst_started
        lag = time.perf_counter() - writes_done
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return {
            "sync_seconds": sync_seconds,
            "rss_mib": after - before,
            "events_per_second": n / burst_seconds,
            "writes_per_second": n / (writes_done - burst_started),
            "lag_seconds": lag,
        }


async def list_pages(client: KubeClient) -> list[bytes]:
    pages: list[bytes] = []
    token = ""
    while True:
        params = {"limit": "500", **({"continue": token} if token else {})}
        raw = await client.request("GET", CONFIG_MAPS.path(NAMESPACE), params=params)
        pages.append(orjson.dumps(raw))
        token = raw["metadata"].get("continue") or ""
        if not token:
            return pages


async def child_raw(kubeconfig: str, n: int) -> Obj:
    async with KubeClient(await load_config(kubeconfig)) as client:
        pages = await list_pages(client)
        before = settled_rss()
        started = time.perf_counter()
        cache = {
            f"{o['metadata']['namespace']}/{o['metadata']['name']}": o
            for page in pages
            for o in orjson.loads(page)["items"]
        }
        seconds = time.perf_counter() - started
        after = settled_rss()
        assert len(cache) == n
        return {"rss_mib": after - before, "parse_seconds": seconds}


async def child_models(kubeconfig: str, n: int) -> Obj:
    from kubernetes_asyncio.client.api_client import ApiClient

    class Response:
        def __init__(self, data: bytes) -> None:
            self.data = data

    async with KubeClient(await load_config(kubeconfig)) as client:
        pages = await list_pages(client)
        api = ApiClient()
        try:
            before = settled_rss()
            started = time.perf_counter()
            cache = {}
            for page in pages:
                for item in api.deserialize(Response(page), "V1ConfigMapList").items:
                    cache[f"{item.metadata.namespace}/{item.metadata.name}"] = item
            seconds = time.perf_counter() - started
            after = settled_rss()
        finally:
            await api.close()
        assert len(cache) == n
        return {"rss_mib": after - before, "parse_seconds": seconds}


CHILDREN = {"informer": child_informer, "raw": child_raw, "models": child_models}


def run_child(mode: str, kubeconfig: Path, n: int) -> Obj:
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--kubeconfig", str(kubeconfig), "--n", str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {mode} failed:\n{result.stderr}")
    parsed: Obj = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


async def main(n: int) -> None:
    from gotk_envtest import ControlPlane

    with tempfile.TemporaryDirectory(prefix="gotk-bench-informer-") as workdir:
        async with ControlPlane.started("minimal", Path(workdir)) as plane:
            async with KubeClient(await load_config(plane.kubeconfig)) as client:
                await client.create(
                    NAMESPACES,
                    {"metadata": {"name": NAMESPACE}, "apiVersion": "v1", "kind": "Namespace"},
                )
                started = time.perf_counter()
                await apply_all(client, n, generation=0)
                populate = time.perf_counter() - started
                sample = (await client.list(CONFIG_MAPS, NAMESPACE, limit=1))["items"][0]
            loop = asyncio.get_running_loop()
            informer = await loop.run_in_executor(None, run_child, "informer", plane.kubeconfig, n)
            raw = await loop.run_in_executor(None, run_child, "raw", plane.kubeconfig, n)
            models = await loop.run_in_executor(None, run_child, "models", plane.kubeconfig, n)

    per = {
        name: r["rss_mib"] * 1024 / n
        for name, r in (("informer", informer), ("raw", raw), ("models", models))
    }
    wire = len(orjson.dumps(sample))
    print(f"informer benchmark: {n} ConfigMaps, {wire} bytes of JSON each (with managedFields)")
    print(f"  populate (server-side apply, 48 in flight): {n / populate:,.0f} objects/s")
    print()
    print(f"  {'measure':<44}{'value':>14}")
    print(f"  {'initial list+sync (s)':<44}{informer['sync_seconds']:>14.2f}")
    print(
        f"  {'update burst: events/s seen by informer':<44}{informer['events_per_second']:>14,.0f}"
    )
    print(
        f"  {'update burst: API writes/s (the bound)':<44}{informer['writes_per_second']:>14,.0f}"
    )
    print(f"  {'lag after last write (s)':<44}{informer['lag_seconds']:>14.2f}")
    print()
    print(f"  {'memory per cached object':<44}{'KiB':>8}{'vs gotk':>10}")
    for label, key in (
        ("gotk informer (trimmed dicts)", "informer"),
        ("baseline: untrimmed orjson dicts", "raw"),
        ("baseline: kubernetes_asyncio V1ConfigMap", "models"),
    ):
        print(f"  {label:<44}{per[key]:>8.2f}{per[key] / per['informer']:>9.2f}x")
    print(
        f"  (parse time for the list: raw {raw['parse_seconds']:.2f}s, models {models['parse_seconds']:.2f}s)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(CHILDREN[args.child](args.kubeconfig, args.n))))
    else:
        asyncio.run(main(args.n))
