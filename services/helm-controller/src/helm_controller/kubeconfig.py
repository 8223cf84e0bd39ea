"""The kubeconfig a `helm` process runs with: which cluster, as whom.

The controller's own credentials come from the same place the runtime loads them
(`--kubeconfig`, `$KUBECONFIG`, the in-cluster service account, `~/.kube/config`);
`spec.kubeConfig.secretRef` replaces them with a remote cluster's (sanitised as Flux does);
`spec.serviceAccountName` (or `--default-service-account`) adds `as:
system:serviceaccount:<ns>:<name>`, which client-go turns into an `Impersonate-User`
header. The document is written 0600 into the action's private temp dir, never logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import yaml
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_api.objects import Obj
from gotk_artifacts.yaml_guard import load_yaml
from gotk_runtime import KubeClient, KubeError, NotFound, load_config
from gotk_runtime.kube import SECRETS, sanitize_kubeconfig

__all__ = [
    "KubeconfigError",
    "controller_kubeconfig",
    "release_client",
    "release_kubeconfig",
    "service_account_name",
]

_IN_CLUSTER_DIR: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_HOME_KUBECONFIG: Final = Path("~/.kube/config").expanduser()
IMPERSONATE_USER_HEADER: Final = "Impersonate-User"
_PATH_FIELDS: Final = ("certificate-authority", "client-certificate", "client-key", "tokenFile")
KUBECONFIG_KEYS: Final = ("value", "value.yaml")


class KubeconfigError(GotkError):
    """No usable kubeconfig for the release (controller's or `spec.kubeConfig`)."""


def service_account_name(hr: HelmRelease, default_service_account: str) -> str:
    return hr.spec.service_account_name or default_service_account


def controller_kubeconfig(path: str | None) -> Obj:
    """A self-contained kubeconfig for the controller's own identity (current context only)."""
    if path:
        return _load_file(Path(path))
    if env := os.environ.get("KUBECONFIG"):
        first = next((p for p in env.split(os.pathsep) if p), "")
        return _load_file(Path(first))
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster()
    return _load_file(_HOME_KUBECONFIG)


def _load_file(path: Path) -> Obj:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {err}") from None
    if not isinstance(document, dict):
        raise KubeconfigError(f"kubeconfig {path} is not a kubeconfig document")
    for section, inner in (("clusters", "cluster"), ("users", "user")):
        for entry in document.get(section) or ():
            fields = entry.get(inner) if isinstance(entry, dict) else None
            if not isinstance(fields, dict):
                continue
            for key in _PATH_FIELDS:
                value = fields.get(key)
                if isinstance(value, str) and value and not os.path.isabs(value):
                    fields[key] = str((path.parent / value).resolve())
    return _current_context_only(document, str(path))


def _in_cluster() -> Obj:
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "in-cluster",
                "cluster": {
                    "server": server,
                    "certificate-authority": str(_IN_CLUSTER_DIR / "ca.crt"),
                },
            }
        ],
        "users": [{"name": "in-cluster", "user": {"tokenFile": str(_IN_CLUSTER_DIR / "token")}}],
        "contexts": [
            {"name": "in-cluster", "context": {"cluster": "in-cluster", "user": "in-cluster"}}
        ],
        "current-context": "in-cluster",
    }


def _current_context_only(document: Obj, where: str) -> Obj:
    contexts = {c.get("name"): c.get("context") or {} for c in document.get("contexts") or ()}
    name = document.get("current-context") or next(iter(contexts), None)
    context = contexts.get(name)
    if context is None:
        raise KubeconfigError(f"kubeconfig {where} has no current context")
    cluster = _named(document, "clusters", context.get("cluster"))
    user = _named(document, "users", context.get("user")) or {"name": "user", "user": {}}
    if cluster is None:
        raise KubeconfigError(f"kubeconfig {where}: context '{name}' names no known cluster")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cluster", "cluster": dict(cluster.get("cluster") or {})}],
        "users": [{"name": "user", "user": dict(user.get("user") or {})}],
        "contexts": [{"name": "release", "context": {"cluster": "cluster", "user": "user"}}],
        "current-context": "release",
    }


def _named(document: Obj, section: str, name: Any) -> Obj | None:
    for entry in document.get(section) or ():
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


async def release_kubeconfig(
    client: KubeClient,
    hr: HelmRelease,
    base: Obj,
    *,
    default_service_account: str,
    insecure_exec: bool = False,
    insecure_tls: bool = False,
) -> Obj:
    """The kubeconfig helm uses for `hr`: remote or controller credentials, impersonated."""
    document = base
    if hr.spec.kube_config is not None:
        document = await _remote(client, hr, insecure_exec=insecure_exec, insecure_tls=insecure_tls)
    document = {**document, "users": [dict(u) for u in document["users"]]}
    account = service_account_name(hr, default_service_account)
    user = dict(document["users"][0]["user"])
    if account:
        user["as"] = f"system:serviceaccount:{hr.namespace}:{account}"
        user.pop("as-groups", None)
    document["users"][0]["user"] = user
    return document


async def _remote(
    client: KubeClient, hr: HelmRelease, *, insecure_exec: bool, insecure_tls: bool
) -> Obj:
    ref = hr.spec.kube_config
    assert ref is not None
    if ref.secret_ref is None:
        raise KubeconfigError(
            "spec.kubeConfig.configMapRef (cloud provider authentication) is not supported "
            "by gotk yet; use spec.kubeConfig.secretRef",
            stalling=True,
        )
    name = ref.secret_ref.name
    where = f"Secret '{hr.namespace}/{name}'"
    try:
        secret = await client.get(SECRETS, name, hr.namespace)
    except NotFound:
        raise KubeconfigError(f"spec.kubeConfig.secretRef: {where} not found") from None
    data = secret.get("data") or {}
    keys = (ref.secret_ref.key,) if ref.secret_ref.key else KUBECONFIG_KEYS
    encoded = next((data[k] for k in keys if k in data), None)
    if encoded is None:
        raise KubeconfigError(
            f"spec.kubeConfig.secretRef: {where} has none of the keys "
            + ", ".join(f"'{k}'" for k in keys)
        )
    try:
        document = load_yaml(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, yaml.YAMLError) as err:
        raise KubeconfigError(
            f"spec.kubeConfig.secretRef: {where} holds no valid kubeconfig: {type(err).__name__}"
        ) from None
    if not isinstance(document, dict):
        raise KubeconfigError(f"spec.kubeConfig.secretRef: {where} holds no valid kubeconfig")
    sanitized = sanitize_kubeconfig(
        document, allow_exec=insecure_exec, allow_insecure_tls=insecure_tls
    )
    return _current_context_only(sanitized, f"spec.kubeConfig.secretRef {where}")


@contextlib.asynccontextmanager
async def release_client(
    controller_client: KubeClient, hr: HelmRelease, kubeconfig: Obj, *, default_service_account: str
) -> AsyncIterator[KubeClient]:
    """A client for the release's cluster and identity (what helm itself will use)."""
    account = service_account_name(hr, default_service_account)
    if hr.spec.kube_config is None and not account:
        yield controller_client
        return
    config = controller_client.config
    if hr.spec.kube_config is not None:
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kubeconfig-"))
        try:
            path = workdir / "config"
            await asyncio.to_thread(_write_private, path, yaml.safe_dump(kubeconfig).encode())
            try:
                config = await load_config(path)
            except KubeError as err:
                raise KubeconfigError(
                    f"spec.kubeConfig.secretRef: the kubeconfig cannot be used: {err.message}"
                ) from None
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, True)
    headers = {IMPERSONATE_USER_HEADER: f"system:serviceaccount:{hr.namespace}:{account}"}
    client = KubeClient(
        config,
        user_agent="helm-controller",
        rate_limiter=controller_client.rate_limiter,
        headers=headers if account else None,
    )
    try:
        yield client
    finally:
        await client.close()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
