"""Two source-controller processes with leader election: only the leader reconciles and
serves artifacts; when it dies, the standby takes over within the lease duration."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from fixtures.controllers import condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_envtest import ControlPlane, free_port

GROUP = "/apis/source.toolkit.fluxcd.io/v1"


class Instance:
    def __init__(self, plane: ControlPlane, storage: Path, name: str) -> None:
        self.addr = f"127.0.0.1:{free_port()}"
        storage.mkdir(parents=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "source_controller",
                f"--kubeconfig={plane.kubeconfig}",
                f"--storage-path={storage}",
                f"--storage-addr={self.addr}",
                f"--storage-adv-addr={self.addr}",
                f"--metrics-addr=127.0.0.1:{free_port()}",
                f"--health-addr=127.0.0.1:{free_port()}",
                "--enable-leader-election",
                "--runtime-namespace=default",
                "--leader-election-lease-duration=4s",
                "--leader-election-renew-deadline=3s",
                "--leader-election-retry-period=1s",
                "--log-level=error",
                # A label selector keeps this pair apart from the session's own controller.
                "--watch-label-selector=gotk.test/leader=yes",
            ],
            env={**os.environ, "POD_NAME": name},
            start_new_session=True,
        )

    async def status(self) -> int:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://{self.addr}/nothing-here") as response,
            ):
                return response.status
        except aiohttp.ClientError:
            return 0

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def instances(cluster: ControlPlane, tmp_path: Path) -> Iterator[list[Instance]]:
    pair = [Instance(cluster, tmp_path / f"storage-{i}", f"sc-{i}") for i in range(2)]
    try:
        yield pair
    finally:
        for instance in pair:
            instance.kill()


async def test_only_the_leader_serves_and_the_standby_takes_over(
    cluster: ControlPlane,
    namespace: str,
    instances: list[Instance],
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    async def roles() -> tuple[Instance, Instance] | None:
        codes = [await i.status() for i in instances]
        if sorted(codes) == [404, 503]:  # the leader: 404 for a missing file; standby: 503
            leader = instances[codes.index(404)]
            return leader, instances[1 - instances.index(leader)]
        return None

    pair: tuple[Instance, Instance] = await eventually(roles, timeout=60)
    leader, standby = pair

    repo = make_git_repo()
    repo.commit({"a.yaml": "x"})
    obj = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "led", "labels": {"gotk.test/leader": "yes"}},
        "spec": {"url": git_http_server.url(repo), "interval": "1m"},
    }
    status, body = await cluster.request(
        "POST", f"{GROUP}/namespaces/{namespace}/gitrepositories", obj
    )
    assert status == 201, body

    async def artifact_url() -> str | None:
        _, current = await cluster.request(
            "GET", f"{GROUP}/namespaces/{namespace}/gitrepositories/led"
        )
        ready = condition(current, "Ready").get("status") == "True"
        artifact = current["status"].get("artifact")
        return artifact["url"] if ready and artifact else None

    url = await eventually(artifact_url)
    assert url.startswith(f"http://{leader.addr}/")

    leader.kill()
    started = asyncio.get_running_loop().time()

    async def standby_serves() -> bool:
        return await standby.status() == 404

    await eventually(standby_serves, timeout=30)
    assert asyncio.get_running_loop().time() - started < 15, "took over within a few leases"
    status, _ = await cluster.request(
        "PATCH",
        f"{GROUP}/namespaces/{namespace}/gitrepositories/led",
        {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "after-failover"}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200

    async def rebuilt_by_standby() -> bool:
        current = await artifact_url()
        return bool(current and current.startswith(f"http://{standby.addr}/"))

    await eventually(rebuilt_by_standby, timeout=60)
