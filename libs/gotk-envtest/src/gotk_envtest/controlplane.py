"""A real Kubernetes control plane on loopback: etcd + kube-apiserver (`minimal`), plus
kube-controller-manager, kube-scheduler and kwok with one fake node (`full`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml

from . import pki as pki_module
from .binaries import binary
from .kubeconfig import write_kubeconfig
from .kwok_stages import STAGES
from .process import ManagedProcess

Profile = Literal["minimal", "full"]
FAKE_NODE = "kwok-node-0"
_START_TIMEOUT = 90.0


class ControlPlaneError(RuntimeError):
    """A component failed to start or to become ready."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ControlPlane:
    """Owns the processes, certificates and kubeconfig of one local cluster."""

    def __init__(self, workdir: Path, profile: Profile = "minimal", crd_dirs: Sequence[Path] = ()):
        self.workdir = workdir
        self.profile: Profile = profile
        self.crd_dirs = list(crd_dirs)
        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.etcd_url = f"http://127.0.0.1:{free_port()}"
        self.kubeconfig = workdir / "kubeconfig"
        self._processes: dict[str, ManagedProcess] = {}
        self._session: aiohttp.ClientSession | None = None
        self._pki: pki_module.Pki | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def started(
        cls,
        profile: Profile = "minimal",
        workdir: Path | None = None,
        crd_dirs: Sequence[Path] = (),
    ) -> AsyncIterator[ControlPlane]:
        """Start a control plane and stop it (every process) when the block exits."""
        with contextlib.ExitStack() as stack:
            if workdir is None:
                workdir = Path(
                    stack.enter_context(tempfile.TemporaryDirectory(prefix="gotk-envtest-"))
                )
            plane = cls(workdir, profile, crd_dirs)
            try:
                await plane.start()
                yield plane
            finally:
                await plane.stop()

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self._pki = pki_module.generate(self.workdir / "pki", ["127.0.0.1", "localhost"])
        write_kubeconfig(self.kubeconfig, self.server, self.ca_file, self.cert_file, self.key_file)
        await self._start_etcd()
        await self.start_apiserver()
        await self._wait_for_default_namespace()
        if self.profile == "full":
            await self._start_full_profile()
        await self.install_crds(self._crd_files())

    async def stop(self) -> None:
        for name in reversed(list(self._processes)):
            await self._processes[name].stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def kill_now(self) -> None:
        for process in reversed(list(self._processes.values())):
            process.kill_now()

    @property
    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self._processes.items() if p.running and p.pid}

    # -- files -------------------------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        return self._require_pki().ca_cert

    @property
    def cert_file(self) -> Path:
        return self._require_pki().admin_cert

    @property
    def key_file(self) -> Path:
        return self._require_pki().admin_key

    def _require_pki(self) -> pki_module.Pki:
        if self._pki is None:
            raise ControlPlaneError("the control plane has not been started")
        return self._pki

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    # -- etcd and the API server -------------------------------------------------------------

    async def _start_etcd(self) -> None:
        peer = f"http://127.0.0.1:{free_port()}"
        argv = [
            str(binary("etcd")),
            "--name=gotk",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=gotk={peer}",
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=8589934592",
            "--log-level=warn",
        ]
        etcd = self._add("etcd", argv)
        etcd.start()
        await self._wait_http(etcd, f"{self.etcd_url}/health", tls=False)

    def _apiserver_argv(self) -> list[str]:
        p = self._require_pki()
        argv = [
            str(binary("kube-apiserver")),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.apiserver_port}",
            f"--tls-cert-file={p.serving_cert}",
            f"--tls-private-key-file={p.serving_key}",
            f"--client-ca-file={p.ca_cert}",
            # kind's range: room for 65k Services (Flux's benchmark makes one per app).
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            "--authorization-mode=RBAC",
            "--endpoint-reconciler-type=none",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={p.sa_public_key}",
            f"--service-account-signing-key-file={p.sa_private_key}",
            f"--cert-dir={self.workdir / 'pki'}",
            "--v=0",
        ]
        if self.profile == "minimal":
            # Without a controller-manager no `default` ServiceAccount ever appears, and
            # this admission plugin would then refuse every pod.
            argv.append("--disable-admission-plugins=ServiceAccount")
        return argv

    async def start_apiserver(self) -> None:
        """Start (or restart, on the same port and etcd) the API server and wait for /readyz."""
        apiserver = self._processes.get("kube-apiserver") or self._add(
            "kube-apiserver", self._apiserver_argv()
        )
        apiserver.start()
        await self._wait_http(apiserver, f"{self.server}/readyz", tls=True)

    async def stop_apiserver(self) -> None:
        """Stop the API server only, to simulate an outage; etcd keeps the data."""
        await self._processes["kube-apiserver"].stop()

    async def _wait_for_default_namespace(self) -> None:
        await self._poll(
            lambda: self._exists("/api/v1/namespaces/default"), "the default namespace"
        )

    # -- full profile ------------------------------------------------------------------------

    async def _start_full_profile(self) -> None:
        p = self._require_pki()
        always_allow = "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics"
        self._add(
            "kube-controller-manager",
            [
                str(binary("kube-controller-manager")),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                f"--service-account-private-key-file={p.sa_private_key}",
                f"--root-ca-file={p.ca_cert}",
                "--controllers=*",
                # The default 20 QPS lets the Deployment controller roll out ~5 Deployments a
                # second: Flux's benchmark creates 1,000 at once.
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--concurrent-deployment-syncs=20",
                "--concurrent-replicaset-syncs=20",
                always_allow,
            ],
        ).start()
        self._add(
            "kube-scheduler",
            [
                str(binary("kube-scheduler")),
                f"--kubeconfig={self.kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={free_port()}",
                always_allow,
            ],
        ).start()
        stages = self.workdir / "kwok-stages.yaml"
        stages.write_text(STAGES)
        kwok_home = self.workdir / "kwok-home"
        kwok_home.mkdir(exist_ok=True)
        self._add(
            "kwok",
            [
                str(binary("kwok")),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={stages}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{free_port()}",
                "--cidr=10.244.0.0/16",
                # kwok renews the node Lease; without it the controller-manager marks the
                # fake node NotReady after ~50 s and its pods stop being Ready.
                "--node-lease-duration-seconds=40",
            ],
            env={**os.environ, "HOME": str(kwok_home)},
        ).start()
        status, body = await self.request(
            "POST",
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": FAKE_NODE,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {
                        "kubernetes.io/hostname": FAKE_NODE,
                        "kubernetes.io/os": "linux",
                        "type": "kwok",
                    },
                },
            },
        )
        if status not in (201, 409):
            raise ControlPlaneError(f"creating the fake node failed: {status} {body}")
        await self._poll(self._node_ready, f"node {FAKE_NODE} to be Ready")
        await self._poll(
            lambda: self._exists("/api/v1/namespaces/default/serviceaccounts/default"),
            "the default ServiceAccount (kube-controller-manager)",
        )

    async def _node_ready(self) -> bool:
        status, node = await self.request("GET", f"/api/v1/nodes/{FAKE_NODE}")
        conditions = node.get("status", {}).get("conditions", []) if status == 200 else []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    # -- CRDs --------------------------------------------------------------------------------

    def _crd_files(self) -> list[Path]:
        return sorted(p for d in self.crd_dirs if d.is_dir() for p in d.glob("*.yaml"))

    async def install_crds(self, files: Iterable[Path]) -> None:
        """Server-side apply every CRD in `files` and wait until each is served."""
        served: list[tuple[str, str, str]] = []
        for path in files:
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                name = doc["metadata"]["name"]
                status, body = await self.request(
                    "PATCH",
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
                    "?fieldManager=gotk-envtest&force=true",
                    doc,
                    content_type="application/apply-patch+yaml",
                )
                if status not in (200, 201):
                    raise ControlPlaneError(f"installing CRD {name} from {path} failed: {body}")
                spec = doc["spec"]
                version = next(v["name"] for v in spec["versions"] if v.get("served", True))
                served.append((spec["group"], version, spec["names"]["plural"]))
        for group, version, plural in served:
            await self._poll(
                lambda g=group, v=version, pl=plural: self._resource_served(g, v, pl),
                f"CRD {plural}.{group} to be served",
            )

    async def _resource_served(self, group: str, version: str, plural: str) -> bool:
        status, body = await self.request("GET", f"/apis/{group}/{version}")
        return status == 200 and any(r.get("name") == plural for r in body.get("resources", []))

    # -- HTTP --------------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | list[Any] | None = None,
        *,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One raw HTTPS call to the API server as the admin user: (status, parsed JSON)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(ssl=self._ssl_context())
            self._session = aiohttp.ClientSession(connector=connector)
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        async with self._session.request(
            method,
            self.server + path,
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            text = await response.text()
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = text
            return response.status, parsed

    async def _exists(self, path: str) -> bool:
        status, _ = await self.request("GET", path)
        return status == 200

    # -- helpers -----------------------------------------------------------------------------

    def _add(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(name, argv, self._log(name), env)
        self._processes[name] = process
        return process

    async def _wait_http(self, process: ManagedProcess, url: str, *, tls: bool) -> None:
        context = self._ssl_context() if tls else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context or False)
        ) as session:
            while loop.time() < deadline:
                if not process.running:
                    raise ControlPlaneError(process.exit_message())
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise ControlPlaneError(f"{process.name} not ready at {url} after {_START_TIMEOUT}s")

    async def _poll(self, check: Any, what: str, timeout: float = _START_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for process in self._processes.values():
                if process.wanted and not process.running:
                    raise ControlPlaneError(process.exit_message())
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                if await check():
                    return
            await asyncio.sleep(0.1)
        raise ControlPlaneError(f"timed out after {timeout}s waiting for {what}")
