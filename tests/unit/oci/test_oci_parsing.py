"""Pure parsing of the OCI package: URLs, docker configs, challenges, manifests, semver tags."""

from __future__ import annotations

import base64
import json

import pytest
import source_controller.oci as oci
from source_controller.oci import (
    InvalidReference,
    NoMatchingTag,
    RegistryAuthenticationFailed,
    RegistryCredentials,
    Repository,
    UnsupportedManifest,
    credentials_from_dockerconfig,
    parse_oci_url,
    select_semver_tag,
)
from source_controller.oci.auth import parse_challenge
from source_controller.oci.manifest import Index, Manifest, parse_manifest_document, select_layer

DIGEST = "sha256:" + "a" * 64


def test_public_names_are_pinned() -> None:
    assert {"OCIClient", "Resolved", "parse_oci_url", "credentials_from_dockerconfig"} <= set(
        oci.__all__
    )
    assert all(hasattr(oci, name) for name in oci.__all__)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("oci://ghcr.io/org/app", Repository("ghcr.io", "org/app")),
        ("oci://127.0.0.1:5000/a/b/c", Repository("127.0.0.1:5000", "a/b/c")),
        ("oci://docker.io/nginx", Repository("docker.io", "library/nginx")),
    ],
)
def test_valid_urls_parse(url: str, expected: Repository) -> None:
    assert parse_oci_url(url) == expected


def test_docker_hub_uses_its_api_host() -> None:
    assert parse_oci_url("oci://docker.io/org/app").api_host == "registry-1.docker.io"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://ghcr.io/org/app", "oci://<domain>/<org>/<repo>"),
        ("oci://ghcr.io", "oci://<domain>/<org>/<repo>"),
        ("oci://ghcr.io/org/app:v1", "must not contain a tag; remove ':v1'"),
        ("oci://ghcr.io/org/app@sha256:abc", "must not contain a digest"),
        ("oci://ghcr.io/Org/App", "invalid repository path component 'Org'"),
        ("oci://bad_host!/app", "invalid registry host"),
    ],
)
def test_invalid_urls_stall_with_url_invalid(url: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message) as caught:
        parse_oci_url(url)
    assert caught.value.reason == "URLInvalid"
    assert caught.value.stalling


def _config(auths: dict[str, object]) -> dict[str, bytes]:
    return {".dockerconfigjson": json.dumps({"auths": auths}).encode()}


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://127.0.0.1:5000/v1/", "127.0.0.1:5000"),
        ("https://index.docker.io/v1/", "docker.io"),
    ],
)
def test_docker_config_entry_matches_host_spellings(key: str, host: str) -> None:
    auth = base64.b64encode(b"me:s3cret").decode()
    creds = credentials_from_dockerconfig(_config({key: {"auth": auth}}), host, source="s")
    assert creds == RegistryCredentials("me", "s3cret")
    assert "s3cret" not in repr(creds)


def test_docker_config_without_entry_for_host_gives_none() -> None:
    data = _config({"other.io": {"username": "a", "password": "b"}})
    assert credentials_from_dockerconfig(data, "ghcr.io", source="s") is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": b"x"}, "no '.dockerconfigjson' key"),
        ({".dockerconfigjson": b"{not json"}, "not valid JSON"),
        (_config({"ghcr.io": {"auth": "!!!"}}), "not base64"),
        (_config({"ghcr.io": {"auth": base64.b64encode(b"nocolon").decode()}}), "no ':'"),
    ],
)
def test_malformed_docker_config_fails_authentication(data: dict[str, bytes], message: str) -> None:
    with pytest.raises(RegistryAuthenticationFailed, match=message):
        credentials_from_dockerconfig(data, "ghcr.io", source="secret 'ns/x'")


def test_bearer_challenge_parameters_keep_commas_inside_quotes() -> None:
    challenge = parse_challenge(
        'Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.io/token",
        "service": "registry.io",
        "scope": "repository:a/b:pull,push",
    }


def _layer(media_type: str) -> dict[str, object]:
    return {"mediaType": media_type, "digest": DIGEST, "size": 1}


def test_docker_manifest_list_chooses_linux_amd64_else_first() -> None:
    entries = [
        {**_layer(""), "platform": {"os": "linux", "architecture": "arm64"}},
        {
            **_layer(""),
            "digest": "sha256:" + "b" * 64,
            "platform": {"os": "linux", "architecture": "amd64"},
        },
    ]
    body = json.dumps({"schemaVersion": 2, "manifests": entries}).encode()
    index = parse_manifest_document(
        body, "application/vnd.docker.distribution.manifest.list.v2+json", DIGEST
    )
    assert isinstance(index, Index)
    assert index.choose().digest == "sha256:" + "b" * 64
    first_only = Index(index.media_type, DIGEST, index.manifests[:1])
    assert first_only.choose().digest == DIGEST


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "not a JSON object"),
        (b"{", "not valid JSON"),
        (b'{"mediaType": "text/plain"}', "unsupported media type 'text/plain'"),
        (b'{"mediaType": "application/vnd.oci.image.manifest.v1+json"}', "no 'layers'"),
    ],
)
def test_unreadable_manifests_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(UnsupportedManifest, match=message):
        parse_manifest_document(body, "", DIGEST)


def _manifest(*media_types: str) -> Manifest:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "config": _layer("application/vnd.cncf.flux.config.v1+json"),
            "layers": [_layer(t) for t in media_types],
        }
    ).encode()
    manifest = parse_manifest_document(body, "application/vnd.oci.image.manifest.v1+json", DIGEST)
    assert isinstance(manifest, Manifest)
    return manifest


def test_layer_selection_by_media_type_or_first() -> None:

    manifest = _manifest("a/first", "b/second")
    assert select_layer(manifest, None, "oci://x/y").media_type == "a/first"
    chosen = select_layer(manifest, "b/second", "oci://x/y")
    assert chosen.media_type == "b/second"
    with pytest.raises(oci.LayerOperationFailed, match=r"'c/third' \(spec.layerSelector"):
        select_layer(manifest, "c/third", "oci://x/y")
    with pytest.raises(oci.LayerOperationFailed, match="has no layers"):
        select_layer(_manifest(), None, "oci://x/y")


@pytest.mark.parametrize(
    ("semver", "semver_filter", "expected"),
    [
        (">=1.0.0", None, "1.2.0"),
        ("1.1.x", None, "1.1.5"),
        (">=1.0.0-0", ".*-rc.*", "2.0.0-rc.1"),
        ("*", "^v", "v0.9.0"),
    ],
)
def test_semver_selects_highest_tag_after_filter(
    semver: str, semver_filter: str | None, expected: str
) -> None:
    tags = ["latest", "1.0.0", "1.1.5", "1.2.0", "2.0.0-rc.1", "v0.9.0", "1.3"]
    assert select_semver_tag(tags, semver, semver_filter) == expected


def test_malformed_semver_stalls_and_unmatched_range_is_read_failure() -> None:
    with pytest.raises(oci.InvalidSemverRange, match=r"spec\.ref\.semver") as caught:
        select_semver_tag(["1.0.0"], ">>1.0")
    assert caught.value.stalling
    assert caught.value.reason == "ReadOperationFailed"
    with pytest.raises(oci.InvalidSemverRange, match=r"spec\.ref\.semverFilter"):
        select_semver_tag(["1.0.0"], "*", "(")
    with pytest.raises(NoMatchingTag, match=r"no tag matches semver range '>=5\.0\.0'") as missing:
        select_semver_tag(["1.0.0"], ">=5.0.0")
    assert missing.value.reason == "ReadOperationFailed"
