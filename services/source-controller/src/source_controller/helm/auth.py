"""Credentials and TLS for a Helm repository, from the Secrets its spec references.

`spec.secretRef` holds `username`/`password` and, deprecated, `caFile`/`certFile`/`keyFile`;
`spec.certSecretRef` holds `ca.crt`, `tls.crt`, `tls.key` and wins over the legacy keys.
The repr names which parts are set, never their values.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from source_controller.helm.errors import RepositoryAuthFailed

__all__ = ["RepositoryAuth", "repository_auth", "same_origin"]

SecretData = Mapping[str, bytes]


@dataclass(frozen=True, slots=True, repr=False)
class RepositoryAuth:
    username: str = ""
    password: str = ""
    ssl_context: ssl.SSLContext | None = None
    pass_credentials: bool = False

    def __repr__(self) -> str:
        parts = [
            name
            for name, value in (
                ("basic", self.username or self.password),
                ("tls", self.ssl_context is not None),
                ("passCredentials", self.pass_credentials),
            )
            if value
        ]
        return f"RepositoryAuth({', '.join(parts) or 'anonymous'})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a message."""
        return tuple(s for s in (self.username, self.password) if s)

    def basic_for(self, url: str, repository_url: str) -> tuple[str, str] | None:
        """The basic-auth pair to send to `url`: only to the repository's own origin unless
        `passCredentials` (as Helm's getter decides)."""
        if not (self.username or self.password):
            return None
        if self.pass_credentials or same_origin(url, repository_url):
            return self.username, self.password
        return None


def same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


def _text(data: SecretData, key: str, field: str) -> str:
    try:
        return data[key].decode()
    except UnicodeDecodeError:
        raise RepositoryAuthFailed(f"{field}: key '{key}' is not valid UTF-8") from None


def _tls_material(
    secret: SecretData | None, cert_secret: SecretData | None
) -> tuple[bytes | None, bytes | None, bytes | None]:
    if cert_secret is not None:
        return cert_secret.get("ca.crt"), cert_secret.get("tls.crt"), cert_secret.get("tls.key")
    if secret is not None:
        return secret.get("caFile"), secret.get("certFile"), secret.get("keyFile")
    return None, None, None


def _ssl_context(
    ca: bytes | None, cert: bytes | None, key: bytes | None, field: str
) -> ssl.SSLContext:
    if bool(cert) != bool(key):
        raise RepositoryAuthFailed(f"{field}: a client certificate needs both tls.crt and tls.key")
    context = ssl.create_default_context()
    try:
        if ca:
            context.load_verify_locations(cadata=ca.decode())
        if cert and key:
            # The ssl module loads a key pair only from files: keep them private and brief.
            with tempfile.TemporaryDirectory(prefix="helm-tls-") as tmp:
                cert_path, key_path = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
                for path, data in ((cert_path, cert), (key_path, key)):
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(data)
                context.load_cert_chain(cert_path, key_path)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise RepositoryAuthFailed(f"{field}: invalid TLS material: {exc}") from None
    return context


def repository_auth(
    secret: SecretData | None,
    cert_secret: SecretData | None = None,
    *,
    pass_credentials: bool = False,
) -> RepositoryAuth:
    """Credentials from the decoded `secretRef` and `certSecretRef` data. Blocking (TLS
    material goes through a private temp file); run it in a thread."""
    username = password = ""
    if secret is not None:
        if "username" in secret:
            username = _text(secret, "username", "spec.secretRef")
        if "password" in secret:
            password = _text(secret, "password", "spec.secretRef")
        if bool(username) != bool(password):
            raise RepositoryAuthFailed(
                "spec.secretRef: basic authentication needs both 'username' and 'password'"
            )
    ca, cert, key = _tls_material(secret, cert_secret)
    context = None
    if ca or cert or key:
        field = "spec.certSecretRef" if cert_secret is not None else "spec.secretRef"
        context = _ssl_context(ca, cert, key, field)
    return RepositoryAuth(username, password, context, pass_credentials)
