"""Pure rules: ref precedence, Flux revision strings, ls-remote parsing, URLs and secrets."""

from __future__ import annotations

import pytest
from gotk_api.source_git import GitRepositoryRef
from source_controller.git import (
    AuthenticationFailed,
    GitRef,
    RefKind,
    URLInvalid,
    auth_from_secret,
    format_revision,
    parse_git_url,
)
from source_controller.git.errors import InvalidRef
from source_controller.git.refs import RemoteRefs

SHA = "a" * 40


@pytest.mark.parametrize(
    ("ref", "kind"),
    [
        (GitRef(), RefKind.BRANCH),
        (GitRef(branch="main"), RefKind.BRANCH),
        (GitRef(branch="main", tag="v1"), RefKind.TAG),
        (GitRef(branch="main", tag="v1", semver="1.x"), RefKind.SEMVER),
        (GitRef(branch="main", tag="v1", semver="1.x", name="refs/heads/x"), RefKind.NAME),
        (GitRef(branch="b", tag="t", semver="*", name="refs/x", commit=SHA), RefKind.COMMIT),
    ],
)
def test_precedence_is_commit_name_semver_tag_branch(ref: GitRef, kind: RefKind) -> None:
    assert ref.kind is kind


def test_empty_ref_means_branch_master() -> None:
    assert GitRef.from_spec(None).effective_branch == "master"
    assert GitRef.from_spec({"branch": None, "tag": ""}).kind is RefKind.BRANCH


def test_ref_comes_from_the_api_model_or_a_dict() -> None:
    model = GitRepositoryRef(branch="main", semver="~1.2")
    assert GitRef.from_spec(model) == GitRef(branch="main", semver="~1.2")
    assert GitRef.from_spec({"tag": "v1"}) == GitRef(tag="v1")


@pytest.mark.parametrize(
    ("reference", "absolute", "expected"),
    [
        ("refs/heads/main", False, f"main@sha1:{SHA}"),
        ("refs/heads/feature/x", False, f"feature/x@sha1:{SHA}"),
        ("refs/tags/v1.0.0", False, f"v1.0.0@sha1:{SHA}"),
        ("refs/pull/1/head", True, f"refs/pull/1/head@sha1:{SHA}"),
        ("refs/heads/main", True, f"refs/heads/main@sha1:{SHA}"),
        ("", False, f"sha1:{SHA}"),
        ("", True, f"sha1:{SHA}"),
    ],
)
def test_revision_strings_match_flux(reference: str, absolute: bool, expected: str) -> None:
    assert format_revision(reference, SHA, absolute=absolute) == expected


def test_ls_remote_output_peels_annotated_tags() -> None:
    refs = RemoteRefs.parse(
        f"{'1' * 40}\tHEAD\n{'2' * 40}\trefs/heads/main\n"
        f"{'3' * 40}\trefs/tags/v1\n{'4' * 40}\trefs/tags/v1^{{}}\n{'5' * 40}\trefs/tags/light\n"
    )
    assert refs.resolve("refs/heads/main") == "2" * 40
    assert refs.resolve("refs/tags/v1") == "4" * 40
    assert refs.resolve("refs/tags/v1^{}") == "4" * 40
    assert refs.resolve("refs/tags/light") == "5" * 40
    assert refs.resolve("refs/heads/none") is None
    assert refs.tags() == {"v1": "4" * 40, "light": "5" * 40}


def test_url_credentials_are_split_out_of_what_git_and_messages_see() -> None:
    url = parse_git_url("https://bob:s3cret@git.example.com:8443/org/repo.git")
    assert url.url == url.display == "https://git.example.com:8443/org/repo.git"
    assert url.origin == "https://git.example.com:8443/"
    assert (url.username, url.password) == ("bob", "s3cret")
    assert "s3cret" not in repr(url)


def test_ssh_url_gets_the_default_user_git() -> None:
    assert parse_git_url("ssh://host/repo.git").url == "ssh://git@host/repo.git"
    assert parse_git_url("ssh://deploy@host:2222/r").url == "ssh://deploy@host:2222/r"


def test_invalid_url_message_hides_the_password() -> None:
    with pytest.raises(URLInvalid) as caught:
        parse_git_url("ftp://bob:hunter2@host/repo.git")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("ssh://h/r", {"known_hosts": b"x"}, "'identity' is required"),
        ("ssh://h/r", {"identity": b"k"}, "'known_hosts' is required"),
        ("ssh://h/r", None, "'identity' is required"),
        ("https://h/r", {"password": b"p"}, "'password' requires 'username'"),
        ("https://h/r", {"tls.crt": b"c"}, "'tls.crt' and 'tls.key'"),
        ("https://u:p@h/r", {"bearerToken": b"t"}, "cannot be combined"),
    ],
)
def test_secret_data_is_validated_like_flux(
    url: str, data: dict[str, bytes] | None, message: str
) -> None:
    with pytest.raises(AuthenticationFailed, match=message) as caught:
        auth_from_secret(parse_git_url(url), data)
    assert caught.value.reason == "AuthenticationFailed"


def test_bearer_token_wins_over_basic_keys_and_repr_hides_values() -> None:
    data = {"bearerToken": b"tok-123", "username": b"u", "password": b"pw-456", "ca.crt": b"CA"}
    auth = auth_from_secret(parse_git_url("https://h/r"), data)
    assert auth.authorization_header() == "Bearer tok-123"
    assert (auth.username, auth.password, auth.ca_cert) == ("", "", b"CA")
    assert "tok-123" not in repr(auth)
    assert "bearer_token" in repr(auth)
    assert "tok-123" in auth.secrets()


def test_basic_header_and_its_base64_are_both_redacted() -> None:
    auth = auth_from_secret(parse_git_url("https://h/r"), {"username": b"u", "password": b"p"})
    assert auth.authorization_header() == "Basic dTpw"
    assert {"p", "Basic dTpw", "dTpw"} <= set(auth.secrets())


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"commit": "--upload-pack=touch /tmp/pwned"}, "commit"),
        ({"commit": "main"}, "commit"),
        ({"commit": "abc"}, "commit"),
        ({"branch": "--output=/etc/passwd"}, "branch"),
        ({"tag": "-v1"}, "tag"),
        ({"name": "refs/heads/a\nb"}, "name"),
    ],
)
def test_refs_git_could_take_for_options_are_refused_and_stall(
    spec: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidRef, match=f"spec.ref.{field}") as refused:
        GitRef.from_spec(spec)
    assert refused.value.stalling


@pytest.mark.parametrize(
    "spec",
    [{"commit": "0123abcd"}, {"commit": "A" * 40}, {"commit": "f" * 64}, {"branch": "fix-1"}],
)
def test_ordinary_refs_pass_validation(spec: dict[str, str]) -> None:
    GitRef.from_spec(spec)
