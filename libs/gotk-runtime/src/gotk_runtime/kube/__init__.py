"""Kubernetes API access: configuration, a raw-JSON dynamic client, discovery.

The only package in gotk that touches kubernetes_asyncio.
"""

from gotk_runtime.kube.client import KubeClient, PatchType, WatchEvent
from gotk_runtime.kube.config import ClusterConfig, load_config
from gotk_runtime.kube.discovery import Discovery
from gotk_runtime.kube.kubeconfig import sanitize_kubeconfig
from gotk_runtime.kube.resource import (
    CONFIG_MAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    SECRETS,
    Resource,
    object_key,
    split_api_version,
)

__all__ = [
    "CONFIG_MAPS",
    "EVENTS",
    "LEASES",
    "NAMESPACES",
    "SECRETS",
    "ClusterConfig",
    "Discovery",
    "KubeClient",
    "PatchType",
    "Resource",
    "WatchEvent",
    "load_config",
    "object_key",
    "sanitize_kubeconfig",
    "split_api_version",
]
