"""The client a Kustomization applies with: the controller's own, a service account it
impersonates (`spec.serviceAccountName` / `--default-service-account`), and/or a remote
cluster from `spec.kubeConfig.secretRef`.

Impersonation is an ``Impersonate-User`` header on every request of a separate client. As
in Flux, where each impersonating client is built from its own rest.Config, that client has
its own ``--kube-api-qps``/``--kube-api-burst`` budget rather than spending the
controller's; the user is ``system:serviceaccount:<namespace>:<name>`` with no groups.
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

import yaml
from gotk_api.kustomize import Kustomization
from gotk_artifacts.yaml_guard import load_yaml
from gotk_runtime import GenericError, KubeClient, KubeError, NotFound, Stalling, load_config
from gotk_runtime.kube import SECRETS, ClusterConfig, sanitize_kubeconfig
from gotk_runtime.ratelimit import TokenBucket

IMPERSONATE_USER_HEADER = "Impersonate-User"
KUBECONFIG_KEYS = ("value", "value.yaml")


def own_limiter(template: TokenBucket | None) -> TokenBucket | None:
    """A fresh limiter with the same QPS and burst as ``template``."""
    return TokenBucket(template.qps, template.burst) if template is not None else None


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def service_account_name(ks: Kustomization, default_service_account: str) -> str:
    return ks.spec.service_account_name or default_service_account


@contextlib.asynccontextmanager
async def apply_client(
    controller_client: KubeClient,
    ks: Kustomization,
    *,
    default_service_account: str = "",
    user_agent: str = "kustomize-controller",
    insecure_exec: bool = False,
    insecure_tls: bool = False,
) -> AsyncIterator[KubeClient]:
    """The client to apply, prune and health-check with; closed on exit unless it is the
    controller's own. `insecure_exec`/`insecure_tls` are --insecure-kubeconfig-exec/-tls:
    whether `spec.kubeConfig` may keep exec plugins and insecure-skip-tls-verify."""
    account = service_account_name(ks, default_service_account)
    config = controller_client.config
    if ks.spec.kube_config is not None:
        config = await _remote_config(
            controller_client, ks, insecure_exec=insecure_exec, insecure_tls=insecure_tls
        )
    elif not account:
        yield controller_client
        return
    headers = {IMPERSONATE_USER_HEADER: service_account_user(ks.namespace, account)}
    client = KubeClient(
        config,
        user_agent=user_agent,
        rate_limiter=own_limiter(controller_client.rate_limiter),
        headers=headers if account else None,
    )
    try:
        yield client
    finally:
        await client.close()


async def _remote_config(
    controller_client: KubeClient, ks: Kustomization, *, insecure_exec: bool, insecure_tls: bool
) -> ClusterConfig:
    ref = ks.spec.kube_config
    assert ref is not None
    if ref.secret_ref is None:
        raise Stalling(
            "spec.kubeConfig.configMapRef (cloud provider authentication) is not supported "
            "by gotk yet; use spec.kubeConfig.secretRef"
        )
    name = ref.secret_ref.name
    try:
        secret = await controller_client.get(SECRETS, name, ks.namespace)
    except NotFound:
        raise GenericError(
            f"spec.kubeConfig.secretRef: Secret '{ks.namespace}/{name}' not found"
        ) from None
    data = secret.get("data") or {}
    keys = (ref.secret_ref.key,) if ref.secret_ref.key else KUBECONFIG_KEYS
    encoded = next((data[k] for k in keys if k in data), None)
    if encoded is None:
        raise GenericError(
            f"spec.kubeConfig.secretRef: Secret '{ks.namespace}/{name}' has none of the keys "
            f"{', '.join(repr(k) for k in keys)}"
        )
    try:
        document = load_yaml(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, yaml.YAMLError) as err:
        raise GenericError(
            f"spec.kubeConfig.secretRef: Secret '{ks.namespace}/{name}' holds no valid "
            f"kubeconfig: {type(err).__name__}"
        ) from None
    if not isinstance(document, dict):
        raise GenericError(
            f"spec.kubeConfig.secretRef: Secret '{ks.namespace}/{name}' holds no valid kubeconfig"
        )
    sanitized = sanitize_kubeconfig(
        document, allow_exec=insecure_exec, allow_insecure_tls=insecure_tls
    )
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kubeconfig-"))
    try:
        path = workdir / "config"
        await asyncio.to_thread(_write_private, path, yaml.safe_dump(sanitized).encode())
        try:
            return await load_config(path)
        except KubeError as err:
            raise GenericError(
                f"spec.kubeConfig.secretRef: kubeconfig in Secret '{ks.namespace}/{name}' "
                f"cannot be used: {err.message}"
            ) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
