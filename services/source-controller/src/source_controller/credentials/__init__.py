"""What every source kind needs to talk to a remote: the Secrets its spec references, and
the proxy and TLS settings read from them.

The key layouts that differ per kind (Git's `identity`, a docker config, S3 access keys)
stay with their protocol package; what is read the same way for every kind lives here.
Errors are `CredentialsError` (reason AuthenticationFailed, retried like Flux does).
"""

from source_controller.credentials.proxy import (
    GIT_PROXY_SCHEMES,
    HTTP_PROXY_SCHEMES,
    ProxyConfig,
    proxy_from_secret,
)
from source_controller.credentials.secrets import CredentialsError, SecretData, read_secret
from source_controller.credentials.tls import (
    TLSMaterial,
    ssl_context,
    tls_from_secret,
    write_private,
)

__all__ = [
    "GIT_PROXY_SCHEMES",
    "HTTP_PROXY_SCHEMES",
    "CredentialsError",
    "ProxyConfig",
    "SecretData",
    "TLSMaterial",
    "proxy_from_secret",
    "read_secret",
    "ssl_context",
    "tls_from_secret",
    "write_private",
]
