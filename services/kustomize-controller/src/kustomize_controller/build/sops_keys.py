"""Recover a SOPS data key with the keys of a Kustomization's decryption Secret.

Keys come from the Secret's data as Flux reads them: `*.agekey` entries hold age
identities (`AGE-SECRET-KEY-1…` lines, `#` comments allowed), `*.asc` entries hold
armored OpenPGP private keys. age is decrypted in-process (pyrage); OpenPGP goes through
`gpg` with a throw-away home directory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage  # type: ignore[import-untyped]
from gotk_runtime import process
from gotk_runtime.tools import find_tool

from kustomize_controller.build.errors import DecryptionError

AGE_KEY_SUFFIX = ".agekey"
PGP_KEY_SUFFIX = ".asc"
GPG_TIMEOUT = 30.0
_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = "-----END AGE ENCRYPTED FILE-----"


@dataclass(frozen=True)
class DecryptionKeys:
    """The private keys available to one reconcile."""

    age_identities: tuple[str, ...] = ()
    pgp_private_keys: tuple[bytes, ...] = ()

    @classmethod
    def from_secret_data(cls, data: Mapping[str, bytes], *, secret: str = "") -> DecryptionKeys:
        """Pick the keys out of a decryption Secret's (already base64-decoded) data."""
        age: list[str] = []
        pgp: list[bytes] = []
        for name in sorted(data):
            if name.endswith(AGE_KEY_SUFFIX):
                identities = [
                    line.strip()
                    for line in data[name].decode("utf-8", errors="replace").splitlines()
                    if line.strip() and not line.strip().startswith("#")
                ]
                for identity in identities:
                    try:
                        pyrage.x25519.Identity.from_str(identity)
                    except Exception as exc:  # pyrage raises its own, untyped errors
                        raise DecryptionError(
                            f"failed to import '{name}' data from decryption Secret '{secret}': "
                            "not an age identity"
                        ) from exc
                age.extend(identities)
            elif name.endswith(PGP_KEY_SUFFIX):
                pgp.append(data[name])
        return cls(tuple(age), tuple(pgp))

    @property
    def empty(self) -> bool:
        return not self.age_identities and not self.pgp_private_keys


def dearmor_age(text: str) -> bytes:
    """The binary age file inside ASCII armor (as sops stores age-wrapped data keys)."""
    body = text.strip()
    if not body.startswith(_ARMOR_BEGIN):
        return body.encode()
    lines = body.splitlines()
    if lines[-1].strip() != _ARMOR_END:
        raise DecryptionError("malformed age armor in sops metadata")
    try:
        return base64.b64decode("".join(line.strip() for line in lines[1:-1]), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("malformed age armor in sops metadata") from exc


@dataclass
class KeyRing:
    """Unwraps data keys; owns a temporary GnuPG home while OpenPGP keys are in use."""

    keys: DecryptionKeys
    _identities: list[Any] = field(default_factory=list)
    _gnupg_home: Path | None = None
    _cache: dict[str, bytes] = field(default_factory=dict)

    async def __aenter__(self) -> KeyRing:
        self._identities = [pyrage.x25519.Identity.from_str(i) for i in self.keys.age_identities]
        if self.keys.pgp_private_keys:
            self._gnupg_home = Path(tempfile.mkdtemp(prefix="gotk-gnupg-"))
            self._gnupg_home.chmod(0o700)
            for armored in self.keys.pgp_private_keys:
                await self._gpg(["--import"], armored, "failed to import OpenPGP key")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        home, self._gnupg_home = self._gnupg_home, None
        if home is None:
            return
        # gpg starts an agent that outlives gpg itself; stop it before removing its home.
        with contextlib.suppress(Exception):
            gpgconf = find_tool("gpgconf")
            await process.run(
                [str(gpgconf), "--homedir", str(home), "--kill", "all"], timeout=GPG_TIMEOUT
            )
        await asyncio.to_thread(shutil.rmtree, home, True)

    async def _gpg(self, args: list[str], stdin: bytes, what: str) -> bytes:
        assert self._gnupg_home is not None
        try:
            gpg = find_tool("gpg")
        except FileNotFoundError as exc:
            raise DecryptionError(f"{what}: {exc}") from exc
        argv = [str(gpg), "--batch", "--quiet", "--no-tty", "--homedir", str(self._gnupg_home)]
        try:
            result = await process.run([*argv, *args], input=stdin, timeout=GPG_TIMEOUT)
        except process.ProcessError as exc:
            raise DecryptionError(f"{what}: {exc}") from exc
        return result.stdout

    async def data_key(self, metadata: Mapping[str, Any]) -> bytes:
        """The 32-byte data key, from the first master key this key ring can open."""
        groups = metadata.get("key_groups")
        if groups:
            if len(groups) > 1:
                raise DecryptionError("sops files with several key groups are not supported")
            group = groups[0] or {}
        else:
            group = metadata
        attempts: list[str] = []
        for entry in group.get("age") or []:
            enc = str((entry or {}).get("enc", ""))
            key = self._cache.get(enc) or self._open_age(enc)
            if key is not None:
                self._cache[enc] = key
                return key
            attempts.append(f"age {entry.get('recipient', '?')}")
        for entry in group.get("pgp") or []:
            enc = str((entry or {}).get("enc", ""))
            key = self._cache.get(enc) or await self._open_pgp(enc)
            if key is not None:
                self._cache[enc] = key
                return key
            attempts.append(f"pgp {entry.get('fp', '?')}")
        tried = ", ".join(attempts) if attempts else "no age or pgp master keys in the file"
        raise DecryptionError(f"cannot get sops data key: no matching private key ({tried})")

    def _open_age(self, enc: str) -> bytes | None:
        if not self._identities or not enc:
            return None
        try:
            key: bytes = pyrage.decrypt(dearmor_age(enc), self._identities)
        except Exception:  # pyrage.DecryptError: none of our identities matches
            return None
        return key

    async def _open_pgp(self, enc: str) -> bytes | None:
        if self._gnupg_home is None or not enc:
            return None
        try:
            return await self._gpg(["--decrypt"], enc.encode(), "pgp decrypt")
        except DecryptionError:
            return None
