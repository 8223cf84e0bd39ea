"""`spec.kubeConfig` is sanitised the same way by kustomize-controller and helm-controller.

A tenant's kubeconfig Secret asking for `insecure-skip-tls-verify` was kept by
kustomize-controller; Flux keeps it only with `--insecure-kubeconfig-tls`. Both controllers
now read the Secret from the real API server, drop it unless the flag is set, and drop file
paths, auth-provider and exec (unless `--insecure-kubeconfig-exec`) alike.
"""

from __future__ import annotations

import base64
import ssl
from typing import Any

import pytest
import yaml
from gotk_api.helm import HelmRelease
from gotk_api.kustomize import Kustomization
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient
from gotk_runtime.kube import SECRETS, sanitize_kubeconfig
from helm_controller.kubeconfig import release_client, release_kubeconfig
from kustomize_controller.impersonation import apply_client
from kustomize_controller.options import parse_options

HOSTILE: dict[str, Any] = {
    "clusters": [
        {
            "name": "c",
            "cluster": {
                "server": "https://remote.example:6443",
                "insecure-skip-tls-verify": True,
                "certificate-authority": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
            },
        }
    ],
    "users": [
        {
            "name": "u",
            "user": {
                "token": "inline-token",
                "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
                "client-key": "/etc/ssl/private/key.pem",
                "auth-provider": {"name": "gcp"},
                "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/sh"},
            },
        }
    ],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "ctx",
}


@pytest.mark.parametrize(
    ("allow_exec", "allow_tls"), [(False, False), (True, False), (False, True)]
)
def test_sanitising_keeps_inline_data_and_only_what_the_flags_allow(
    allow_exec: bool, allow_tls: bool
) -> None:
    sanitized = sanitize_kubeconfig(HOSTILE, allow_exec=allow_exec, allow_insecure_tls=allow_tls)
    cluster = sanitized["clusters"][0]["cluster"]
    user = sanitized["users"][0]["user"]
    assert set(cluster) == {"server"} | ({"insecure-skip-tls-verify"} if allow_tls else set())
    assert set(user) == {"token"} | ({"exec"} if allow_exec else set())
    assert "tokenFile" in HOSTILE["users"][0]["user"], "the input is not changed"


def test_kustomize_controller_has_flux_s_insecure_kubeconfig_flags() -> None:
    _, default = parse_options([])
    assert (default.insecure_kubeconfig_exec, default.insecure_kubeconfig_tls) == (False, False)
    _, options = parse_options(["--insecure-kubeconfig-tls", "--insecure-kubeconfig-exec=true"])
    assert (options.insecure_kubeconfig_exec, options.insecure_kubeconfig_tls) == (True, True)


def _remote_kubeconfig(cluster: ControlPlane) -> dict[str, Any]:
    """The test API server, reached without its CA, asking to skip TLS verification."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": cluster.server, "insecure-skip-tls-verify": True}}
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


async def _verify_mode(
    controller: str, kube: KubeClient, namespace: str, *, insecure_tls: bool
) -> ssl.VerifyMode:
    ref = {"secretRef": {"name": "remote"}}
    if controller == "kustomize-controller":
        ks = Kustomization.model_validate(
            {
                "metadata": {"name": "app", "namespace": namespace},
                "spec": {
                    "interval": "1h",
                    "prune": True,
                    "sourceRef": {"kind": "GitRepository", "name": "s"},
                    "kubeConfig": ref,
                },
            }
        )
        async with apply_client(kube, ks, insecure_tls=insecure_tls) as client:
            assert client.config.ssl is not None
            return client.config.ssl.verify_mode
    hr = HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": namespace},
            "spec": {
                "interval": "1h",
                "chartRef": {"kind": "HelmChart", "name": "c"},
                "kubeConfig": ref,
            },
        }
    )
    document = await release_kubeconfig(
        kube, hr, {}, default_service_account="", insecure_tls=insecure_tls
    )
    cluster = document["clusters"][0]["cluster"]
    assert ("insecure-skip-tls-verify" in cluster) is insecure_tls
    async with release_client(kube, hr, document, default_service_account="") as client:
        assert client.config.ssl is not None
        return client.config.ssl.verify_mode


@pytest.mark.parametrize("controller", ["kustomize-controller", "helm-controller"])
async def test_insecure_skip_tls_verify_is_dropped_unless_the_flag_allows_it(
    cluster: ControlPlane, kube: KubeClient, namespace: str, controller: str
) -> None:
    value = base64.b64encode(yaml.safe_dump(_remote_kubeconfig(cluster)).encode()).decode()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "remote", "namespace": namespace},
        "data": {"value": value},
    }
    await kube.create(SECRETS, secret, namespace=namespace)
    assert await _verify_mode(controller, kube, namespace, insecure_tls=False) == ssl.CERT_REQUIRED
    assert await _verify_mode(controller, kube, namespace, insecure_tls=True) == ssl.CERT_NONE
