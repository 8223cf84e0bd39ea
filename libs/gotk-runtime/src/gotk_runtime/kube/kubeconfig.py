"""A kubeconfig from a tenant's Secret (`spec.kubeConfig.secretRef`), made safe to load.

Such a kubeconfig is written by whoever may write the Secret, and loaded with the
controller's file system and process rights. As Flux does (runtime/client's kubeconfig
options), what would read the controller's own files or run a program is dropped — file
paths for certificates, keys and tokens, and auth-provider plugins — as are `exec`
credential plugins unless `--insecure-kubeconfig-exec` and `insecure-skip-tls-verify`
unless `--insecure-kubeconfig-tls`. Inline certificates and tokens are kept.
kustomize-controller and helm-controller both sanitise through this one function.
"""

from __future__ import annotations

import copy
from typing import Any, Final

__all__ = ["UNSAFE_CLUSTER_FIELDS", "UNSAFE_USER_FIELDS", "sanitize_kubeconfig"]

UNSAFE_USER_FIELDS: Final = ("client-certificate", "client-key", "tokenFile", "auth-provider")
UNSAFE_CLUSTER_FIELDS: Final = ("certificate-authority",)


def sanitize_kubeconfig(
    document: dict[str, Any], *, allow_exec: bool = False, allow_insecure_tls: bool = False
) -> dict[str, Any]:
    """A copy of `document` without what it may not use (see the module doc)."""
    sanitized = copy.deepcopy(document)
    for entry in sanitized.get("users") or ():
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict):
            for key in UNSAFE_USER_FIELDS:
                user.pop(key, None)
            if not allow_exec:
                user.pop("exec", None)
    for entry in sanitized.get("clusters") or ():
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if isinstance(cluster, dict):
            for key in UNSAFE_CLUSTER_FIELDS:
                cluster.pop(key, None)
            if not allow_insecure_tls:
                cluster.pop("insecure-skip-tls-verify", None)
    return sanitized
