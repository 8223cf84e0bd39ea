"""Credentials for one Git remote, read from a Secret's (already base64-decoded) data.

Keys follow Flux: HTTPS `username`/`password` or `bearerToken`, `ca.crt` (or the legacy
`caFile`), `tls.crt`/`tls.key`; SSH `identity`, `known_hosts` and an optional `password`
for an encrypted identity. The proxy comes from `credentials` (shared by every kind).
The repr of every object here names which fields are set, never their values.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, fields

from source_controller.credentials import ProxyConfig
from source_controller.git.errors import AuthenticationFailed
from source_controller.git.url import GitURL

__all__ = ["GitAuth", "auth_from_secret"]


def _text(data: Mapping[str, bytes], key: str) -> str:
    return data.get(key, b"").decode("utf-8", errors="strict").strip("\r\n")


def _set_fields(obj: object) -> str:
    names = [f.name for f in fields(obj) if getattr(obj, f.name)]  # type: ignore[arg-type]
    return f"{type(obj).__name__}({', '.join(names)} set)" if names else f"{type(obj).__name__}()"


@dataclass(frozen=True, slots=True, repr=False)
class GitAuth:
    username: str = ""
    password: str = ""
    bearer_token: str = ""
    ca_cert: bytes = b""
    client_cert: bytes = b""
    client_key: bytes = b""
    identity: bytes = b""
    """SSH private key (PEM or OpenSSH format), possibly encrypted with `password`."""
    known_hosts: bytes = b""
    proxy: ProxyConfig | None = None

    def __repr__(self) -> str:
        return _set_fields(self)

    def authorization_header(self) -> str | None:
        """The HTTP Authorization header value, or None for anonymous access."""
        if self.bearer_token:
            return f"Bearer {self.bearer_token}"
        if self.username or self.password:
            raw = f"{self.username}:{self.password}".encode()
            return f"Basic {base64.b64encode(raw).decode('ascii')}"
        return None

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never appear in a message."""
        values = [self.password, self.bearer_token]
        header = self.authorization_header()
        if header:
            values += [header, header.split(" ", 1)[1]]
        if self.proxy is not None:
            values += [self.proxy.password, self.proxy.url()]
        return tuple(v for v in values if v)


def auth_from_secret(
    url: GitURL,
    data: Mapping[str, bytes] | None,
    *,
    proxy: ProxyConfig | None = None,
) -> GitAuth:
    """Credentials for `url` from Secret data, validated the way Flux validates them.

    URL userinfo is a fallback for HTTP(S) credentials, as in Flux. SSH always needs
    `identity` and `known_hosts`: the host key is checked, never skipped.
    """
    data = data or {}
    try:
        if url.scheme == "ssh":
            auth = GitAuth(
                password=_text(data, "password"),
                identity=data.get("identity", b""),
                known_hosts=data.get("known_hosts", b""),
                proxy=proxy,
            )
            for key, value in (("identity", auth.identity), ("known_hosts", auth.known_hosts)):
                if not value.strip():
                    raise AuthenticationFailed(
                        f"invalid 'ssh' auth option: '{key}' is required in the secret"
                    )
            return auth
        ca = data.get("ca.crt") or data.get("caFile") or b""
        client_cert, client_key = data.get("tls.crt", b""), data.get("tls.key", b"")
        bearer = _text(data, "bearerToken")
        username = "" if bearer else _text(data, "username") or url.username
        password = "" if bearer else _text(data, "password") or url.password
    except UnicodeDecodeError as exc:
        raise AuthenticationFailed(
            f"invalid secret data: a value is not UTF-8 text ({exc.reason})"
        ) from None
    if bool(client_cert) != bool(client_key):
        raise AuthenticationFailed(
            f"invalid '{url.scheme}' auth option: 'tls.crt' and 'tls.key' must be set together"
        )
    if password and not username:
        raise AuthenticationFailed(
            f"invalid '{url.scheme}' auth option: 'password' requires 'username' to be set"
        )
    if bearer and (url.username or url.password):
        raise AuthenticationFailed(
            f"invalid '{url.scheme}' auth option: basic authentication and a bearer token "
            "cannot be combined"
        )
    return GitAuth(
        username=username,
        password=password,
        bearer_token=bearer,
        ca_cert=ca,
        client_cert=client_cert,
        client_key=client_key,
        proxy=proxy,
    )
