"""Bucket spec + Secrets → connection settings, validated as Flux's generic provider does."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.source_bucket import Bucket
from source_controller.bucket.connection import check_supported, connection_for, endpoint_url
from source_controller.bucket.errors import (
    BucketAuthenticationFailed,
    EndpointInvalid,
    UnsupportedConfiguration,
)
from source_controller.credentials import CredentialsError


def _bucket(**spec: Any) -> Bucket:
    return Bucket.model_validate(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "Bucket",
            "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"bucketName": "data", "endpoint": "s3.example.com", "interval": "1m", **spec},
        }
    )


@pytest.mark.parametrize(
    ("endpoint", "insecure", "url"),
    [
        ("s3.example.com", False, "https://s3.example.com"),
        ("127.0.0.1:9000", True, "http://127.0.0.1:9000"),
        ("[::1]:9000", False, "https://[::1]:9000"),
    ],
)
def test_endpoint_becomes_a_url_by_insecure(endpoint: str, insecure: bool, url: str) -> None:
    assert endpoint_url(endpoint, insecure=insecure) == url


@pytest.mark.parametrize(
    "endpoint",
    ["https://s3.example.com", "s3.example.com/path", "", "user@host", "host:notaport", ":9000"],
)
def test_endpoint_with_scheme_path_or_bad_port_stalls(endpoint: str) -> None:
    with pytest.raises(EndpointInvalid) as caught:
        endpoint_url(endpoint, insecure=False)
    assert caught.value.stalling
    assert caught.value.reason == "URLInvalid"


@pytest.mark.parametrize(
    ("spec", "reason", "words"),
    [
        ({"provider": "aws"}, "InvalidProviderConfiguration", "spec.provider 'aws'"),
        ({"provider": "gcp"}, "InvalidProviderConfiguration", "not supported"),
        ({"provider": "azure"}, "InvalidProviderConfiguration", "not supported"),
        (
            {"sts": {"provider": "ldap", "endpoint": "https://sts.example.com"}},
            "InvalidSTSConfiguration",
            "spec.sts",
        ),
    ],
)
def test_unsupported_settings_stall_with_a_clear_message(
    spec: dict[str, Any], reason: str, words: str
) -> None:
    with pytest.raises(UnsupportedConfiguration) as caught:
        check_supported(_bucket(**spec))
    assert caught.value.stalling
    assert caught.value.reason == reason
    assert words in str(caught.value)


def test_generic_provider_is_supported() -> None:
    check_supported(_bucket())


def test_secret_gives_static_credentials_and_never_shows_them() -> None:
    conn = connection_for(
        _bucket(insecure=True, region="eu-1"),
        timeout=5,
        secret=("creds", {"accesskey": b"AKID\n", "secretkey": b"s3cr3t-value"}),
    )
    assert conn.endpoint_url == "http://s3.example.com"
    assert conn.region == "eu-1"
    assert conn.credentials is not None
    assert (conn.credentials.access_key, conn.credentials.secret_key) == ("AKID", "s3cr3t-value")
    assert "s3cr3t-value" not in repr(conn)


@pytest.mark.parametrize("data", [{"accesskey": b"a"}, {"secretkey": b"s"}, {}])
def test_secret_without_both_keys_is_authentication_failed(data: dict[str, bytes]) -> None:
    with pytest.raises(BucketAuthenticationFailed, match=r"'creds' secret data.*'accesskey'"):
        connection_for(_bucket(), timeout=5, secret=("creds", data))


def test_empty_key_values_mean_anonymous_access() -> None:
    conn = connection_for(
        _bucket(), timeout=5, secret=("creds", {"accesskey": b"", "secretkey": b""})
    )
    assert conn.credentials is None


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"tls.crt": b"cert"}, "must be set together"),
        ({"tls.key": b"key"}, "must be set together"),
        ({"other": b"x"}, "needs 'ca.crt'"),
    ],
)
def test_cert_secret_needs_ca_or_a_full_client_pair(data: dict[str, bytes], match: str) -> None:
    with pytest.raises(CredentialsError, match=match):
        connection_for(_bucket(), timeout=5, cert_secret=("tls", data))


def test_cert_secret_and_proxy_are_carried_without_showing_secrets() -> None:
    conn = connection_for(
        _bucket(),
        timeout=5,
        cert_secret=("tls", {"ca.crt": b"CA", "tls.crt": b"C", "tls.key": b"K"}),
        proxy_secret=(
            "proxy",
            {"address": b"http://proxy:3128", "username": b"u", "password": b"pw-123"},
        ),
    )
    assert conn.tls is not None
    assert conn.tls.ca == b"CA"
    assert conn.proxy is not None
    assert conn.proxy.url() == "http://u:pw-123@proxy:3128"
    assert "pw-123" not in repr(conn)


def test_proxy_secret_without_address_is_authentication_failed() -> None:
    with pytest.raises(CredentialsError, match="'address' is required") as caught:
        connection_for(_bucket(), timeout=5, proxy_secret=("proxy", {"username": b"u"}))
    assert caught.value.reason == "AuthenticationFailed"
