"""A real local Kubernetes control plane (etcd, kube-apiserver, and optionally
kube-controller-manager, kube-scheduler and kwok) for gotk's tests and demo."""

from .binaries import KUBE_VERSION, BinariesMissing, bin_dir
from .controlplane import FAKE_NODE, ControlPlane, ControlPlaneError, Profile, free_port

__all__ = [
    "FAKE_NODE",
    "KUBE_VERSION",
    "BinariesMissing",
    "ControlPlane",
    "ControlPlaneError",
    "Profile",
    "bin_dir",
    "free_port",
]
