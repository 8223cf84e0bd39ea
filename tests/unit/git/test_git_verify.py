"""OpenPGP verification of checked-out commits and tags, with real gpg, git and repos."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.git_servers import GitRepo
from fixtures.sops_keys import PgpKey
from source_controller.git import Commit, GitRef, checkout
from source_controller.git.verify import (
    InvalidCommitSignature,
    InvalidVerificationMode,
    UnsignedTag,
    VerificationError,
    VerificationMode,
    parse_signature_status,
    verify_commit,
)

TIMEOUT = 60.0
FPR = "77695DD464B3046F2CB295355E0356BCB8C3B93D"
SUBKEY = "1111111111111111111111111111111111111111"
_ALGO = ("future-default", "default", "never")


@dataclass(frozen=True)
class Key:
    fingerprint: str
    gnupg_home: Path

    @property
    def key_id(self) -> str:
        return self.fingerprint[-16:]

    def public(self) -> bytes:
        return subprocess.run(
            ["gpg", "--batch", "--homedir", str(self.gnupg_home), "--armor", "--export"],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout


@pytest.fixture(scope="module")
def other_pgp_key() -> Iterator[Key]:
    """A second key, never given to the verifier: it stands for an untrusted signer."""
    home = Path(tempfile.mkdtemp(prefix="gotk-test-gnupg-other-"))
    home.chmod(0o700)
    gpg = ["gpg", "--batch", "--quiet", "--homedir", str(home)]
    try:
        subprocess.run(
            [*gpg, "--passphrase", "", "--quick-gen-key", "other <o@gotk.invalid>", *_ALGO],
            check=True,
            capture_output=True,
            timeout=60,
        )
        listing = subprocess.run(
            [*gpg, "--list-secret-keys", "--with-colons"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        yield Key(fpr, home)
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def trusted(pgp_key: PgpKey) -> Key:
    return Key(pgp_key.fingerprint, pgp_key.gnupg_home)


async def _checkout(repo: GitRepo, ref: dict[str, str], dest: Path) -> Commit:
    return await checkout(repo.file_url, GitRef.from_spec(ref), dest, timeout=TIMEOUT)


async def _verify(
    repo: GitRepo, ref: dict[str, str], tmp_path: Path, mode: str, keys: dict[str, bytes]
) -> tuple[Commit, str]:
    tree = tmp_path / "tree"
    commit = await _checkout(repo, ref, tree)
    verified = await verify_commit(
        repo.file_url, tree, commit, VerificationMode.from_spec(mode), keys, timeout=TIMEOUT
    )
    return commit, verified.message


# --- status parsing -------------------------------------------------------------------------


def _status(*lines: str) -> str:
    return "".join(f"[GNUPG:] {line}\n" for line in lines)


def test_good_signature_reports_primary_key_id_not_subkey() -> None:
    status = parse_signature_status(
        _status(
            "NEWSIG",
            "GOODSIG 5E0356BCB8C3B93D t <t@x>",
            f"VALIDSIG {SUBKEY} 2026-11-29 1795986542 0 4 0 22 8 00 {FPR}",
            "TRUST_UNDEFINED 0 pgp",
        )
    )
    assert status.good is not None
    assert status.good.key_id == "5E0356BCB8C3B93D"
    assert status.good.fingerprint == SUBKEY
    assert status.problem == ""


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ((), "no signature found"),
        (
            (
                "NEWSIG",
                "ERRSIG 5E0356BCB8C3B93D 22 8 00 1795986542 9 -",
                "NO_PUBKEY 5E0356BCB8C3B93D",
            ),
            "not in the secret",
        ),
        (("NEWSIG", "BADSIG 5E0356BCB8C3B93D t <t@x>"), "bad signature"),
        (
            (
                "NEWSIG",
                "EXPKEYSIG 5E0356BCB8C3B93D t <t@x>",
                f"VALIDSIG {FPR} x 1 0 4 0 22 8 00 {FPR}",
            ),
            "expired",
        ),
        (
            (
                "NEWSIG",
                "REVKEYSIG 5E0356BCB8C3B93D t <t@x>",
                f"VALIDSIG {FPR} x 1 0 4 0 22 8 00 {FPR}",
            ),
            "revoked",
        ),
        (("NEWSIG", "GOODSIG 5E0356BCB8C3B93D t <t@x>"), "no valid signature"),
    ],
)
def test_status_without_a_clean_good_signature_is_refused(
    lines: tuple[str, ...], problem: str
) -> None:
    status = parse_signature_status(_status(*lines))
    assert status.good is None
    assert problem in status.problem


def test_non_status_lines_are_ignored() -> None:
    assert parse_signature_status("gpg: Signature made today\n").problem == "no signature found"


@pytest.mark.parametrize(
    ("spec", "mode", "head", "tag"),
    [
        (None, VerificationMode.HEAD, True, False),
        ("head", VerificationMode.HEAD, True, False),
        ("HEAD", VerificationMode.HEAD, True, False),
        ("Tag", VerificationMode.TAG, False, True),
        ("TagAndHEAD", VerificationMode.TAG_AND_HEAD, True, True),
    ],
)
def test_verification_mode_from_spec(
    spec: str | None, mode: VerificationMode, head: bool, tag: bool
) -> None:
    parsed = VerificationMode.from_spec(spec)
    assert parsed is mode
    assert (parsed.verifies_head, parsed.verifies_tag) == (head, tag)


# --- real repositories -----------------------------------------------------------------------


async def test_signed_commit_is_verified_with_the_signers_key_id(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    sha = repo.commit({"a.txt": "a\n"}, sign=trusted)
    commit, message = await _verify(
        repo, {"branch": "master"}, tmp_path, "HEAD", {"key.asc": trusted.public()}
    )
    assert commit.sha == sha
    assert message == f"verified signature of\n\t- commit '{sha}' with key '{trusted.key_id}'"


async def test_any_data_key_of_the_secret_may_hold_the_signer(
    make_git_repo: Callable[..., GitRepo], trusted: Key, other_pgp_key: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    repo.commit(sign=trusted)
    keys = {"a-other": other_pgp_key.public(), "z-trusted": trusted.public()}
    _, message = await _verify(repo, {"branch": "master"}, tmp_path, "head", keys)
    assert trusted.key_id in message


async def test_unsigned_commit_is_refused_naming_the_commit(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    sha = repo.commit()
    with pytest.raises(InvalidCommitSignature) as info:
        await _verify(repo, {"branch": "master"}, tmp_path, "HEAD", {"k": trusted.public()})
    assert str(info.value) == (
        f"signature verification of commit '{sha}' failed: no signature found"
    )
    assert info.value.reason == "InvalidCommitSignature"
    assert not info.value.stalling


async def test_commit_signed_by_an_unknown_key_is_refused(
    make_git_repo: Callable[..., GitRepo], trusted: Key, other_pgp_key: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    sha = repo.commit(sign=other_pgp_key)
    with pytest.raises(InvalidCommitSignature, match=f"commit '{sha}'.*not in the secret"):
        await _verify(repo, {"branch": "master"}, tmp_path, "HEAD", {"k": trusted.public()})


async def test_signed_tag_and_head_are_both_reported(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    sha = repo.commit(sign=trusted)
    repo.tag("v1.0.0", message="release", sign=trusted)
    tag_oid = repo.git("rev-parse", "refs/tags/v1.0.0")
    _, message = await _verify(
        repo, {"tag": "v1.0.0"}, tmp_path, "TagAndHEAD", {"k": trusted.public()}
    )
    assert message == (
        "verified signature of\n"
        f"\t- tag 'v1.0.0@{tag_oid}' with key '{trusted.key_id}'\n"
        f"\t- commit '{sha}' with key '{trusted.key_id}'"
    )


async def test_tag_mode_checks_only_the_tag(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    repo.commit()
    repo.tag("v1.0.0", message="release", sign=trusted)
    _, message = await _verify(
        repo, {"semver": ">=1.0.0"}, tmp_path, "Tag", {"k": trusted.public()}
    )
    assert message.startswith("verified signature of\n\t- tag 'v1.0.0@")
    assert "commit" not in message


@pytest.mark.parametrize("annotated", [False, True])
async def test_unsigned_tag_is_refused_as_invalid_git_object(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path, annotated: bool
) -> None:
    repo = make_git_repo()
    repo.commit(sign=trusted)
    repo.tag("v1.0.0", message="release" if annotated else None)
    with pytest.raises(UnsignedTag, match=r"tag 'v1\.0\.0@[0-9a-f]{40}' since it is not signed"):
        await _verify(repo, {"tag": "v1.0.0"}, tmp_path, "Tag", {"k": trusted.public()})


async def test_tag_mode_on_a_branch_stalls(
    make_git_repo: Callable[..., GitRepo], trusted: Key, tmp_path: Path
) -> None:
    repo = make_git_repo()
    repo.commit(sign=trusted)
    with pytest.raises(InvalidVerificationMode) as info:
        await _verify(repo, {"branch": "master"}, tmp_path, "Tag", {"k": trusted.public()})
    assert info.value.stalling
    assert info.value.reason == "InvalidVerificationMode"


@pytest.mark.parametrize(
    ("keys", "match"),
    [
        ({}, "the secret has no data"),
        ({"garbage": b"not a key\n"}, "key 'garbage' is not an armored OpenPGP public key"),
    ],
)
async def test_unusable_secret_data_is_a_verification_error(
    make_git_repo: Callable[..., GitRepo],
    trusted: Key,
    tmp_path: Path,
    keys: dict[str, bytes],
    match: str,
) -> None:
    repo = make_git_repo()
    repo.commit(sign=trusted)
    with pytest.raises(VerificationError, match=match) as info:
        await _verify(repo, {"branch": "master"}, tmp_path, "HEAD", keys)
    assert info.value.reason == "VerificationError"
