"""One release installed two ways, to decide how helm-controller drives Helm:

- `helm install` as a subprocess (what helm-controller does): render, server-side apply,
  release Secret written by Helm;
- `helm template` as a subprocess, then gotk's own server-side apply of each rendered
  object from this process (the alternative: render with Helm, apply like
  kustomize-controller); Helm storage would still have to be written on top;
- `helm install` through gotk's post-renderer plugin (origin labels only), what every
  helm-controller install pays for Flux's `helm.toolkit.fluxcd.io/*` labels.

Each is timed over `--runs` fresh releases of the bench fleet's 4-object chart on the
`minimal` cluster, without waiting for readiness (`--wait=hookOnly` on both sides, since
the minimal cluster gives Deployments no status); the median wall time is reported.

usage: uv run python bench/helm_install_modes.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient, load_config
from gotk_runtime.tools import find_tool
from helm_controller.postrender import PLUGIN_NAME, install_plugin

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helm_fleet import CRD_DIR, _helm_env, _package_chart


def _helm(args: list[str], env: dict[str, str]) -> bytes:
    return subprocess.run(
        [str(find_tool("helm")), *args], env=env, check=True, capture_output=True
    ).stdout


async def _template_and_apply(
    client: KubeClient, archive: Path, name: str, namespace: str, env: dict[str, str]
) -> float:
    started = time.perf_counter()
    rendered = await asyncio.to_thread(
        _helm, ["template", name, str(archive), f"--namespace={namespace}"], env
    )
    for doc in yaml.safe_load_all(rendered):
        if not doc:
            continue
        doc.setdefault("metadata", {})["namespace"] = namespace
        resource = await client.discovery.resource_for(doc["apiVersion"], doc["kind"])
        await client.apply(resource, doc, field_manager="bench", force=True)
    return time.perf_counter() - started


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-helm-modes-") as tmp:
        root = Path(tmp)
        archive = await asyncio.to_thread(_package_chart, root / "repo", "http://unused/")
        async with ControlPlane.started("minimal", root / "cluster", [CRD_DIR]) as plane:
            env = _helm_env(root / ".helm", plane.kubeconfig)
            for namespace in ("install", "apply"):
                status, body = await plane.request(
                    "POST", "/api/v1/namespaces", {"metadata": {"name": namespace}}
                )
                assert status == 201, body
            # Warm both paths once (discovery caches, first-connection costs).
            await asyncio.to_thread(
                _helm, ["install", "warm", str(archive), "-n", "install", "--wait=hookOnly"], env
            )
            install_plugin(root / ".helm" / "plugins")
            env["HELM_PLUGINS"] = str(root / ".helm" / "plugins")
            config = root / "postrender.json"
            config.write_text('{"origin": {"helm.toolkit.fluxcd.io/name": "r"}}')
            installs: list[float] = []
            applies: list[float] = []
            rendered: list[float] = []
            async with KubeClient(await load_config(plane.kubeconfig)) as client:
                await _template_and_apply(client, archive, "warm", "apply", env)
                for index in range(runs):
                    started = time.perf_counter()
                    await asyncio.to_thread(
                        _helm,
                        [
                            "install",
                            f"r{index}",
                            str(archive),
                            "-n",
                            "install",
                            "--wait=hookOnly",
                            "--server-side=true",
                        ],
                        env,
                    )
                    installs.append(time.perf_counter() - started)
                    applies.append(
                        await _template_and_apply(client, archive, f"r{index}", "apply", env)
                    )
                    started = time.perf_counter()
                    await asyncio.to_thread(
                        _helm,
                        [
                            "install",
                            f"p{index}",
                            str(archive),
                            "-n",
                            "install",
                            "--wait=hookOnly",
                            "--server-side=true",
                            f"--post-renderer={PLUGIN_NAME}",
                            f"--post-renderer-args={config}",
                        ],
                        env,
                    )
                    rendered.append(time.perf_counter() - started)
    print(f"runs: {runs}, 4-object chart, minimal cluster, no readiness wait")
    print(f"{'':44} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, values in (
        ("helm install (subprocess, storage included)", installs),
        ("helm template + gotk SSA (no storage)", applies),
        ("helm install + gotk post-renderer plugin", rendered),
    ):
        print(f"{label:44} {statistics.median(values):9.3f} {min(values):7.3f} {max(values):7.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.runs))
