"""What a build needs from the cluster besides the artifact: the `postBuild` variables
(`substituteFrom` ConfigMaps and Secrets) and the SOPS keys of `spec.decryption.secretRef`.

Read with the controller's own client, in the Kustomization's namespace, as Flux does.
"""

from __future__ import annotations

import base64
import binascii

from gotk_api.kustomize import Kustomization
from gotk_runtime import KubeClient, KubeError, NotFound
from gotk_runtime.kube import CONFIG_MAPS, SECRETS

from kustomize_controller.build import (
    DecryptionError,
    DecryptionKeys,
    SubstitutionError,
    VariableSource,
    collect_variables,
    decode_secret_data,
)


async def resolve_variables(client: KubeClient, ks: Kustomization) -> dict[str, str]:
    """The merged `postBuild` variables (empty without `spec.postBuild`)."""
    post_build = ks.spec.post_build
    if post_build is None:
        return {}
    sources: list[VariableSource] = []
    for ref in post_build.substitute_from or ():
        resource = CONFIG_MAPS if ref.kind == "ConfigMap" else SECRETS
        try:
            obj = await client.get(resource, ref.name, ks.namespace)
        except NotFound:
            sources.append(VariableSource(ref.kind, ref.name, None, optional=ref.optional))
            continue
        except KubeError as err:
            raise SubstitutionError(
                f"substitute from '{ref.kind}/{ref.name}' error: {err.message}"
            ) from None
        data = obj.get("data") or {}
        values = decode_secret_data(data) if ref.kind == "Secret" else dict(data)
        sources.append(VariableSource(ref.kind, ref.name, values, optional=ref.optional))
    return collect_variables(sources, post_build.substitute)


async def resolve_decryption_keys(client: KubeClient, ks: Kustomization) -> DecryptionKeys | None:
    """The keys of `spec.decryption.secretRef`, None without decryption."""
    decryption = ks.spec.decryption
    if decryption is None:
        return None
    if decryption.secret_ref is None:
        return DecryptionKeys()
    name = decryption.secret_ref.name
    try:
        secret = await client.get(SECRETS, name, ks.namespace)
    except NotFound:
        raise DecryptionError(
            f"cannot get decryption Secret '{ks.namespace}/{name}': not found"
        ) from None
    except KubeError as err:
        raise DecryptionError(
            f"cannot get decryption Secret '{ks.namespace}/{name}': {err.message}"
        ) from None
    data: dict[str, bytes] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            data[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError(
                f"decryption Secret '{ks.namespace}/{name}': key '{key}' is not valid base64"
            ) from None
    return DecryptionKeys.from_secret_data(data, secret=name)
