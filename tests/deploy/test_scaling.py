"""Per-service scaling as charts/gotk deploys it, proven on a real control plane.

Kwok's Pods run nothing, so the services run as processes configured exactly as the
chart renders them (`helm install` of tests/fixtures/chart.py's TEST_VALUES, then each
Deployment's container args and env, as its own ServiceAccount with the chart's RBAC; only
listen addresses and the storage path are moved to free loopback ports and temp dirs, see
fixtures.chart.ChartProcess). Who reconciled what is read from each process's own
`gotk_reconcile_duration_seconds_count{kind,name,namespace}` metrics.

- Failover: the two replicas of Deployment source-controller; only the leader reconciles
  (the standby's metrics stay empty and it is not Ready), SIGKILL the leader, the standby
  takes over within the lease, and every object (those created after the kill too) ends up
  Ready with its artifact served by the new leader.
- Sharding: one replica of each of the six Deployments of source- and kustomize-controller
  (unsharded, shard1, shard2); each GitRepository and Kustomization is reconciled by exactly
  the one process of its `sharding.fluxcd.io/key`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fixtures.chart import LEASE_SECONDS, RETRY_SECONDS, ChartProcess, InstalledChart
from fixtures.controllers import condition, eventually
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

SOURCE_API = "/apis/source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "/apis/kustomize.toolkit.fluxcd.io/v1"
SHARD_LABEL = "sharding.fluxcd.io/key"


@pytest.fixture
async def chart_namespace(installed_chart: InstalledChart) -> AsyncIterator[str]:
    plane = installed_chart.plane
    name = f"t-{uuid.uuid4().hex[:10]}"
    status, body = await plane.request(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
    )
    assert status == 201, body
    try:
        yield name
    finally:
        await plane.request("DELETE", f"/api/v1/namespaces/{name}")


class Processes:
    def __init__(self, chart: InstalledChart, workdir: Path) -> None:
        self.chart = chart
        self.workdir = workdir
        self.started: list[ChartProcess] = []

    async def start(self, deployment_name: str, replica: int = 0) -> ChartProcess:
        deployment = self.chart.deployment(deployment_name)
        account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        kubeconfig = await self.chart.kubeconfig_of(account, self.workdir)
        process = ChartProcess(deployment, kubeconfig, self.workdir, replica, self.chart.namespace)
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.started)


@pytest.fixture
async def processes(installed_chart: InstalledChart, tmp_path: Path) -> AsyncIterator[Processes]:
    started = Processes(installed_chart, tmp_path)
    try:
        yield started
    finally:
        for process in started.started:
            process.kill()


async def _create(plane: ControlPlane, path: str, obj: Obj) -> None:
    status, body = await plane.request("POST", path, obj)
    assert status == 201, body


def _git_repository(name: str, url: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"url": url, "interval": "10m", "ref": {"branch": "master"}},
    }


async def _artifact_urls(plane: ControlPlane, namespace: str) -> dict[str, str]:
    """GitRepository name -> artifact URL, for those Ready at their current generation."""
    _, body = await plane.request("GET", f"{SOURCE_API}/namespaces/{namespace}/gitrepositories")
    urls = {}
    for item in body["items"]:
        ready = condition(item, "Ready").get("status") == "True"
        artifact = (item.get("status") or {}).get("artifact")
        if ready and artifact:
            urls[item["metadata"]["name"]] = artifact["url"]
    return urls


async def test_standby_replica_takes_over_within_the_lease_and_drops_nothing(
    installed_chart: InstalledChart,
    chart_namespace: str,
    processes: Processes,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    plane = installed_chart.plane
    assert installed_chart.deployment("source-controller")["spec"]["replicas"] == 2
    replicas = [await processes.start("source-controller", i) for i in range(2)]

    async def leader() -> ChartProcess | None:
        ready = [p for p in replicas if await p.ready()]
        return ready[0] if len(ready) == 1 else None

    first: ChartProcess = await eventually(leader, timeout=90)
    standby = replicas[1 - replicas.index(first)]
    repo = make_git_repo()
    repo.commit({"app.yaml": "kind: ConfigMap"})
    url = git_http_server.url(repo)
    before = [f"before-{i}" for i in range(6)]
    for name in before:
        await _create(
            plane,
            f"{SOURCE_API}/namespaces/{chart_namespace}/gitrepositories",
            _git_repository(name, url),
        )

    async def all_served_by(process: ChartProcess, names: list[str]) -> bool:
        urls = await _artifact_urls(plane, chart_namespace)
        prefix = f"http://{process.storage}/"
        return all(urls.get(n, "").startswith(prefix) for n in names)

    await eventually(lambda: all_served_by(first, before), timeout=90)
    # Only the leader reconciles: the standby is not Ready and has reconciled nothing.
    for _ in range(3):
        assert not await standby.ready()
        assert not [k for k in await standby.reconcile_counts() if k[1] == chart_namespace]
        await asyncio.sleep(0.5)
    assert {k[2] for k in await first.reconcile_counts() if k[1] == chart_namespace} == set(before)
    _, lease = await plane.request(
        "GET",
        f"/apis/coordination.k8s.io/v1/namespaces/{installed_chart.namespace}/leases",
    )
    (held,) = [item for item in lease["items"] if item["metadata"]["name"].startswith("source")]
    transitions = held["spec"].get("leaseTransitions", 0)

    loop = asyncio.get_running_loop()
    first.kill()
    killed_at = loop.time()
    after = [f"after-{i}" for i in range(3)]
    for name in after:
        await _create(
            plane,
            f"{SOURCE_API}/namespaces/{chart_namespace}/gitrepositories",
            _git_repository(name, url),
        )
    await eventually(standby.ready, timeout=LEASE_SECONDS * 4 + 10)
    took_over = loop.time() - killed_at
    # The lease runs out LEASE_SECONDS after the dead leader's last renewal, and the standby
    # tries every RETRY_SECONDS; a little more for a busy machine.
    assert took_over <= LEASE_SECONDS + 2 * RETRY_SECONDS + 3, took_over
    await eventually(lambda: all_served_by(standby, before + after), timeout=90)
    _, lease = await plane.request(
        "GET",
        f"/apis/coordination.k8s.io/v1/namespaces/{installed_chart.namespace}/leases/"
        + held["metadata"]["name"],
    )
    assert lease["spec"]["holderIdentity"] != held["spec"]["holderIdentity"]
    assert lease["spec"]["leaseTransitions"] == transitions + 1
    reconciled = {k[2] for k in await standby.reconcile_counts() if k[1] == chart_namespace}
    assert reconciled == set(before + after)


async def test_each_object_is_reconciled_by_exactly_its_shard(
    installed_chart: InstalledChart,
    chart_namespace: str,
    processes: Processes,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
) -> None:
    plane = installed_chart.plane
    shards = {"": "", "shard1": "-shard1", "shard2": "-shard2"}
    running = {}
    for shard, suffix in shards.items():
        for service in ("source-controller", "kustomize-controller"):
            running[(service, shard)] = await processes.start(f"{service}{suffix}")
    repo = make_git_repo()
    expected: dict[tuple[str, str], str] = {}  # (kind, name) -> shard
    for shard in shards:
        name = f"app-{shard or 'main'}"
        labels = {SHARD_LABEL: shard} if shard else {}
        repo.commit({f"{name}/configmap.yaml": _configmap(name)})
        await _create(
            plane,
            f"{SOURCE_API}/namespaces/{chart_namespace}/gitrepositories",
            _git_repository(name, git_http_server.url(repo), labels),
        )
        kustomization = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "interval": "10m",
                "path": f"./{name}",
                "prune": True,
                "targetNamespace": chart_namespace,
                "sourceRef": {"kind": "GitRepository", "name": name},
            },
        }
        await _create(
            plane, f"{KUSTOMIZE_API}/namespaces/{chart_namespace}/kustomizations", kustomization
        )
        expected[("GitRepository", name)] = shard
        expected[("Kustomization", name)] = shard

    async def all_applied() -> bool:
        _, body = await plane.request(
            "GET", f"{KUSTOMIZE_API}/namespaces/{chart_namespace}/kustomizations"
        )
        ready = [i for i in body["items"] if condition(i, "Ready").get("status") == "True"]
        return len(ready) == len(shards)

    try:
        await eventually(all_applied, timeout=120)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{processes.logs()}") from None
    for shard in shards:
        name = f"app-{shard or 'main'}"
        status, _ = await plane.request(
            "GET", f"/api/v1/namespaces/{chart_namespace}/configmaps/{name}"
        )
        assert status == 200, name
        urls = await _artifact_urls(plane, chart_namespace)
        storage = running[("source-controller", shard)].storage
        assert urls[name].startswith(f"http://{storage}/"), (name, urls[name])

    # Who reconciled what, from each process's own metrics.
    reconcilers: dict[tuple[str, str], set[str]] = {key: set() for key in expected}
    for (service, shard), process in running.items():
        for kind, namespace, name in await process.reconcile_counts():
            if namespace == chart_namespace:
                reconcilers[(kind, name)].add(f"{service}/{shard or 'main'}")
    for (kind, name), shard in expected.items():
        service = "source-controller" if kind == "GitRepository" else "kustomize-controller"
        assert reconcilers[(kind, name)] == {f"{service}/{shard or 'main'}"}, (kind, name)


def _configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  shard: {name}\n"
