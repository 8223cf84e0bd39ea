"""Credentials used by an authenticated Git, Helm and OCI run never show where others look.

Promise: while source-controller clones from a Git server with basic auth, pulls a chart
from a Helm repository with basic auth, packages a chart from Git whose dependency comes
from that repository (so `helm dependency update` runs with its credentials), and pulls an
OCI artifact from a registry with basic auth, none of the passwords (nor the base64
user:password pairs) appear in any process's command line (/proc/*/cmdline sampled every
few milliseconds for the whole run), in the controller's debug log, in the namespace's
events, or in any object's status.

All servers are real (git http-backend, a chart repository served by aiohttp with helm's
own packaging, the `registry` binary); the controller is a child process run with
--log-level=debug, so its whole log is read.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from fixtures.faults import SOURCE, Api, SourceControllerProcess, gitrepository
from fixtures.git_servers import GitHTTPServer, GitRepo
from fixtures.helm_repo import HelmRepoFactory
from fixtures.oci_registry import Registry, unique_repo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

LABELS = {"gotk.test/leader": "faults"}


@contextmanager
def sampled_cmdlines() -> Iterator[set[bytes]]:
    """Every distinct /proc/*/cmdline seen while the block runs (every ~2 ms)."""
    seen: set[bytes] = set()
    stop = threading.Event()

    def sample() -> None:
        proc = Path("/proc")
        while not stop.is_set():
            for entry in proc.iterdir():
                # A process may end between the listing and the read.
                if entry.name.isdigit():
                    with contextlib.suppress(OSError):
                        seen.add((entry / "cmdline").read_bytes())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, name="cmdline-sampler", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(5)


def _secret(name: str, data: dict[str, bytes], type_: str = "Opaque") -> Obj:
    encoded = {k: base64.b64encode(v).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "metadata": {"name": name},
        "data": encoded,
    }


def _dockerconfig(host: str, user: str, password: str) -> bytes:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    return json.dumps({"auths": {host: {"auth": auth}}}).encode()


def _source(kind: str, name: str, **spec: object) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": dict(LABELS)},
        "spec": {"interval": "1h", **spec},
    }


async def test_no_credential_reaches_a_command_line_log_event_or_status(
    cluster: ControlPlane,
    namespace: str,
    tmp_path: Path,
    make_git_repo: Callable[..., GitRepo],
    git_http_auth_server: GitHTTPServer,
    git_credentials: dict[str, str],
    helm_repo_factory: HelmRepoFactory,
    oci_auth_registry: Registry,
    oci_credentials: tuple[str, str],
) -> None:
    api = Api(cluster, namespace)
    git_user, git_password = git_credentials["username"], git_credentials["password"]
    helm_user, helm_password = "helm-user", f"helm-pw-{time.time_ns()}"
    oci_user, oci_password = oci_credentials

    charts = await helm_repo_factory(auth=(helm_user, helm_password))
    await charts.add_chart("dep", "0.1.0")
    await charts.add_chart("pulled", "1.0.0")
    repo = make_git_repo()
    app_chart = {
        "apiVersion": "v2",
        "name": "app",
        "version": "1.0.0",
        "dependencies": [{"name": "dep", "version": "0.1.0", "repository": charts.url}],
    }
    repo.commit(
        {
            "charts/app/Chart.yaml": yaml.safe_dump(app_chart),
            "charts/app/values.yaml": "replicas: 1\n",
        }
    )
    oci_repo = unique_repo()
    await oci_registry_push(oci_auth_registry, oci_repo)

    secrets = {
        "git": _secret("git", {"username": git_user.encode(), "password": git_password.encode()}),
        "helm": _secret(
            "helm", {"username": helm_user.encode(), "password": helm_password.encode()}
        ),
        "oci": _secret(
            "oci",
            {".dockerconfigjson": _dockerconfig(oci_auth_registry.host, oci_user, oci_password)},
            "kubernetes.io/dockerconfigjson",
        ),
    }
    for secret in secrets.values():
        await api.call("POST", f"/api/v1/namespaces/{namespace}/secrets", secret)

    objects = [
        (
            "gitrepositories",
            gitrepository("app", git_http_auth_server.url(repo), secretRef={"name": "git"}),
        ),
        (
            "helmrepositories",
            _source("HelmRepository", "charts", url=charts.url, secretRef={"name": "helm"}),
        ),
        (
            "helmcharts",
            _source(
                "HelmChart",
                "pulled",
                chart="pulled",
                sourceRef={"kind": "HelmRepository", "name": "charts"},
            ),
        ),
        (
            "helmcharts",
            _source(
                "HelmChart",
                "from-git",
                chart="charts/app",
                sourceRef={"kind": "GitRepository", "name": "app"},
            ),
        ),
        (
            "ocirepositories",
            _source(
                "OCIRepository",
                "oci",
                url=oci_auth_registry.url(oci_repo),
                ref={"tag": "v1"},
                insecure=True,
                secretRef={"name": "oci"},
            ),
        ),
    ]

    controller = SourceControllerProcess(cluster, tmp_path / "storage", tmp_path / "sc.log")
    with sampled_cmdlines() as cmdlines:
        controller.start()
        try:
            for plural, obj in objects:
                await api.create(SOURCE, plural, obj)
            statuses = []
            for plural, obj in objects:
                path = api.path(SOURCE, plural, str(obj["metadata"]["name"]))
                statuses.append(await api.until_ready(path, timeout=120))
            events = await api.events()
            for plural, obj in objects:  # while the controller runs, to handle the finalizers
                await api.delete(api.path(SOURCE, plural, str(obj["metadata"]["name"])))
        finally:
            controller.kill()

    secrets_to_find = {
        "git password": git_password,
        "helm password": helm_password,
        "oci password": oci_password,
        "git basic pair": base64.b64encode(f"{git_user}:{git_password}".encode()).decode(),
        "helm basic pair": base64.b64encode(f"{helm_user}:{helm_password}".encode()).decode(),
        "oci basic pair": base64.b64encode(f"{oci_user}:{oci_password}".encode()).decode(),
    }
    places = {
        "a command line": b"\n".join(cmdlines).decode(errors="replace"),
        "the controller log": controller.logs(),
        "an event": events,
        "a status": json.dumps([s["status"] for s in statuses]),
    }
    programs = [c.split(b"\0") for c in cmdlines]
    assert any(argv[0].endswith(b"git") for argv in programs), "git ran"
    assert any(argv[0].endswith(b"helm") and b"dependency" in argv for argv in programs)
    assert len(places["the controller log"]) > 1000, "the debug log was written"
    leaks = [
        (what, where)
        for what, value in secrets_to_find.items()
        for where, text in places.items()
        if value in text
    ]
    assert leaks == []


async def oci_registry_push(registry: Registry, repo: str) -> None:
    await registry.push(repo, "v1", {"app.yaml": "kind: ConfigMap\n"})
