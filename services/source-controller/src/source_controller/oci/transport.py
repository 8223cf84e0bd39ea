"""Connection settings for one registry: scheme, TLS material, proxy and timeouts.

TLS follows Flux's OCIRepository: a `certSecretRef` CA *extends* the system roots, a
client certificate enables mTLS, and `insecure` switches to plain HTTP.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from source_controller.oci.errors import RegistryAuthenticationFailed

__all__ = ["ClientOptions", "ProxySettings", "new_session"]

USER_AGENT = "gotk-source-controller"


@dataclass(frozen=True, slots=True, repr=False)
class ProxySettings:
    url: str
    username: str = ""
    password: str = ""

    def __repr__(self) -> str:
        return f"ProxySettings({self.url!r}{', with credentials' if self.username else ''})"

    def auth(self) -> aiohttp.BasicAuth | None:
        return aiohttp.BasicAuth(self.username, self.password) if self.username else None


@dataclass(frozen=True, slots=True, repr=False)
class ClientOptions:
    insecure: bool = False
    """Speak plain HTTP to the registry."""
    ca_cert: bytes = b""
    client_cert: bytes = b""
    client_key: bytes = b""
    proxy: ProxySettings | None = None
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


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _ssl_context(options: ClientOptions) -> ssl.SSLContext:
    context = ssl.create_default_context()
    try:
        if options.ca_cert:
            context.load_verify_locations(cadata=options.ca_cert.decode("ascii"))
        if options.client_cert:
            # load_cert_chain only reads files: stage them in a private directory.
            workdir = Path(tempfile.mkdtemp(prefix="gotk-oci-tls-"))
            try:
                _write_private(workdir / "tls.crt", options.client_cert)
                _write_private(workdir / "tls.key", options.client_key)
                context.load_cert_chain(workdir / "tls.crt", workdir / "tls.key")
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise RegistryAuthenticationFailed(
            f"invalid TLS material in the cert secret: {exc.__class__.__name__}: {exc}"
        ) from None
    return context


async def new_session(options: ClientOptions) -> aiohttp.ClientSession:
    """An aiohttp session for one client; the caller closes it."""
    if bool(options.client_cert) != bool(options.client_key):
        raise RegistryAuthenticationFailed(
            "invalid cert secret: 'tls.crt' and 'tls.key' must be set together"
        )
    context: ssl.SSLContext | bool = True
    if options.ca_cert or options.client_cert:
        context = await asyncio.to_thread(_ssl_context, options)
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
