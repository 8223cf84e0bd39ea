"""credentials: Secrets, proxies and TLS settings, read the same way for every source kind."""

from __future__ import annotations

import base64
import ssl

import pytest
from fixtures.git_servers import TLSFiles
from gotk_runtime import KubeClient
from gotk_runtime.kube import SECRETS
from source_controller.credentials import (
    GIT_PROXY_SCHEMES,
    CredentialsError,
    ProxyConfig,
    TLSMaterial,
    proxy_from_secret,
    read_secret,
    ssl_context,
    tls_from_secret,
)


async def test_read_secret_merges_data_and_string_data(kube: KubeClient, namespace: str) -> None:
    await kube.create(
        SECRETS,
        {
            "metadata": {"name": "creds", "namespace": namespace},
            "data": {"username": base64.b64encode(b"me").decode()},
            "stringData": {"password": "pw"},
        },
    )
    data = await read_secret(kube, namespace, "creds", field="spec.secretRef")
    assert dict(data) == {"username": b"me", "password": b"pw"}


async def test_a_missing_secret_names_the_field_and_is_authentication_failed(
    kube: KubeClient, namespace: str
) -> None:
    with pytest.raises(CredentialsError) as caught:
        await read_secret(kube, namespace, "absent", field="spec.certSecretRef")
    assert str(caught.value) == (
        f"failed to get secret '{namespace}/absent' referenced by spec.certSecretRef: not found"
    )
    assert (caught.value.reason, caught.value.stalling) == ("AuthenticationFailed", False)


def test_proxy_keeps_credentials_out_of_its_repr() -> None:
    proxy = proxy_from_secret(
        {"address": b"http://proxy:3128\n", "username": b"u", "password": b"p@ss"}, source="s"
    )
    assert proxy == ProxyConfig("http://proxy:3128", "u", "p@ss")
    assert proxy.url() == "http://u:p%40ss@proxy:3128"
    assert "p@ss" not in repr(proxy)
    assert repr(proxy) == "ProxyConfig(address, username, password set)"


@pytest.mark.parametrize(
    ("data", "schemes", "match"),
    [
        ({"username": b"u"}, GIT_PROXY_SCHEMES, "'address' is required"),
        ({"address": b"proxy:3128"}, GIT_PROXY_SCHEMES, "must be a URL"),
        ({"address": b"socks5://proxy:1080"}, ("http", "https"), "schemes: http, https"),
        ({"address": b"http://proxy", "password": b"\xff"}, GIT_PROXY_SCHEMES, "not UTF-8"),
    ],
)
def test_invalid_proxy_secret_names_the_secret(
    data: dict[str, bytes], schemes: tuple[str, ...], match: str
) -> None:
    source = "secret 'ns/proxy' (spec.proxySecretRef)"
    with pytest.raises(CredentialsError, match=match) as caught:
        proxy_from_secret(data, source=source, schemes=schemes)
    assert source in str(caught.value)
    assert caught.value.reason == "AuthenticationFailed"


def test_socks_proxy_is_accepted_where_the_client_speaks_it() -> None:
    proxy = proxy_from_secret(
        {"address": b"socks5://p:1080"}, source="s", schemes=GIT_PROXY_SCHEMES
    )
    assert proxy.address == "socks5://p:1080"


@pytest.mark.parametrize(
    ("data", "legacy", "required", "match"),
    [
        ({"tls.crt": b"c"}, False, False, "'tls.crt' and 'tls.key' must be set together"),
        ({"tls.key": b"k"}, False, True, "'tls.crt' and 'tls.key' must be set together"),
        ({"keyFile": b"k"}, True, False, "'certFile' and 'keyFile' must be set together"),
        ({"other": b"x"}, False, True, "needs 'ca.crt' or 'tls.crt' and 'tls.key'"),
    ],
)
def test_invalid_tls_secret_data(
    data: dict[str, bytes], legacy: bool, required: bool, match: str
) -> None:
    with pytest.raises(CredentialsError, match=match):
        tls_from_secret(data, source="secret 'ns/tls'", legacy=legacy, required=required)


def test_tls_material_reads_current_or_legacy_keys() -> None:
    current = {"ca.crt": b"A", "tls.crt": b"C", "tls.key": b"K", "caFile": b"old"}
    assert tls_from_secret(current, source="s") == TLSMaterial(b"A", b"C", b"K")
    legacy = {"caFile": b"A", "certFile": b"C", "keyFile": b"K"}
    assert tls_from_secret(legacy, source="s", legacy=True) == TLSMaterial(b"A", b"C", b"K")
    assert not tls_from_secret({}, source="s")
    assert repr(TLSMaterial(b"A", b"C", b"K")) == "TLSMaterial(ca, cert, key set)"


def test_ssl_context_trusts_the_ca_and_presents_the_client_pair(git_tls: TLSFiles) -> None:
    tls = TLSMaterial(git_tls.ca_pem, git_tls.client_cert_pem, git_tls.client_key_pem)
    context = ssl_context(tls, source="s")
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert any("gotk-test-ca" in str(ca.get("subject")) for ca in context.get_ca_certs())


@pytest.mark.parametrize(
    "tls",
    [TLSMaterial(ca=b"not a certificate"), TLSMaterial(cert=b"junk", key=b"junk")],
    ids=["bad-ca", "bad-pair"],
)
def test_ssl_context_refuses_bad_material(tls: TLSMaterial) -> None:
    with pytest.raises(CredentialsError, match="invalid TLS material in secret 'ns/tls'"):
        ssl_context(tls, source="secret 'ns/tls'")
