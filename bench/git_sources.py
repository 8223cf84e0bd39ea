"""N GitRepositories (default 200) pointing at local repositories served over HTTP.

Reports, for a real source-controller process against a real control plane:
- seconds until all N are Ready, against a baseline measured in the same run: the same N
  repositories cloned (`git clone --depth 1`) and archived (`tar czf`) one after another by
  the git and tar binaries alone — the least work any controller must do;
- the controller's CPU seconds over one steady-state reconcile interval (no new commits:
  every reconcile is an `ls-remote` no-op), per reconcile;
- the controller's peak RSS.

usage: uv run python bench/git_sources.py [--n 200] [--interval 30s] [--concurrent 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.meta import parse_duration
from gotk_envtest import ControlPlane, free_port
from procstats import cpu_seconds, peak_rss_mib

CRD_DIR = Path(__file__).resolve().parents[1] / "config" / "crds"
NAMESPACE = "bench"


def _make_repos(root: Path, n: int) -> list[GitRepo]:
    repos = []
    for index in range(n):
        repo = GitRepo(root, f"app-{index}")
        repo.commit({f"deploy/cm-{i}.yaml": f"kind: ConfigMap\nindex: {i}\n" for i in range(5)})
        repos.append(repo)
    return repos


def _baseline(server: GitHTTPServer, repos: list[GitRepo], workdir: Path) -> float:
    started = time.perf_counter()
    for repo in repos:
        target = workdir / repo.name
        subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", server.url(repo), str(target)], check=True
        )
        subprocess.run(
            ["tar", "czf", f"{target}.tar.gz", "--exclude=.git", "-C", str(target), "."], check=True
        )
    return time.perf_counter() - started


async def _count_ready(plane: ControlPlane) -> int:
    _, body = await plane.request(
        "GET", f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{NAMESPACE}/gitrepositories"
    )
    return sum(
        1
        for item in body["items"]
        for c in (item.get("status") or {}).get("conditions") or []
        if c["type"] == "Ready" and c["status"] == "True"
    )


async def main(n: int, interval: str, concurrent: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp:
        tmp_path = Path(tmp)
        repos = await asyncio.to_thread(_make_repos, tmp_path / "remotes", n)
        server = GitHTTPServer(tmp_path / "remotes")
        await server.start()
        baseline_dir = tmp_path / "baseline"
        baseline_dir.mkdir()
        baseline = await asyncio.to_thread(_baseline, server, repos, baseline_dir)
        async with ControlPlane.started("minimal", tmp_path / "cluster", [CRD_DIR]) as plane:
            await plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
            storage = tmp_path / "storage"
            storage.mkdir()
            addr = f"127.0.0.1:{free_port()}"
            controller = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [
                    sys.executable,
                    "-m",
                    "source_controller",
                    f"--kubeconfig={plane.kubeconfig}",
                    f"--storage-path={storage}",
                    f"--storage-addr={addr}",
                    f"--storage-adv-addr={addr}",
                    f"--metrics-addr=127.0.0.1:{free_port()}",
                    f"--health-addr=127.0.0.1:{free_port()}",
                    f"--concurrent={concurrent}",
                    "--log-level=error",
                ],
                env={**os.environ},
            )
            try:
                await asyncio.sleep(1.0)
                started = time.perf_counter()
                for repo in repos:
                    obj = {
                        "apiVersion": "source.toolkit.fluxcd.io/v1",
                        "kind": "GitRepository",
                        "metadata": {"name": repo.name},
                        "spec": {"url": server.url(repo), "interval": interval},
                    }
                    status, body = await plane.request(
                        "POST",
                        f"/apis/source.toolkit.fluxcd.io/v1/namespaces/{NAMESPACE}/gitrepositories",
                        obj,
                    )
                    assert status == 201, body
                while await _count_ready(plane) < n:
                    assert controller.poll() is None, "source-controller exited"
                    await asyncio.sleep(0.5)
                to_ready = time.perf_counter() - started
                cpu_before = cpu_seconds(controller.pid)
                window = parse_duration(interval)
                await asyncio.sleep(window)
                steady_cpu = cpu_seconds(controller.pid) - cpu_before
                peak = peak_rss_mib(controller.pid)
            finally:
                controller.terminate()
                controller.wait(timeout=60)
        await server.stop()
    print(f"GitRepositories: {n}, concurrent: {concurrent}, interval: {interval}")
    print(f"baseline (git clone --depth 1 + tar czf, sequential): {baseline:8.1f} s")
    print(
        f"source-controller, all Ready:                          {to_ready:8.1f} s"
        f"  ratio {to_ready / baseline:.2f}x"
    )
    print(
        f"steady-state CPU over one interval:                    {steady_cpu:8.1f} s"
        f"  ({steady_cpu / n * 1000:.0f} ms per no-op reconcile)"
    )
    print(f"controller peak RSS:                                   {peak:8.1f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--interval", default="30s")
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.interval, args.concurrent))
