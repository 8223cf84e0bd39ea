"""OpenPGP verification of a checked-out commit and/or the tag it was reached through.

The trusted keys are imported into a throw-away GNUPGHOME (0700, removed afterwards) and
`git verify-commit --raw` / `git verify-tag --raw` report gpg's status lines, which are
parsed here rather than trusting git's exit code alone. As in Flux, a signature is good
when it was made by any of the imported keys; keyring trust levels play no part, and the
key reported is the signer's primary key id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from gotk_api.conditions import (
    INVALID_COMMIT_SIGNATURE_REASON,
    INVALID_GIT_OBJECT_REASON,
    INVALID_TAG_SIGNATURE_REASON,
    INVALID_VERIFICATION_MODE_REASON,
    VERIFICATION_ERROR_REASON,
)
from gotk_runtime.process import CompletedProcess, ProcessStartFailed, ProcessTimeout, run

from source_controller.git.auth import GitAuth
from source_controller.git.checkout import Commit
from source_controller.git.command import run_git
from source_controller.git.errors import GitError
from source_controller.git.refs import PEELED_SUFFIX
from source_controller.git.transport import GitTransport, git_transport
from source_controller.git.url import parse_git_url

__all__ = [
    "INVALID_COMMIT_SIGNATURE_REASON",
    "INVALID_GIT_OBJECT_REASON",
    "INVALID_TAG_SIGNATURE_REASON",
    "INVALID_VERIFICATION_MODE_REASON",
    "GoodSignature",
    "InvalidCommitSignature",
    "InvalidTagSignature",
    "InvalidVerificationMode",
    "SignatureStatus",
    "UnsignedTag",
    "VerificationError",
    "VerificationMode",
    "Verified",
    "parse_signature_status",
    "verify_commit",
]

# Flux's reasons for these failures (source-controller verifySignature).

GPG = "gpg"
GPGCONF = "gpgconf"
_STATUS_PREFIX = "[GNUPG:] "
# A signature is refused if any of these appear, even next to a GOODSIG.
_REFUSING = ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "NO_PUBKEY")


class VerificationMode(StrEnum):
    HEAD = "HEAD"
    TAG = "Tag"
    TAG_AND_HEAD = "TagAndHEAD"

    @classmethod
    def from_spec(cls, mode: str | None) -> VerificationMode:
        """`spec.verify.mode`, with Flux's legacy lowercase `head` and its HEAD default."""
        if not mode or mode == "head":
            return cls.HEAD
        return cls(mode)

    @property
    def verifies_tag(self) -> bool:
        return self is not VerificationMode.HEAD

    @property
    def verifies_head(self) -> bool:
        return self is not VerificationMode.TAG


class VerificationError(GitError):
    """The signature could not be checked or is not trusted; no artifact may be stored."""

    reason = VERIFICATION_ERROR_REASON


class InvalidVerificationMode(VerificationError):
    """A Tag mode on a ref that is not a tag: only a spec change can fix it."""

    reason = INVALID_VERIFICATION_MODE_REASON
    stalling = True


class UnsignedTag(VerificationError):
    """The tag is lightweight or carries no signature."""

    reason = INVALID_GIT_OBJECT_REASON


class InvalidTagSignature(VerificationError):
    reason = INVALID_TAG_SIGNATURE_REASON


class InvalidCommitSignature(VerificationError):
    reason = INVALID_COMMIT_SIGNATURE_REASON


@dataclass(frozen=True, slots=True)
class GoodSignature:
    key_id: str
    """The signer's primary key id: the last 16 hex digits of its fingerprint, upper case."""
    fingerprint: str
    """The fingerprint of the (sub)key that made the signature."""


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    good: GoodSignature | None
    problem: str
    """Why the signature is not good; empty when it is."""


@dataclass(frozen=True, slots=True)
class Verified:
    mode: VerificationMode
    message: str
    """What was verified with which key, worded like Flux's SourceVerified message."""


def parse_signature_status(status: str) -> SignatureStatus:
    """Judge one signature from gpg's `--status-fd` lines (as `git verify-* --raw` prints)."""
    lines = [
        line.removeprefix(_STATUS_PREFIX).split()
        for line in status.splitlines()
        if line.startswith(_STATUS_PREFIX)
    ]
    keywords = {words[0] for words in lines if words}
    if not keywords & {"NEWSIG", "GOODSIG", "VALIDSIG", *_REFUSING}:
        return SignatureStatus(None, "no signature found")
    if keywords & {"ERRSIG", "NO_PUBKEY"}:
        return SignatureStatus(None, "signed by a key that is not in the secret")
    if "BADSIG" in keywords:
        return SignatureStatus(None, "bad signature: the signed content does not match")
    if "EXPKEYSIG" in keywords or "EXPSIG" in keywords:
        return SignatureStatus(None, "the signature or its key has expired")
    if "REVKEYSIG" in keywords:
        return SignatureStatus(None, "signed by a revoked key")
    valid = [words for words in lines if words[0] == "VALIDSIG"]
    if "GOODSIG" not in keywords or len(valid) != 1 or len(valid[0]) < 2:
        return SignatureStatus(None, "no valid signature found")
    signer = valid[0][1].upper()
    primary = valid[0][10].upper() if len(valid[0]) > 10 else signer
    return SignatureStatus(GoodSignature(key_id=primary[-16:], fingerprint=signer), "")


async def verify_commit(
    url: str,
    tree: Path,
    commit: Commit,
    mode: VerificationMode,
    keyrings: Mapping[str, bytes],
    *,
    timeout: float,
) -> Verified:
    """Verify `commit` (checked out in `tree` from `url`) and/or its tag against `keyrings`.

    `keyrings` maps each Secret data key to an ASCII-armored public key (ring). Raises a
    `VerificationError` subclass carrying Flux's reason.
    """
    tag = _tag_name(commit.reference)
    if mode.verifies_tag and tag is None:
        raise InvalidVerificationMode(
            "cannot verify tag object's signature if a tag reference is not specified"
        )
    deadline = asyncio.get_running_loop().time() + timeout
    async with git_transport(parse_git_url(url), GitAuth()) as transport:
        home = transport.workdir / "gnupg"
        await asyncio.to_thread(_make_gnupg_home, home)
        gpg = replace(transport, env={**transport.env, "GNUPGHOME": str(home)})
        try:
            await _import_keys(gpg, keyrings, deadline)
            lines: list[str] = []
            if mode.verifies_tag:
                assert tag is not None
                lines.append(await _verify_tag(gpg, tree, tag, deadline))
            if mode.verifies_head:
                status = await _verify(gpg, tree, "verify-commit", commit.sha, deadline)
                if status.good is None:
                    raise InvalidCommitSignature(
                        f"signature verification of commit '{commit.sha}' failed: {status.problem}"
                    )
                lines.append(f"commit '{commit.sha}' with key '{status.good.key_id}'")
        finally:
            await _stop_daemons(gpg, home)
    return Verified(mode, "verified signature of\n\t- " + "\n\t- ".join(lines))


def _tag_name(reference: str) -> str | None:
    if not reference.startswith("refs/tags/"):
        return None
    return reference.removeprefix("refs/tags/").removesuffix(PEELED_SUFFIX)


def _make_gnupg_home(home: Path) -> None:
    home.mkdir(mode=0o700)
    # Verifying needs no agent; without this gpg would leave one running per reconcile.
    (home / "gpg.conf").write_text("no-autostart\n")


def _remaining(deadline: float) -> float:
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise VerificationError("signature verification timed out")
    return remaining


async def _import_keys(gpg: GitTransport, keyrings: Mapping[str, bytes], deadline: float) -> None:
    if not keyrings:
        raise VerificationError("PGP public keys secret error: the secret has no data")
    for name in sorted(keyrings):
        argv = [GPG, "--batch", "--no-tty", "--status-fd", "1", "--import"]
        try:
            done = await run(
                argv,
                cwd=gpg.workdir,
                env=gpg.env,
                input=keyrings[name],
                timeout=_remaining(deadline),
                check=False,
            )
        except ProcessTimeout:
            raise VerificationError("signature verification timed out") from None
        except ProcessStartFailed as exc:
            raise VerificationError(f"cannot run gpg: {exc}") from None
        imported = any(
            line.startswith(_STATUS_PREFIX + "IMPORT_OK")
            for line in done.stdout.decode("utf-8", errors="replace").splitlines()
        )
        if done.returncode != 0 or not imported:
            raise VerificationError(
                f"PGP public keys secret error: key '{name}' is not an armored OpenPGP public key"
            )


async def _verify_tag(gpg: GitTransport, tree: Path, tag: str, deadline: float) -> str:
    ref = f"refs/tags/{tag}"
    oid = (await _git_out(gpg, tree, deadline, "rev-parse", "--verify", "--quiet", ref)).strip()
    kind = (await _git_out(gpg, tree, deadline, "cat-file", "-t", oid)).strip() if oid else ""
    shown = f"{tag}@{oid}" if oid else tag
    if kind != "tag":
        raise UnsignedTag(f"cannot verify signature of tag '{shown}' since it is not signed")
    status = await _verify(gpg, tree, "verify-tag", oid, deadline)
    if status.good is None:
        if status.problem == "no signature found":
            raise UnsignedTag(f"cannot verify signature of tag '{shown}' since it is not signed")
        raise InvalidTagSignature(
            f"signature verification of tag '{shown}' failed: {status.problem}"
        )
    return f"tag '{shown}' with key '{status.good.key_id}'"


async def _verify(
    gpg: GitTransport, tree: Path, command: str, oid: str, deadline: float
) -> SignatureStatus:
    done = await _git(gpg, tree, deadline, command, "--raw", oid)
    status = parse_signature_status(done.stderr.decode("utf-8", errors="replace"))
    if status.good is not None and done.returncode != 0:
        # Belt and braces: git and our parser must agree before a signature counts.
        return SignatureStatus(None, "git rejected the signature")
    return status


async def _git_out(gpg: GitTransport, tree: Path, deadline: float, *args: str) -> str:
    done = await _git(gpg, tree, deadline, *args)
    return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""


async def _git(gpg: GitTransport, tree: Path, deadline: float, *args: str) -> CompletedProcess:
    try:
        done = await run_git(gpg, args, cwd=tree, timeout=_remaining(deadline), check=False)
    except ProcessTimeout:
        raise VerificationError("signature verification timed out") from None
    except ProcessStartFailed as exc:
        raise VerificationError(f"cannot run git: {exc}") from None
    return done


async def _stop_daemons(gpg: GitTransport, home: Path) -> None:
    """Stop any agent gpg started anyway, so removing the home leaves nothing running."""
    sockets = await asyncio.to_thread(lambda: any(home.glob("S.*")))
    if not sockets:
        return
    with contextlib.suppress(ProcessTimeout, ProcessStartFailed):
        await run([GPGCONF, "--kill", "all"], env=gpg.env, timeout=10, check=False)
