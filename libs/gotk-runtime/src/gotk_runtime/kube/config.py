"""Where the API server is and how to authenticate to it.

kubernetes_asyncio's loaders parse the kubeconfig (client certificates, tokens, exec plugins,
in-cluster service-account tokens); gotk keeps only the result: a base URL, an SSL context and
an async function that yields the current ``Authorization`` header value.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gotk_runtime.errors import KubeError
from gotk_runtime.kube._lean_import import import_config_loaders

__all__ = ["ClusterConfig", "load_config"]

_HOME_KUBECONFIG = os.path.expanduser("~/.kube/config")

AuthHeader = Callable[[], Awaitable[str | None]]


async def _no_auth() -> str | None:
    return None


@dataclass(frozen=True)
class ClusterConfig:
    """Connection settings for one API server."""

    host: str
    ssl: ssl.SSLContext | None
    tls_server_name: str | None = None
    proxy: str | None = None
    authorization: AuthHeader = _no_auth


async def load_config(kubeconfig: str | os.PathLike[str] | None = None) -> ClusterConfig:
    """Load settings the way Flux's controllers do.

    Order: the explicit ``kubeconfig`` path (``--kubeconfig``), then ``$KUBECONFIG`` (a
    ``:``-separated list, merged), then the in-cluster service account, then
    ``~/.kube/config``.
    """
    loaders = import_config_loaders()
    configuration = _new_configuration()
    try:
        if kubeconfig:
            loader = await loaders.load_kube_config(
                config_file=str(kubeconfig),
                client_configuration=configuration,
                persist_config=False,
            )
        elif os.environ.get("KUBECONFIG"):
            loader = await loaders.load_kube_config(
                config_file=os.environ["KUBECONFIG"],
                client_configuration=configuration,
                persist_config=False,
            )
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            loaders.load_incluster_config(client_configuration=configuration)
            loader = None
        else:
            loader = await loaders.load_kube_config(
                config_file=_HOME_KUBECONFIG,
                client_configuration=configuration,
                persist_config=False,
            )
    except (
        loaders.ConfigException,
        OSError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
    ) as err:
        # A malformed kubeconfig (e.g. `clusters: 3`) surfaces as any of these.
        raise KubeError(f"cannot load Kubernetes client configuration: {err}") from err
    context = await asyncio.to_thread(_ssl_context, configuration)
    return ClusterConfig(
        host=str(configuration.host).rstrip("/"),
        ssl=context,
        tls_server_name=configuration.tls_server_name,
        proxy=configuration.proxy,
        authorization=_authorization(configuration, loader),
    )


def _new_configuration() -> Any:
    from kubernetes_asyncio.client.configuration import Configuration

    # type.__call__ skips Configuration's copy-the-global-default constructor hook.
    return type.__call__(Configuration)


def _ssl_context(configuration: Any) -> ssl.SSLContext | None:
    if not str(configuration.host).startswith("https"):
        return None
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, keyfile=configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _authorization(configuration: Any, loader: Any) -> AuthHeader:
    exec_plugin = loader is not None and loader._user is not None and "exec" in loader._user

    async def header() -> str | None:
        if exec_plugin:
            # The loader re-runs the plugin only once the cached credential has expired.
            await loader.load_from_exec_plugin()
            if getattr(loader, "token", None):
                configuration.api_key["BearerToken"] = loader.token
        # Runs the in-cluster refresh hook, which re-reads a rotated service-account token.
        value = await configuration.get_api_key_with_prefix("BearerToken")
        return str(value) if value else None

    return header
