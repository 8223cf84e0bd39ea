"""Registry credentials from docker config JSON, and the `WWW-Authenticate` challenges.

A `kubernetes.io/dockerconfigjson` Secret holds `{"auths": {"<host>": {...}}}` with either
`auth` (base64 `user:password`), `username`/`password`, an `identitytoken` (an OAuth2
refresh token) or a `registrytoken` (a bearer token used as-is). Keys may be written as
`host`, `https://host` or `https://host/v1/`; Docker Hub has several spellings. The repr of
a credential names which fields are set, never their values.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final
from urllib.parse import urlsplit

from source_controller.oci.errors import RegistryAuthenticationFailed
from source_controller.oci.reference import DOCKER_HUB_HOSTS

__all__ = [
    "Challenge",
    "RegistryCredentials",
    "credentials_from_dockerconfig",
    "parse_challenge",
]

DOCKERCONFIGJSON_KEY: Final = ".dockerconfigjson"
DOCKERCFG_KEY: Final = ".dockercfg"
_PARAM_RE: Final = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True, slots=True, repr=False)
class RegistryCredentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def __repr__(self) -> str:
        names = [f.name for f in fields(self) if getattr(self, f.name)]
        return f"RegistryCredentials({', '.join(names)} set)"

    def __bool__(self) -> bool:
        return bool(self.username or self.password or self.identity_token or self.registry_token)

    def basic_header(self) -> str | None:
        if not (self.username or self.password):
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never reach a message or a log."""
        values = [self.password, self.identity_token, self.registry_token]
        header = self.basic_header()
        if header:
            values.append(header.split(" ", 1)[1])
        return tuple(v for v in values if v)


def _normalize_host(key: str) -> str:
    key = key.strip()
    key = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    return "docker.io" if key in DOCKER_HUB_HOSTS else key


def _entry_credentials(entry: Mapping[str, Any], key: str) -> RegistryCredentials:
    def text(name: str) -> str:
        value = entry.get(name) or ""
        if not isinstance(value, str):
            raise RegistryAuthenticationFailed(
                f"invalid docker config: '{name}' of registry '{key}' is not a string"
            )
        return value

    username, password = text("username"), text("password")
    encoded = text("auth")
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryAuthenticationFailed(
                f"invalid docker config: 'auth' of registry '{key}' is not base64 'user:password'"
            ) from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise RegistryAuthenticationFailed(
                f"invalid docker config: 'auth' of registry '{key}' has no ':' separator"
            )
        username, password = user, secret
    return RegistryCredentials(
        username=username,
        password=password,
        identity_token=text("identitytoken"),
        registry_token=text("registrytoken"),
    )


def credentials_from_dockerconfig(
    data: Mapping[str, bytes], registry_host: str, *, source: str
) -> RegistryCredentials | None:
    """The credentials Secret data `data` holds for `registry_host`, or None if it has none.

    `source` names the Secret in messages (e.g. "secret 'ns/name'").
    """
    if DOCKERCONFIGJSON_KEY in data:
        raw, legacy = data[DOCKERCONFIGJSON_KEY], False
    elif DOCKERCFG_KEY in data:
        raw, legacy = data[DOCKERCFG_KEY], True
    else:
        raise RegistryAuthenticationFailed(
            f"{source} has no '{DOCKERCONFIGJSON_KEY}' key; "
            "expected a Secret of type kubernetes.io/dockerconfigjson"
        )
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryAuthenticationFailed(f"{source}: docker config is not valid JSON") from None
    auths = document if legacy else (document.get("auths") if isinstance(document, dict) else None)
    if not isinstance(auths, dict):
        raise RegistryAuthenticationFailed(f"{source}: docker config has no 'auths' object")
    wanted = _normalize_host(registry_host)
    for key, entry in auths.items():
        if _normalize_host(key) == wanted and isinstance(entry, dict):
            try:
                return _entry_credentials(entry, key)
            except RegistryAuthenticationFailed as exc:
                raise RegistryAuthenticationFailed(f"{source}: {exc.message}") from None
    return None


@dataclass(frozen=True, slots=True)
class Challenge:
    """One `WWW-Authenticate` challenge: `Bearer realm="...",service="...",scope="..."`."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenge(header: str) -> Challenge:
    """The scheme (lowercased) and parameters of a registry's challenge."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3) or "").replace(
            '\\"', '"'
        )
        for m in _PARAM_RE.finditer(rest)
    }
    return Challenge(scheme.lower(), params)
