"""Credentials and TLS for a Helm repository, from the Secrets its spec references.

`spec.secretRef` holds `username`/`password` and, deprecated, `caFile`/`certFile`/`keyFile`;
`spec.certSecretRef` holds `ca.crt`, `tls.crt`, `tls.key` and wins over the legacy keys.
The repr names which parts are set, never their values.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from gotk_api.source_helm import HelmRepository
from gotk_runtime import KubeClient

from source_controller.credentials import (
    SecretData,
    TLSMaterial,
    read_secret,
    ssl_context,
    tls_from_secret,
)
from source_controller.helm.errors import RepositoryAuthFailed

__all__ = ["RepositoryAuth", "repository_auth", "repository_auth_for", "same_origin"]


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


def repository_auth(
    secret: SecretData | None,
    cert_secret: SecretData | None = None,
    *,
    pass_credentials: bool = False,
) -> RepositoryAuth:
    """Credentials from the decoded `secretRef` and `certSecretRef` data (which wins over
    the deprecated TLS keys of `secretRef`). Blocking (see ssl_context): run it in a thread."""
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
    tls, field = TLSMaterial(), "spec.certSecretRef"
    if cert_secret is not None:
        tls = tls_from_secret(cert_secret, source=f"{field} data")
    elif secret is not None:
        field = "spec.secretRef"
        tls = tls_from_secret(secret, source=f"{field} data", legacy=True)
    context = ssl_context(tls, source=field) if tls else None
    return RepositoryAuth(username, password, context, pass_credentials)


async def repository_auth_for(client: KubeClient, repo: HelmRepository) -> RepositoryAuth:
    """The credentials `repo`'s secretRef and certSecretRef hold (a HelmRepository's own,
    or the one a HelmChart pulls from)."""
    secret = cert_secret = None
    if repo.spec.secret_ref is not None:
        secret = await read_secret(
            client, repo.namespace, repo.spec.secret_ref.name, field="spec.secretRef"
        )
    if repo.spec.cert_secret_ref is not None:
        cert_secret = await read_secret(
            client, repo.namespace, repo.spec.cert_secret_ref.name, field="spec.certSecretRef"
        )
    return await asyncio.to_thread(
        repository_auth, secret, cert_secret, pass_credentials=bool(repo.spec.pass_credentials)
    )
