"""TLS settings from a `certSecretRef` Secret: a CA that extends the system roots and an
optional client certificate pair.

Keys are Flux's `ca.crt`, `tls.crt`, `tls.key`; a HelmRepository's `secretRef` may still
hold the deprecated `caFile`, `certFile`, `keyFile`. The repr names which parts are set.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from source_controller.credentials.secrets import CredentialsError, SecretData

__all__ = ["TLSMaterial", "ssl_context", "tls_from_secret", "write_private"]

KEYS: Final = ("ca.crt", "tls.crt", "tls.key")
LEGACY_KEYS: Final = ("caFile", "certFile", "keyFile")


@dataclass(frozen=True, slots=True, repr=False)
class TLSMaterial:
    ca: bytes = b""
    cert: bytes = b""
    key: bytes = b""

    def __repr__(self) -> str:
        names = [n for n in ("ca", "cert", "key") if getattr(self, n)]
        return f"TLSMaterial({', '.join(names)} set)"

    def __bool__(self) -> bool:
        return bool(self.ca or self.cert or self.key)


def tls_from_secret(
    data: SecretData, *, source: str, legacy: bool = False, required: bool = False
) -> TLSMaterial:
    """The TLS material in Secret `data` (`legacy`: the deprecated keys); `source` names the
    Secret in messages. A client certificate needs its key; with `required`, a Secret with
    neither a CA nor a client certificate is an error."""
    names = LEGACY_KEYS if legacy else KEYS
    ca, cert, key = (data.get(name, b"") for name in names)
    if bool(cert) != bool(key):
        raise CredentialsError(
            f"invalid {source}: '{names[1]}' and '{names[2]}' must be set together"
        )
    if required and not (ca or cert):
        raise CredentialsError(
            f"invalid {source}: needs '{names[0]}' or '{names[1]}' and '{names[2]}'"
        )
    return TLSMaterial(ca, cert, key)


def ssl_context(tls: TLSMaterial, *, source: str) -> ssl.SSLContext:
    """A client context trusting the system roots plus `tls.ca`, presenting the client pair
    if any. Blocking (the pair goes through private files): call it in a thread."""
    if bool(tls.cert) != bool(tls.key):
        raise CredentialsError(f"invalid {source}: 'tls.crt' and 'tls.key' must be set together")
    context = ssl.create_default_context()
    try:
        if tls.ca:
            context.load_verify_locations(cadata=tls.ca.decode("ascii"))
        if tls.cert:
            # load_cert_chain only reads files: stage the pair in a private directory.
            with tempfile.TemporaryDirectory(prefix="gotk-tls-") as scratch:
                cert, key = Path(scratch) / "tls.crt", Path(scratch) / "tls.key"
                write_private(cert, tls.cert)
                write_private(key, tls.key)
                context.load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise CredentialsError(
            f"invalid TLS material in {source}: {exc.__class__.__name__}: {exc}"
        ) from None
    return context


def write_private(path: Path, data: bytes) -> None:
    """Create `path` readable by this user only (0600) and write `data`; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
