"""OCIClient against FakeRegistry, for what the real registry never does (see its docstring):
lying digests, cross-origin blob redirects and bearer-token challenges."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fixtures.oci_registry import FLUX_CONFIG, FLUX_LAYER, OCI_MANIFEST, FakeRegistry, tarball
from source_controller.oci import (
    BlobDigestMismatch,
    ClientOptions,
    ManifestDigestMismatch,
    OCIClient,
    RegistryAuthenticationFailed,
    RegistryCredentials,
    parse_oci_url,
)

INSECURE = ClientOptions(insecure=True, timeout=10)


def _manifest(fake: FakeRegistry, layer: bytes, *, lie_blob: bool = False) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": FLUX_CONFIG, "digest": fake.add_blob(b"{}"), "size": 2},
        "layers": [
            {
                "mediaType": FLUX_LAYER,
                "digest": fake.add_blob(layer, lie=lie_blob),
                "size": len(layer),
            }
        ],
    }


async def test_manifest_whose_bytes_do_not_match_its_digest_is_refused(
    fake_registry: FakeRegistry,
) -> None:
    digest = fake_registry.add_manifest(["v1"], _manifest(fake_registry, tarball({})), lie=True)
    async with OCIClient(parse_oci_url(fake_registry.url("app")), options=INSECURE) as client:
        assert await client.head_digest("v1") == digest, "HEAD trusts the advertised digest"
        with pytest.raises(ManifestDigestMismatch, match=f"{digest} was expected") as caught:
            await client.resolve(digest)
        with pytest.raises(ManifestDigestMismatch):
            await client.resolve("v1")
    assert caught.value.reason == "OCIArtifactPullFailed"


async def test_blob_with_wrong_content_is_refused_and_nothing_is_kept(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    fake_registry.add_manifest(["v1"], _manifest(fake_registry, tarball({"a": "b"}), lie_blob=True))
    async with OCIClient(parse_oci_url(fake_registry.url("app")), options=INSECURE) as client:
        resolved = await client.resolve("v1")
        with pytest.raises(BlobDigestMismatch, match="larger than"):
            await client.fetch_blob(resolved.manifest.layers[0], tmp_path / "blob")
        # Without the size from a descriptor, the hash is what catches it.
        with pytest.raises(BlobDigestMismatch, match="does not match"):
            await client.fetch_blob(resolved.manifest.layers[0].digest, tmp_path / "blob")
    assert os.listdir(tmp_path) == []


async def test_blob_redirect_to_another_origin_drops_the_authorization_header(
    fake_registry: FakeRegistry, tmp_path: Path
) -> None:
    fake_registry.token, fake_registry.basic = "tok-123", ("user", "pw")
    fake_registry.redirect_blobs = True
    layer = tarball({"a": "b"})
    fake_registry.add_manifest(["v1"], _manifest(fake_registry, layer))
    url = parse_oci_url(fake_registry.url("org/app"))
    credentials = RegistryCredentials("user", "pw")
    async with OCIClient(url, credentials=credentials, options=INSECURE) as client:
        resolved = await client.resolve("v1")
        await client.fetch_blob(resolved.manifest.layers[0], tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == layer
    assert fake_registry.storage_auth_headers == [None]
    assert fake_registry.token_requests == [{"service": "fake", "scope": "repository:org/app:pull"}]


async def test_bearer_token_request_with_wrong_credentials_fails_authentication(
    fake_registry: FakeRegistry,
) -> None:
    fake_registry.token, fake_registry.basic = "tok-123", ("user", "pw")
    fake_registry.add_manifest(["v1"], _manifest(fake_registry, tarball({})))
    url = parse_oci_url(fake_registry.url("app"))
    credentials = RegistryCredentials("user", "nope")
    async with OCIClient(url, credentials=credentials, options=INSECURE) as client:
        with pytest.raises(RegistryAuthenticationFailed, match="rejected the credentials"):
            await client.resolve("v1")


async def test_registry_token_from_docker_config_is_sent_without_handshake(
    fake_registry: FakeRegistry,
) -> None:
    fake_registry.token = "tok-123"
    digest = fake_registry.add_manifest(["v1"], _manifest(fake_registry, tarball({})))
    url = parse_oci_url(fake_registry.url("app"))
    credentials = RegistryCredentials(registry_token="tok-123")
    async with OCIClient(url, credentials=credentials, options=INSECURE) as client:
        assert (await client.resolve("v1")).digest == digest
    assert fake_registry.token_requests == []
