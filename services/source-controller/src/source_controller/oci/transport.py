"""Connection settings for one registry: scheme, TLS material, proxy and timeouts.

TLS follows Flux's OCIRepository: a `certSecretRef` CA *extends* the system roots, a
client certificate enables mTLS, and `insecure` switches to plain HTTP.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiohttp

from source_controller.credentials import ProxyConfig, TLSMaterial, ssl_context

__all__ = ["ClientOptions", "new_session", "proxy_auth", "proxy_url"]

USER_AGENT = "gotk-source-controller"


@dataclass(frozen=True, slots=True, repr=False)
class ClientOptions:
    insecure: bool = False
    """Speak plain HTTP to the registry."""
    ca_cert: bytes = b""
    client_cert: bytes = b""
    client_key: bytes = b""
    proxy: ProxyConfig | None = None
    timeout: float = 60.0
    """Seconds to connect, and the longest silence while reading, per request."""

    def __repr__(self) -> str:
        tls = [n for n in ("ca_cert", "client_cert") if getattr(self, n)]
        return (
            f"ClientOptions(insecure={self.insecure}, tls={tls}, proxy={self.proxy!r}, "
            f"timeout={self.timeout})"
        )

    @property
    def scheme(self) -> str:
        return "http" if self.insecure else "https"


def proxy_url(proxy: ProxyConfig | None) -> str | None:
    return proxy.address if proxy is not None else None


def proxy_auth(proxy: ProxyConfig | None) -> aiohttp.BasicAuth | None:
    """aiohttp takes the proxy's credentials apart from its URL."""
    if proxy is None or not proxy.username:
        return None
    return aiohttp.BasicAuth(proxy.username, proxy.password)


async def new_session(options: ClientOptions) -> aiohttp.ClientSession:
    """An aiohttp session for one client; the caller closes it."""
    context: ssl.SSLContext | bool = True
    tls = TLSMaterial(options.ca_cert, options.client_cert, options.client_key)
    if tls:
        context = await asyncio.to_thread(ssl_context, tls, source="the cert secret")
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=options.timeout, sock_read=options.timeout
    )
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        trust_env=False,
        auto_decompress=False,
    )
