"""Reading the Secrets a source object references, as Flux does: same namespace only."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from gotk_api.conditions import AUTHENTICATION_FAILED_REASON
from gotk_runtime import GenericError, KubeClient, NotFound

__all__ = ["CredentialsError", "SecretData", "read_secret"]

SecretData = Mapping[str, bytes]
"""A Secret's data, base64-decoded (`stringData` merged in)."""


class CredentialsError(GenericError):
    """A referenced Secret is missing, or its data cannot form credentials, a proxy or TLS
    settings. Flux reports AuthenticationFailed and retries: the Secret may appear later."""

    reason = AUTHENTICATION_FAILED_REASON


async def read_secret(client: KubeClient, namespace: str, name: str, *, field: str) -> SecretData:
    """The decoded data of Secret `namespace/name`, referenced by the spec field `field`."""
    resource = await client.discovery.resource_for("v1", "Secret")
    try:
        secret = await client.get(resource, name, namespace)
    except NotFound:
        raise CredentialsError(
            f"failed to get secret '{namespace}/{name}' referenced by {field}: not found"
        ) from None
    data = {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
    for key, value in (secret.get("stringData") or {}).items():
        data[key] = value.encode()
    return data
