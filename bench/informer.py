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
import tracemalloc
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
            "config.yaml": f"replicas: {index % 7}\n"
            f"image: ghcr.io/stefanprodan/podinfo:6.{index % 97}.0\n# padding {'x' * 160}\n",
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


# --- child processes: each measures RSS growth from a warm, empty start to a full cache,
# and, with --trace, the bytes still allocated for the cache (tracemalloc; no allocator noise).


class Meter:
    def __init__(self, trace: bool) -> None:
        self.trace = trace

    def start(self) -> None:
        if self.trace:
            tracemalloc.start()
        self.before = settled_rss()

    def stop(self) -> float:
        """MiB grown since start (tracemalloc's live bytes if tracing, else RSS)."""
        if self.trace:
            gc.collect()
            current, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return current / 2**20
        return settled_rss() - self.before


async def child_informer(kubeconfig: str, n: int, trace: bool) -> Obj:
    async with KubeClient(await load_config(kubeconfig)) as client:
        await client.list(CONFIG_MAPS, NAMESPACE, limit=1)  # warm the connection pool
        meter = Meter(trace)
        meter.start()
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
        grown = meter.stop()
        assert len(informer) == n, len(informer)
        result = {"sync_seconds": sync_seconds, "mib": grown}
        if not trace:
            burst_started = time.perf_counter()
            await apply_all(client, n, generation=int(time.time()))
            writes_done = time.perf_counter()
            await asyncio.wait_for(all_seen.wait(), 600)
            burst_seconds = time.perf_counter() - burst_started
            result.update(
                events_per_second=n / burst_seconds,
                writes_per_second=n / (writes_done - burst_started),
                lag_seconds=time.perf_counter() - writes_done,
            )
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return result


async def list_items(client: KubeClient) -> list[Obj]:
    items: list[Obj] = []
    token = None
    while True:
        page = await client.list(CONFIG_MAPS, NAMESPACE, limit=500, continue_token=token)
        items.extend(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return items


async def child_raw(kubeconfig: str, n: int, trace: bool) -> Obj:
    async with KubeClient(await load_config(kubeconfig)) as client:
        await client.list(CONFIG_MAPS, NAMESPACE, limit=1)
        meter = Meter(trace)
        meter.start()
        started = time.perf_counter()
        cache = {
            f"{o['metadata']['namespace']}/{o['metadata']['name']}": o
            for o in await list_items(client)
        }
        seconds = time.perf_counter() - started
        grown = meter.stop()
        assert len(cache) == n
        return {"mib": grown, "seconds": seconds}


async def child_models(kubeconfig: str, n: int, trace: bool) -> Obj:
    from kubernetes_asyncio.client.api_client import ApiClient

    class Response:
        def __init__(self, data: bytes) -> None:
            self.data = data

    async with KubeClient(await load_config(kubeconfig)) as client:
        await client.list(CONFIG_MAPS, NAMESPACE, limit=1)
        api = ApiClient()
        try:
            meter = Meter(trace)
            meter.start()
            started = time.perf_counter()
            cache: dict[str, Any] = {}
            token = None
            while True:
                page = await client.list(CONFIG_MAPS, NAMESPACE, limit=500, continue_token=token)
                token = page["metadata"].get("continue")
                data = Response(orjson.dumps(page))
                for item in api.deserialize(data, "V1ConfigMapList").items:  # type: ignore[arg-type]
                    cache[f"{item.metadata.namespace}/{item.metadata.name}"] = item
                del page, data
                if not token:
                    break
            seconds = time.perf_counter() - started
            grown = meter.stop()
        finally:
            await api.close()
        assert len(cache) == n
        return {"mib": grown, "seconds": seconds}


CHILDREN = {"informer": child_informer, "raw": child_raw, "models": child_models}


def run_child(mode: str, kubeconfig: Path, n: int, trace: bool = False) -> Obj:
    argv = [sys.executable, __file__, "--child", mode, "--kubeconfig", str(kubeconfig)]
    argv += ["--n", str(n), *(["--trace"] if trace else [])]
    result = subprocess.run(
        argv,
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
            results: dict[tuple[str, bool], Obj] = {}
            for mode in ("informer", "raw", "models"):
                for trace in (False, True):
                    results[mode, trace] = await loop.run_in_executor(
                        None, run_child, mode, plane.kubeconfig, n, trace
                    )

    informer = results["informer", False]
    wire = len(orjson.dumps(sample))
    print(f"informer benchmark: {n} ConfigMaps, {wire} bytes of JSON each (with managedFields)")
    print(f"  populate (server-side apply, 48 in flight): {n / populate:,.0f} objects/s")
    print()
    rows = [
        ("initial list + sync (s)", f"{informer['sync_seconds']:.2f}"),
        ("update burst: events/s seen by the informer", f"{informer['events_per_second']:,.0f}"),
        ("update burst: API writes/s (the bound)", f"{informer['writes_per_second']:,.0f}"),
        ("lag after the last write returned (s)", f"{informer['lag_seconds']:.2f}"),
    ]
    print(f"  {'measure':<46}{'value':>12}")
    for label, value in rows:
        print(f"  {label:<46}{value:>12}")
    print()
    print(f"  {'memory per cached object (KiB)':<46}{'RSS':>8}{'ratio':>8}{'live':>8}{'ratio':>8}")
    for label, mode in (
        ("gotk informer (trimmed dicts)", "informer"),
        ("baseline: untrimmed orjson dicts", "raw"),
        ("baseline: kubernetes_asyncio V1ConfigMap", "models"),
    ):
        rss = results[mode, False]["mib"] * 1024 / n
        live = results[mode, True]["mib"] * 1024 / n
        rss0 = results["informer", False]["mib"] * 1024 / n
        live0 = results["informer", True]["mib"] * 1024 / n
        print(f"  {label:<46}{rss:>8.2f}{rss / rss0:>7.2f}x{live:>8.2f}{live / live0:>7.2f}x")
    print("  (RSS: growth of the process; live: bytes still allocated, by tracemalloc)")
    raw_s, models_s = results["raw", False]["seconds"], results["models", False]["seconds"]
    print(f"  list + build cache: dicts {raw_s:.2f}s, models {models_s:.2f}s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--kubeconfig")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(CHILDREN[args.child](args.kubeconfig, args.n, args.trace))))
    else:
        asyncio.run(main(args.n))
