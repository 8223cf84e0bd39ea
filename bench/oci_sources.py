"""N OCIRepositories (default 200) pointing at a few tags of an artifact in a real `registry`.

Reports, for a real source-controller process against a real control plane:
- seconds from the first create until all N are Ready, against a baseline measured in the
  same run, before the controller starts: the same N pulls (manifest GET, then the content
  layer's blob GET with its sha256 checked) made one after another by a plain aiohttp loop
  in this process over one keep-alive session — the least any puller must do. The
  controller does more per object: tag resolution, extraction, repackaging, storage and a
  status patch;
- the controller's CPU seconds and peak RSS, and the registry's CPU in each phase.

The artifacts are pushed before either phase (`--tags` tags of one repository, each a Flux
content layer of ~`--kib` KiB of YAML before compression); OCIRepository i uses tag i mod
`--tags`, so several objects share each artifact as a fleet of tenants would.

usage: uv run python bench/oci_sources.py [--n 200] [--tags 4] [--kib 64] [--concurrent 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.oci_registry import FLUX_LAYER, OCI_MANIFEST, Registry
from gotk_envtest import ControlPlane, free_port
from harness import (
    Obj,
    bounded,
    check_alive,
    count_ready,
    create,
    error_lines,
    start_controller,
    stop_all,
)
from procstats import cpu_seconds, peak_rss_mib

CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NAMESPACE = "bench"
REPO = "gotk/bench-app"
SRC = "/apis/source.toolkit.fluxcd.io/v1"


def _files(tag: int, kib: int) -> dict[str, str]:
    """~`kib` KiB of Kubernetes YAML in 16 files, different for every tag."""
    files = {}
    for index in range(16):
        lines = [
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\n  labels:\n"
            f"    release: r{tag}\ndata:\n"
        ]
        size, key = len(lines[0]), 0
        while size < kib * 1024 // 16:
            line = f"  key-{key}: value-{tag}-{index}-{key * 7919 % 10007}\n"
            lines.append(line)
            size, key = size + len(line), key + 1
        files[f"deploy/cm-{index}.yaml"] = "".join(lines)
    return files


async def _push(registry: Registry, tags: int, kib: int) -> list[str]:
    names = [f"v{i}" for i in range(tags)]
    for index, tag in enumerate(names):
        await registry.push(REPO, tag, _files(index, kib))
    return names


async def _pull(session: aiohttp.ClientSession, base: str, tag: str) -> int:
    async with session.get(
        f"{base}/v2/{REPO}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
    ) as response:
        assert response.status == 200, await response.text()
        manifest: Obj = await response.json(content_type=None)
    layer = next(item for item in manifest["layers"] if item["mediaType"] == FLUX_LAYER)
    async with session.get(f"{base}/v2/{REPO}/blobs/{layer['digest']}") as response:
        assert response.status == 200, await response.text()
        blob = await response.read()
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
    return len(blob)


async def _baseline(registry: Registry, tags: list[str], n: int) -> tuple[float, int]:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        pulled = 0
        for index in range(n):
            pulled += await _pull(session, registry.base_url, tags[index % len(tags)])
        return time.perf_counter() - started, pulled


def _ocirepository(index: int, url: str, tag: str, interval: str) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": f"app-{index}"},
        "spec": {"url": url, "ref": {"tag": tag}, "interval": interval, "insecure": True},
    }


async def _created(plane: ControlPlane, objects: list[Obj]) -> None:
    path = f"{SRC}/namespaces/{NAMESPACE}/ocirepositories"
    await bounded(partial(create, plane, path, obj) for obj in objects)


@dataclass
class ControllerResult:
    seconds: float
    cpu: float
    peak_rss: float
    error_logs: int


async def _run_controller(
    plane: ControlPlane, objects: list[Obj], workdir: Path, concurrent: int
) -> ControllerResult:
    storage = workdir / "storage"
    storage.mkdir()
    addr = f"127.0.0.1:{free_port()}"
    controller = start_controller(
        "source_controller",
        plane,
        concurrent,
        f"--storage-path={storage}",
        f"--storage-addr={addr}",
        f"--storage-adv-addr={addr}",
    )
    poll = max(0.5, len(objects) / 1000)
    try:
        await asyncio.sleep(2.0)  # it has listed and started watching
        started = time.perf_counter()
        await _created(plane, objects)
        path = f"{SRC}/namespaces/{NAMESPACE}/ocirepositories"
        while await count_ready(plane, path) < len(objects):
            check_alive(controller, "source_controller", plane)
            await asyncio.sleep(poll)
        seconds = time.perf_counter() - started
        cpu, peak = cpu_seconds(controller.pid), peak_rss_mib(controller.pid)
    finally:
        stop_all(controller)
    return ControllerResult(seconds, cpu, peak, error_lines(plane, "source_controller"))


def _registry_cpu(registry: Registry) -> float:
    assert registry._proc is not None
    return cpu_seconds(registry._proc.pid)


async def main(n: int, tags: int, kib: int, concurrent: int, interval: str) -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-oci-") as tmp:
        tmp_path = Path(tmp)
        registry = Registry(tmp_path / "registry")
        await registry.start()
        try:
            tag_names = await _push(registry, tags, kib)
            before = _registry_cpu(registry)
            baseline, pulled = await _baseline(registry, tag_names, n)
            baseline_registry_cpu = _registry_cpu(registry) - before
            objects = [
                _ocirepository(i, registry.url(REPO), tag_names[i % tags], interval)
                for i in range(n)
            ]
            async with ControlPlane.started("minimal", tmp_path / "cluster", [CRD_DIR]) as plane:
                await create(plane, "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
                before = _registry_cpu(registry)
                result = await _run_controller(plane, objects, tmp_path, concurrent)
                controller_registry_cpu = _registry_cpu(registry) - before
        finally:
            await registry.stop()
    print(
        f"OCIRepositories: {n} over {tags} tags (layer ~{pulled // n // 1024} KiB gzipped), "
        f"--concurrent={concurrent}, interval: {interval}, "
        f"load average at start: {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'':46} {'seconds':>8} {'per object ms':>14} {'registry CPU s':>15}")
    rows = [
        ("baseline: sequential aiohttp manifest + blob", baseline, baseline_registry_cpu),
        ("source-controller: all Ready", result.seconds, controller_registry_cpu),
    ]
    for label, seconds, registry_cpu in rows:
        print(f"{label:46} {seconds:8.1f} {seconds / n * 1000:14.1f} {registry_cpu:15.1f}")
    print(f"ratio (controller / baseline): {result.seconds / baseline:.2f}x")
    print(
        f"source-controller: CPU {result.cpu:.1f} s, peak RSS {result.peak_rss:.1f} MiB, "
        f"error log lines {result.error_logs}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--tags", type=int, default=4)
    parser.add_argument("--kib", type=int, default=64)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--interval", default="1h")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.tags, args.kib, args.concurrent, args.interval))
