"""The API server SIGKILLed in the middle of reconciles, then restarted.

Promise: source-controller and kustomize-controller ride out the outage without a restart
of their own: every Kustomization converges (Ready, all its objects applied), a commit pushed
after the API server is back is applied too (the watches resumed), and no object is ever
reconciled by two workers at once — including the retries the outage causes.

The control plane is this module's own (its API server is killed); the controllers are the
real ones, in process, watching everything on it. Only the one-at-a-time check is a spy:
it wraps the reconcilers' `reconcile` to count how many run per object at any moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.controllers import eventually
from fixtures.faults import KUSTOMIZE, SOURCE, Api, gitrepository, in_process, kustomization
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane, free_port
from kustomize_controller.kustomization import KustomizationReconciler
from source_controller.reconcilers import GitRepositoryReconciler

CRD_DIR = Path(__file__).resolve().parents[2] / "config" / "crds"
KUSTOMIZATIONS = 4
CONFIGMAPS = 15


@pytest.fixture(scope="module")
async def plane(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ControlPlane]:
    async with ControlPlane.started(
        "minimal", tmp_path_factory.mktemp("faults-api"), [CRD_DIR]
    ) as cp:
        yield cp


class OneAtATime:
    """Counts reconciles in flight per object; remembers the highest count seen."""

    def __init__(self) -> None:
        self.active: Counter[tuple[str, str, str]] = Counter()
        self.peak: Counter[tuple[str, str, str]] = Counter()
        self.calls = 0

    def wrap(self, monkeypatch: pytest.MonkeyPatch, cls: type[Any]) -> None:
        original = cls.reconcile

        async def reconcile(reconciler: Any, obj: Obj) -> Any:
            meta = obj["metadata"]
            key = (obj.get("kind", cls.__name__), meta.get("namespace", ""), meta["name"])
            self.active[key] += 1
            self.peak[key] = max(self.peak[key], self.active[key])
            self.calls += 1
            try:
                return await original(reconciler, obj)
            finally:
                self.active[key] -= 1

        monkeypatch.setattr(cls, "reconcile", reconcile)


def _manifests(version: str) -> dict[str, str | None]:
    return {
        f"deploy/cm{i}.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\ndata:\n  v: '{version}'\n"
        )
        for i in range(CONFIGMAPS)
    }


async def _kill_apiserver(plane: ControlPlane) -> None:
    pid = plane.pids["kube-apiserver"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)

    async def dead() -> bool:
        return "kube-apiserver" not in plane.pids

    await eventually(dead, timeout=10, interval=0.05)


async def test_an_apiserver_killed_mid_reconcile_converges_one_reconcile_at_a_time(
    plane: ControlPlane,
    monkeypatch: pytest.MonkeyPatch,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    tmp_path: Path,
) -> None:
    spy = OneAtATime()
    spy.wrap(monkeypatch, KustomizationReconciler)
    spy.wrap(monkeypatch, GitRepositoryReconciler)
    namespace = f"faults-{uuid.uuid4().hex[:8]}"
    api = Api(plane, namespace)
    await api.call(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
    )
    repo = make_git_repo()
    repo.commit(_manifests("1"))
    addr = f"127.0.0.1:{free_port()}"
    everything = "--watch-label-selector="
    async with (
        in_process(
            "source_controller",
            plane,
            everything,
            f"--storage-path={tmp_path}",
            f"--storage-addr={addr}",
            f"--storage-adv-addr={addr}",
        ),
        in_process(
            "kustomize_controller",
            plane,
            everything,
            "--min-retry-delay=0.5s",
            "--max-retry-delay=3s",
            "--requeue-dependency=1s",
        ),
    ):
        await api.create(
            SOURCE,
            "gitrepositories",
            gitrepository("repo", git_http_server.url(repo), labels=False),
        )
        for i in range(KUSTOMIZATIONS):
            await api.create(
                KUSTOMIZE,
                "kustomizations",
                kustomization(
                    f"k{i}",
                    "repo",
                    labels=False,
                    path="./deploy",
                    namePrefix=f"k{i}-",
                    targetNamespace=namespace,
                ),
            )

        async def applying() -> bool:
            return any(k[0] == "Kustomization" and n for k, n in spy.active.items())

        await eventually(applying, timeout=60, interval=0.01)
        await _kill_apiserver(plane)
        await asyncio.sleep(3)  # reconciles fail, watches break, clients back off
        await plane.start_apiserver()

        async def converged(version: str) -> bool:
            for i in range(KUSTOMIZATIONS):
                status, obj = await api.get(api.path(KUSTOMIZE, "kustomizations", f"k{i}"))
                ready = [
                    c
                    for c in (obj.get("status") or {}).get("conditions", [])
                    if c["type"] == "Ready"
                ]
                if status != 200 or not ready or ready[0]["status"] != "True":
                    return False
            listing = await api.call("GET", f"/api/v1/namespaces/{namespace}/configmaps")
            values = {
                i["metadata"]["name"]: (i.get("data") or {}).get("v") for i in listing["items"]
            }
            expected = {f"k{k}-cm{c}" for k in range(KUSTOMIZATIONS) for c in range(CONFIGMAPS)}
            return expected <= set(values) and all(values[n] == version for n in expected)

        await eventually(lambda: converged("1"), timeout=90)
        # The watches came back: a new commit reaches every Kustomization.
        repo.commit(_manifests("2"))
        await api.request_reconcile(api.path(SOURCE, "gitrepositories", "repo"))
        await eventually(lambda: converged("2"), timeout=90)

        for i in range(KUSTOMIZATIONS):
            await api.delete(api.path(KUSTOMIZE, "kustomizations", f"k{i}"))
        await api.delete(api.path(SOURCE, "gitrepositories", "repo"))

    assert spy.calls > KUSTOMIZATIONS + 1
    assert max(spy.peak.values()) == 1, spy.peak
