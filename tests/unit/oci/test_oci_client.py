"""OCIClient against the real `registry` binary: resolve, tags, blobs, auth, TLS."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from fixtures.oci_registry import FLUX_LAYER, Registry, tarball, unique_repo
from source_controller.oci import (
    ClientOptions,
    ManifestNotFound,
    OCIClient,
    RegistryAuthenticationFailed,
    RegistryCredentials,
    RegistryUnreachable,
    parse_oci_url,
)

INSECURE = ClientOptions(insecure=True, timeout=10)


async def test_resolve_tag_returns_manifest_digest_layers_and_annotations(
    oci_registry: Registry,
) -> None:
    repo = unique_repo()
    layer = tarball({"app.yaml": "kind: ConfigMap\n"})
    digest = await oci_registry.push(
        repo,
        "v1",
        layers=[(FLUX_LAYER, layer)],
        annotations={"org.opencontainers.image.revision": "abc"},
    )
    async with OCIClient(parse_oci_url(oci_registry.url(repo)), options=INSECURE) as client:
        resolved = await client.resolve("v1")
        assert await client.head_digest("v1") == digest
    assert resolved.digest == digest
    assert resolved.manifest.annotations == {"org.opencontainers.image.revision": "abc"}
    assert [(d.media_type, d.size) for d in resolved.manifest.layers] == [(FLUX_LAYER, len(layer))]


async def test_fetch_blob_writes_verified_content(oci_registry: Registry, tmp_path: Path) -> None:
    repo = unique_repo()
    layer = tarball({"a.txt": "a"})
    await oci_registry.push(repo, "v1", layers=[(FLUX_LAYER, layer)])
    async with OCIClient(parse_oci_url(oci_registry.url(repo)), options=INSECURE) as client:
        resolved = await client.resolve("v1")
        digest = await client.fetch_blob(resolved.manifest.layers[0], tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == layer
    assert str(digest) == "sha256:" + hashlib.sha256(layer).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["blob"], "no temp file is left behind"


async def test_resolve_by_digest_and_list_tags(oci_registry: Registry) -> None:
    repo = unique_repo()
    first = await oci_registry.push(repo, ["1.0.0", "latest"], {"v": "1"})
    await oci_registry.push(repo, "1.1.0", {"v": "2"})
    async with OCIClient(parse_oci_url(oci_registry.url(repo)), options=INSECURE) as client:
        assert sorted(await client.list_tags()) == ["1.0.0", "1.1.0", "latest"]
        resolved = await client.resolve(first)
    assert resolved.digest == first
    assert resolved.manifest.digest == first


async def test_index_resolves_to_linux_amd64_manifest(oci_registry: Registry) -> None:
    repo = unique_repo()
    arm = await oci_registry.push(repo, [], {"arch": "arm64"})
    amd = await oci_registry.push(repo, [], {"arch": "amd64"})
    index = await oci_registry.push_index(
        repo, "multi", {("linux", "arm64"): arm, ("linux", "amd64"): amd}
    )
    async with OCIClient(parse_oci_url(oci_registry.url(repo)), options=INSECURE) as client:
        resolved = await client.resolve("multi")
    assert resolved.digest == index, "the revision digest is the index's"
    assert resolved.manifest.digest == amd
    assert resolved.index is not None


async def test_missing_tag_is_manifest_not_found_naming_tag(oci_registry: Registry) -> None:
    repo = unique_repo()
    await oci_registry.push(repo, "v1")
    async with OCIClient(parse_oci_url(oci_registry.url(repo)), options=INSECURE) as client:
        with pytest.raises(
            ManifestNotFound, match=r"tag 'v2' not found in '127\.0\.0\.1:\d+/gotk/"
        ):
            await client.head_digest("v2")
        with pytest.raises(ManifestNotFound, match="tag 'v2'"):
            await client.resolve("v2")


async def test_basic_auth_with_right_credentials_pulls(
    oci_auth_registry: Registry, oci_credentials: tuple[str, str]
) -> None:
    repo = unique_repo()
    digest = await oci_auth_registry.push(repo, "v1")
    credentials = RegistryCredentials(*oci_credentials)
    url = parse_oci_url(oci_auth_registry.url(repo))
    async with OCIClient(url, credentials=credentials, options=INSECURE) as client:
        assert await client.head_digest("v1") == digest
        assert await client.list_tags() == ["v1"]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (RegistryCredentials("gotk-user", "wrong"), "rejected the credentials"),
        (None, "no credentials were given"),
    ],
)
async def test_wrong_or_missing_credentials_fail_authentication_without_leaking(
    oci_auth_registry: Registry, credentials: RegistryCredentials | None, message: str
) -> None:
    repo = unique_repo()
    await oci_auth_registry.push(repo, "v1")
    url = parse_oci_url(oci_auth_registry.url(repo))
    async with OCIClient(url, credentials=credentials, options=INSECURE) as client:
        with pytest.raises(RegistryAuthenticationFailed, match=message) as caught:
            await client.head_digest("v1")
    assert caught.value.reason == "AuthenticationFailed"
    assert "wrong" not in str(caught.value)


async def test_https_to_plain_http_registry_fails_unless_insecure(oci_registry: Registry) -> None:
    repo = unique_repo()
    await oci_registry.push(repo, "v1")
    url = parse_oci_url(oci_registry.url(repo))
    async with OCIClient(url, options=ClientOptions(timeout=5)) as client:
        with pytest.raises(RegistryUnreachable, match="cannot reach registry") as caught:
            await client.head_digest("v1")
    assert caught.value.reason == "OCIArtifactPullFailed"


async def test_unknown_host_is_unreachable() -> None:
    url = parse_oci_url("oci://registry.gotk.invalid/app")
    async with OCIClient(url, options=ClientOptions(timeout=5)) as client:
        with pytest.raises(RegistryUnreachable, match=r"registry\.gotk\.invalid"):
            await client.head_digest("latest")


async def test_tls_registry_needs_its_ca_and_a_client_certificate(
    oci_tls_registry: Registry,
) -> None:
    tls = oci_tls_registry.tls
    assert tls is not None
    repo = unique_repo()
    digest = await oci_tls_registry.push(repo, "v1")
    url = parse_oci_url(oci_tls_registry.url(repo))
    mtls = ClientOptions(
        ca_cert=tls.ca_pem, client_cert=tls.client_cert_pem, client_key=tls.client_key_pem
    )
    async with OCIClient(url, options=mtls) as client:
        assert await client.head_digest("v1") == digest
    async with OCIClient(url, options=ClientOptions(timeout=5)) as client:
        with pytest.raises(RegistryUnreachable, match="certificate"):
            await client.head_digest("v1")
    async with OCIClient(url, options=ClientOptions(ca_cert=tls.ca_pem, timeout=5)) as client:
        with pytest.raises((RegistryUnreachable, RegistryAuthenticationFailed)):
            await client.head_digest("v1")
