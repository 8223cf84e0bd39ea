"""A tiny kubectl for `make demo`: apply, get, wait, reconcile and edit, against $KUBECONFIG.

    demo_kube.py apply FILE [--var NAME=VALUE ...]
    demo_kube.py get KIND[,KIND...] [-n NAMESPACE] [-l SELECTOR]
    demo_kube.py wait KIND/NAME -n NAMESPACE [--revision SHA] [--replicas N] [--timeout S]
    demo_kube.py reconcile KIND/NAME -n NAMESPACE [--revision SHA] [--timeout S]
    demo_kube.py edit KIND/NAME -n NAMESPACE JSON_MERGE_PATCH
    demo_kube.py wait-http URL --pid PID [--timeout S]

The demo must not depend on `kubectl` being installed. This is synchronous and uses only
the standard library and PyYAML on purpose: every demo step is one short command, and
importing an async client stack costs seconds per call on a busy 2-core machine.
A failed wait exits 1 with what was last seen; demo.sh adds where the logs are.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import ssl
import string
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
FIELD_MANAGER = "gotk-demo"
# What `kubectl edit` records as the manager of fields it changes.
HAND_EDIT_MANAGER = "kubectl-edit"


class DemoError(Exception):
    """A step of the demo failed; the message says what was expected and what was seen."""


# --- the API server


@dataclass(frozen=True)
class Kind:
    prefix: str
    plural: str
    namespaced: bool = True


KINDS: dict[str, Kind] = {
    "namespace": Kind("/api/v1", "namespaces", namespaced=False),
    "node": Kind("/api/v1", "nodes", namespaced=False),
    "configmap": Kind("/api/v1", "configmaps"),
    "service": Kind("/api/v1", "services"),
    "pod": Kind("/api/v1", "pods"),
    "deployment": Kind("/apis/apps/v1", "deployments"),
    "gitrepository": Kind("/apis/source.toolkit.fluxcd.io/v1", "gitrepositories"),
    "kustomization": Kind("/apis/kustomize.toolkit.fluxcd.io/v1", "kustomizations"),
    "helmrelease": Kind("/apis/helm.toolkit.fluxcd.io/v2", "helmreleases"),
    "helmchart": Kind("/apis/source.toolkit.fluxcd.io/v1", "helmcharts"),
}


def kind_named(name: str) -> tuple[str, Kind]:
    """A kind by its singular or plural name, as kubectl accepts them."""
    lowered = name.lower()
    for key, kind in KINDS.items():
        if lowered in (key, kind.plural):
            return key, kind
    raise DemoError(f"unknown kind {name!r}; known: {', '.join(KINDS)}")


def object_path(kind: Kind, namespace: str | None, name: str | None = None) -> str:
    path = kind.prefix
    if kind.namespaced and namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{kind.plural}"
    return f"{path}/{name}" if name else path


class Cluster:
    """The API server named by the current context of a kubeconfig (client-cert or token)."""

    def __init__(self, kubeconfig: Path) -> None:
        config = yaml.safe_load(kubeconfig.read_text())
        context_name = config.get("current-context")
        context = _named(config, "contexts", context_name)["context"]
        cluster = _named(config, "clusters", context["cluster"])["cluster"]
        user = _named(config, "users", context["user"])["user"]
        self.server = str(cluster["server"]).rstrip("/")
        self._token = user.get("token")
        self._ssl = ssl.create_default_context()
        if "certificate-authority-data" in cluster:
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            self._ssl = ssl.create_default_context(cadata=ca)
        elif "certificate-authority" in cluster:
            self._ssl = ssl.create_default_context(cafile=cluster["certificate-authority"])
        with _client_cert(user) as pair:
            if pair is not None:
                self._ssl.load_cert_chain(*pair)

    def request(
        self,
        method: str,
        path: str,
        body: Obj | None = None,
        *,
        content_type: str = "application/json",
    ) -> tuple[int, Obj]:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.server + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=15) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            payload = err.read()
            try:
                return err.code, json.loads(payload)
            except ValueError:
                return err.code, {"message": payload.decode(errors="replace")}
        except (urllib.error.URLError, OSError) as err:
            raise DemoError(f"the API server at {self.server} is unreachable: {err}") from err

    def get(self, kind: Kind, namespace: str | None, name: str) -> Obj | None:
        status, body = self.request("GET", object_path(kind, namespace, name))
        if status == 404:
            return None
        if status != 200:
            raise DemoError(f"GET {object_path(kind, namespace, name)}: {_message(body)}")
        return body

    def list(self, kind: Kind, namespace: str | None, selector: str | None = None) -> list[Obj]:
        path = object_path(kind, namespace)
        if selector:
            path += "?labelSelector=" + urllib.parse.quote(selector)
        status, body = self.request("GET", path)
        if status != 200:
            raise DemoError(f"listing {kind.plural}: {_message(body)}")
        items: list[Obj] = body.get("items", [])
        return items

    def patch(self, kind: Kind, namespace: str | None, name: str, patch: Obj, manager: str) -> Obj:
        path = object_path(kind, namespace, name) + f"?fieldManager={manager}"
        status, body = self.request(
            "PATCH", path, patch, content_type="application/merge-patch+json"
        )
        if status != 200:
            raise DemoError(f"patching {kind.plural}/{name}: {_message(body)}")
        return body

    def apply(self, doc: Obj) -> None:
        _, kind = kind_named(doc["kind"])
        metadata = doc["metadata"]
        path = object_path(kind, metadata.get("namespace"), metadata["name"])
        path += f"?fieldManager={FIELD_MANAGER}&force=true"
        status, body = self.request("PATCH", path, doc, content_type="application/apply-patch+yaml")
        if status not in (200, 201):
            raise DemoError(f"applying {doc['kind']}/{metadata['name']}: {_message(body)}")


def _named(config: Obj, section: str, name: str) -> Obj:
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            return dict(entry)
    raise DemoError(f"kubeconfig has no {section[:-1]} named {name!r}")


@contextlib.contextmanager
def _client_cert(user: Obj) -> Iterator[tuple[str, str] | None]:
    """The client certificate and key as files, which is all `ssl` can load them from."""
    if "client-certificate" in user:
        yield user["client-certificate"], user["client-key"]
        return
    if "client-certificate-data" not in user:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="gotk-demo-") as scratch:
        cert, key = Path(scratch, "cert.pem"), Path(scratch, "key.pem")
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.touch(mode=0o600)
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        yield str(cert), str(key)


def _message(body: Obj) -> str:
    return str(body.get("message") or body)


# --- reading objects


def condition(obj: Obj, type_: str) -> Obj:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return {}


def flux_ready(obj: Obj) -> bool:
    """Ready=True for the object's current generation, as `flux get` reports it."""
    status = obj.get("status") or {}
    ready = condition(obj, "Ready")
    return ready.get("status") == "True" and status.get("observedGeneration") == obj.get(
        "metadata", {}
    ).get("generation")


def revision_of(obj: Obj) -> str:
    status = obj.get("status") or {}
    return str(
        status.get("lastAppliedRevision")
        or status.get("lastAttemptedRevision")
        or (status.get("artifact") or {}).get("revision")
        or ""
    )


def rollout(deployment: Obj) -> tuple[bool, str]:
    """Whether a Deployment is fully rolled out, and a one-line account of where it stands."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    total = int(status.get("replicas") or 0)
    current = int(status.get("observedGeneration") or 0) >= int(
        deployment["metadata"].get("generation", 0)
    )
    done = current and updated == want and available == want and total == want
    word = "rolled out" if done else "rolling out"
    return done, f"{word}: {updated} up-to-date, {available} available of {want}"


# --- the table


def _row(kind_name: str, obj: Obj) -> tuple[str, str, str, str]:
    metadata = obj["metadata"]
    name = f"{kind_name}/{metadata['name']}"
    namespace = metadata.get("namespace", "")
    status = obj.get("status") or {}
    if kind_name in ("gitrepository", "kustomization", "helmrelease", "helmchart"):
        ready = condition(obj, "Ready")
        return namespace, name, ready.get("status", "Unknown"), ready.get("message", "")
    if kind_name == "deployment":
        want = int((obj.get("spec") or {}).get("replicas", 1))
        _, summary = rollout(obj)
        return namespace, name, f"{status.get('readyReplicas') or 0}/{want}", summary
    if kind_name == "pod":
        statuses = status.get("containerStatuses") or []
        started = sum(1 for c in statuses if c.get("ready"))
        node = (obj.get("spec") or {}).get("nodeName") or "no node yet"
        phase = status.get("phase", "Pending")
        return namespace, name, f"{started}/{len(obj['spec']['containers'])}", f"{phase} on {node}"
    if kind_name == "node":
        ready = condition(obj, "Ready")
        fake = (metadata.get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake"
        what = "a fake node played by kwok" if fake else "a node"
        return (
            namespace,
            name,
            ready.get("status", "Unknown"),
            f"{what}: {ready.get('message', '')}",
        )
    if kind_name == "configmap":
        data = ", ".join(f"{k}={v}" for k, v in sorted((obj.get("data") or {}).items()))
        return namespace, name, "-", data
    if kind_name == "service":
        ports = ",".join(str(p.get("port")) for p in (obj.get("spec") or {}).get("ports") or [])
        return namespace, name, "-", f"ClusterIP {obj['spec'].get('clusterIP')} port {ports}"
    return namespace, name, "-", status.get("phase", "")


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("NAMESPACE", "NAME", "READY", "STATUS")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        status = " ".join(row[3].split())
        status = status if len(status) <= 100 else status[:97] + "..."
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + status
        )
    return "\n".join(lines)


# --- commands


def cmd_apply(cluster: Cluster, args: argparse.Namespace) -> None:
    variables = dict(item.split("=", 1) for item in args.var)
    text = string.Template(Path(args.file).read_text()).substitute(variables)
    for doc in yaml.safe_load_all(text):
        if doc:
            cluster.apply(doc)
            where = doc["metadata"].get("namespace")
            print(
                f"    applied {doc['kind'].lower()}/{doc['metadata']['name']}"
                + (f" in {where}" if where else "")
            )


def cmd_get(cluster: Cluster, args: argparse.Namespace) -> None:
    rows = []
    for name in args.kinds.split(","):
        kind_name, kind = kind_named(name)
        objects = cluster.list(kind, args.namespace, args.selector)
        rows += [_row(kind_name, obj) for obj in sorted(objects, key=_sort_key)]
    print("\n".join("    " + line for line in table(rows).splitlines()))


def _sort_key(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _poll(what: str, timeout: float, probe: Callable[[], tuple[bool, str]]) -> str:
    deadline = time.monotonic() + timeout
    seen = "nothing yet"
    while True:
        done, seen = probe()
        if done:
            return seen
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {seen}")
        time.sleep(0.5)


def _target(args: argparse.Namespace) -> tuple[str, Kind, str]:
    kind_part, _, name = args.object.partition("/")
    kind_name, kind = kind_named(kind_part)
    if not name:
        raise DemoError(f"expected KIND/NAME, got {args.object!r}")
    return kind_name, kind, name


def _describe(obj: Obj | None) -> str:
    if obj is None:
        return "not found"
    ready = condition(obj, "Ready")
    if not ready:
        return "no Ready condition yet"
    message = str(ready.get("message", ""))
    revision = revision_of(obj)
    if revision and revision not in message:
        message += f" (revision {revision})"
    return f"Ready={ready.get('status')} ({ready.get('reason', '')}) {message}"


def cmd_wait(cluster: Cluster, args: argparse.Namespace) -> None:
    kind_name, kind, name = _target(args)
    what = f"{kind_name}/{name} in {args.namespace}"

    def probe() -> tuple[bool, str]:
        obj = cluster.get(kind, args.namespace, name)
        if obj is None:
            return False, "not found"
        if kind_name == "deployment":
            return _deployment_done(cluster, obj, args.replicas)
        done = flux_ready(obj) and revision_of(obj).endswith(args.revision or "")
        return done, _describe(obj)

    if args.revision:
        what += f" to be Ready at revision {args.revision[:12]}"
    elif kind_name == "deployment":
        what += " to roll out" + (f" to {args.replicas} replicas" if args.replicas else "")
    else:
        what += " to be Ready"
    seen = _poll(what, args.timeout, probe)
    print(f"    {kind_name}/{name}: {seen}")


def _deployment_done(cluster: Cluster, deployment: Obj, replicas: int | None) -> tuple[bool, str]:
    done, summary = rollout(deployment)
    want = int(deployment["spec"].get("replicas", 1))
    if replicas is not None and want != replicas:
        return False, f"spec.replicas is {want}, not {replicas}; {summary}"
    selector = deployment["spec"]["selector"].get("matchLabels") or {}
    pods = [
        pod
        for pod in cluster.list(KINDS["pod"], deployment["metadata"]["namespace"])
        if selector.items() <= (pod["metadata"].get("labels") or {}).items()
        and not pod["metadata"].get("deletionTimestamp")
    ]
    running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
    nodes = sorted({p["spec"].get("nodeName") for p in running})
    summary += f"; {len(running)} pod(s) Running on {', '.join(nodes) or 'no node'}"
    done = done and len(running) == want == len(pods)
    if not done:
        for node_name in nodes:
            node = cluster.get(KINDS["node"], None, node_name) or {}
            summary += f"; node {node_name} Ready={condition(node, 'Ready').get('status')}"
    return done, summary


def cmd_reconcile(cluster: Cluster, args: argparse.Namespace) -> None:
    """Ask for a reconcile now, as `flux reconcile` does, and wait until it was handled."""
    kind_name, kind, name = _target(args)
    token = datetime.now(UTC).isoformat()
    patch = {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}}
    cluster.patch(kind, args.namespace, name, patch, FIELD_MANAGER)

    def probe() -> tuple[bool, str]:
        obj = cluster.get(kind, args.namespace, name)
        if obj is None or (obj.get("status") or {}).get("lastHandledReconcileAt") != token:
            return False, f"reconcile not handled yet; {_describe(obj)}"
        done = flux_ready(obj) and revision_of(obj).endswith(args.revision or "")
        return done, _describe(obj)

    what = f"{kind_name}/{name} in {args.namespace} to reconcile"
    if args.revision:
        what += f" to revision {args.revision[:12]}"
    seen = _poll(what, args.timeout, probe)
    print(f"    {kind_name}/{name}: {seen}")


def cmd_edit(cluster: Cluster, args: argparse.Namespace) -> None:
    kind_name, kind, name = _target(args)
    cluster.patch(kind, args.namespace, name, json.loads(args.patch), HAND_EDIT_MANAGER)
    print(f"    {kind_name}/{name} edited by hand: {args.patch}")


def cmd_wait_http(args: argparse.Namespace) -> None:
    """Wait for a controller's health endpoint, failing at once if its process died."""

    def probe() -> tuple[bool, str]:
        try:
            os.kill(args.pid, 0)
        except ProcessLookupError:
            raise DemoError(f"process {args.pid} exited before {args.url} answered") from None
        try:
            with urllib.request.urlopen(args.url, timeout=2) as response:
                return response.status == 200, f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as err:
            return False, str(err)

    _poll(args.url, args.timeout, probe)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="demo_kube.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    apply = commands.add_parser("apply")
    apply.add_argument("file")
    apply.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    get = commands.add_parser("get")
    get.add_argument("kinds")
    get.add_argument("-n", "--namespace")
    get.add_argument("-l", "--selector")
    for name in ("wait", "reconcile", "edit"):
        command = commands.add_parser(name)
        command.add_argument("object", metavar="KIND/NAME")
        command.add_argument("-n", "--namespace", required=True)
        command.add_argument("--timeout", type=float, default=60.0)
        if name in ("wait", "reconcile"):
            command.add_argument("--revision", help="wait for a revision ending with this")
        if name == "wait":
            command.add_argument("--replicas", type=int)
        if name == "edit":
            command.add_argument("patch", metavar="JSON_MERGE_PATCH")
    http = commands.add_parser("wait-http")
    http.add_argument("url")
    http.add_argument("--pid", type=int, required=True)
    http.add_argument("--timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        if args.command == "wait-http":
            cmd_wait_http(args)
            return 0
        kubeconfig = os.environ.get("KUBECONFIG")
        if not kubeconfig:
            raise DemoError("KUBECONFIG is not set")
        cluster = Cluster(Path(kubeconfig))
        commands: dict[str, Callable[[Cluster, argparse.Namespace], None]] = {
            "apply": cmd_apply,
            "get": cmd_get,
            "wait": cmd_wait,
            "reconcile": cmd_reconcile,
            "edit": cmd_edit,
        }
        commands[args.command](cluster, args)
    except DemoError as err:
        print(f"    error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
