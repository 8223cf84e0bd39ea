"""How to reach one bucket: endpoint, credentials, TLS and proxy, from the spec and Secrets.

Validation follows Flux's generic (minio) provider: `spec.endpoint` is `host[:port]` and
HTTPS unless `spec.insecure`; `secretRef` needs both `accesskey` and `secretkey` keys
(empty values mean anonymous access, as minio-go treats them); `certSecretRef` has
`ca.crt` and/or `tls.crt` + `tls.key`; `proxySecretRef` has `address`, `username`,
`password`. Nothing here opens a connection. Reprs name which secrets are set, never
their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from gotk_api.source_bucket import Bucket

from source_controller.bucket.errors import (
    BucketAuthenticationFailed,
    EndpointInvalid,
    UnsupportedConfiguration,
    UnsupportedSTS,
)
from source_controller.credentials import (
    GIT_PROXY_SCHEMES,
    ProxyConfig,
    SecretData,
    TLSMaterial,
    proxy_from_secret,
    tls_from_secret,
)

__all__ = [
    "BucketConnection",
    "StaticCredentials",
    "check_supported",
    "connection_for",
    "endpoint_url",
]


@dataclass(frozen=True, slots=True, repr=False)
class StaticCredentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return "StaticCredentials(access_key, secret_key set)"


@dataclass(frozen=True, slots=True)
class BucketConnection:
    endpoint_url: str
    bucket: str
    region: str | None
    credentials: StaticCredentials | None
    tls: TLSMaterial | None
    proxy: ProxyConfig | None
    timeout: float

    @property
    def host(self) -> str:
        return urlsplit(self.endpoint_url).netloc


def check_supported(bucket: Bucket) -> None:
    """Stall on settings gotk accepts in the API but cannot act on yet."""
    spec = bucket.spec
    if spec.provider != "generic":
        raise UnsupportedConfiguration(
            f"spec.provider '{spec.provider}' is not supported by gotk yet; use the 'generic' "
            "provider with static credentials in spec.secretRef"
        )
    if spec.sts is not None:
        raise UnsupportedSTS(
            f"spec.sts (provider '{spec.sts.provider}') is not supported by gotk yet; "
            "use static credentials in spec.secretRef"
        )
    if spec.service_account_name:
        raise UnsupportedConfiguration(
            "spec.serviceAccountName (workload identity) is not supported by gotk yet"
        )


def endpoint_url(endpoint: str, *, insecure: bool) -> str:
    """`http(s)://host[:port]` for spec.endpoint, which must carry no scheme or path."""
    parts = urlsplit(f"//{endpoint}")
    if (
        not endpoint
        or "://" in endpoint
        or any(c in endpoint for c in "/?#@ \t\r\n")
        or not parts.hostname
    ):
        raise EndpointInvalid(
            f"invalid spec.endpoint {endpoint!r}: expected host[:port] without scheme or path"
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise EndpointInvalid(f"invalid spec.endpoint {endpoint!r}: bad port") from None
    return f"{'http' if insecure else 'https'}://{endpoint}"


def connection_for(
    bucket: Bucket,
    *,
    timeout: float,
    secret: tuple[str, SecretData] | None = None,
    cert_secret: tuple[str, SecretData] | None = None,
    proxy_secret: tuple[str, SecretData] | None = None,
) -> BucketConnection:
    """The connection settings for `bucket`; Secrets are `(name, decoded data)`."""
    spec = bucket.spec
    return BucketConnection(
        endpoint_url=endpoint_url(spec.endpoint, insecure=bool(spec.insecure)),
        bucket=spec.bucket_name,
        region=spec.region or None,
        credentials=_credentials(*secret) if secret else None,
        tls=_tls(*cert_secret) if cert_secret else None,
        proxy=_proxy(*proxy_secret) if proxy_secret else None,
        timeout=timeout,
    )


def _text(data: SecretData, key: str) -> str:
    try:
        return data.get(key, b"").decode("utf-8").strip("\r\n")
    except UnicodeDecodeError:
        raise BucketAuthenticationFailed(f"secret key '{key}' is not valid UTF-8") from None


def _credentials(name: str, data: SecretData) -> StaticCredentials | None:
    if "accesskey" not in data or "secretkey" not in data:
        raise BucketAuthenticationFailed(
            f"invalid '{name}' secret data: required fields 'accesskey' and 'secretkey'"
        )
    access_key, secret_key = _text(data, "accesskey"), _text(data, "secretkey")
    if not access_key or not secret_key:
        return None
    return StaticCredentials(access_key, secret_key)


def _tls(name: str, data: SecretData) -> TLSMaterial:
    return tls_from_secret(data, source=f"'{name}' secret data", required=True)


def _proxy(name: str, data: SecretData) -> ProxyConfig:
    # SOCKS included: Bucket accepted what git accepts when it borrowed git's parser.
    return proxy_from_secret(data, source=f"'{name}' secret data", schemes=GIT_PROXY_SCHEMES)
