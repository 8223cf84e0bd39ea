"""A proxy from a `spec.proxySecretRef` Secret: `address`, and optionally `username` and
`password`. The repr names which fields are set, never their values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from source_controller.credentials.secrets import CredentialsError, SecretData

__all__ = ["GIT_PROXY_SCHEMES", "HTTP_PROXY_SCHEMES", "ProxyConfig", "proxy_from_secret"]

HTTP_PROXY_SCHEMES: Final = ("http", "https")
GIT_PROXY_SCHEMES: Final = ("http", "https", "socks5", "socks5h")
"""git (libcurl) also speaks SOCKS."""


@dataclass(frozen=True, slots=True, repr=False)
class ProxyConfig:
    address: str
    username: str = ""
    password: str = ""

    def __repr__(self) -> str:
        names = [n for n in ("address", "username", "password") if getattr(self, n)]
        return f"ProxyConfig({', '.join(names)} set)"

    def url(self) -> str:
        """The proxy URL with its credentials in the userinfo (for clients that take only a
        URL, through their environment or config — never argv)."""
        if not self.username:
            return self.address
        parts = urlsplit(self.address)
        userinfo = quote(self.username, safe="")
        if self.password:
            userinfo += ":" + quote(self.password, safe="")
        netloc = f"{userinfo}@{parts.netloc.rpartition('@')[2]}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def proxy_from_secret(
    data: SecretData, *, source: str, schemes: tuple[str, ...] = HTTP_PROXY_SCHEMES
) -> ProxyConfig:
    """The proxy in Secret `data`; `source` names the Secret in messages, `schemes` are the
    proxy URL schemes the caller's client can use."""
    try:
        address = data.get("address", b"").decode().strip()
        username = data.get("username", b"").decode().strip("\r\n")
        password = data.get("password", b"").decode().strip("\r\n")
    except UnicodeDecodeError:
        raise CredentialsError(f"invalid proxy {source}: a value is not UTF-8 text") from None
    if not address:
        raise CredentialsError(f"invalid proxy {source}: 'address' is required")
    parts = urlsplit(address)
    if parts.scheme not in schemes or not parts.hostname:
        raise CredentialsError(
            f"invalid proxy {source}: 'address' must be a URL such as http://proxy:3128 "
            f"(schemes: {', '.join(schemes)})"
        )
    return ProxyConfig(address, username, password)
