"""The web UI's flags, parsed in one place."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ADDR", "UIOptions", "parse_options"]

DEFAULT_ADDR = "127.0.0.1:9080"
TOKEN_ENV = "GOTK_UI_AUTH_TOKEN"
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True, slots=True)
class UIOptions:
    kubeconfig: str | None = None
    addr: str = DEFAULT_ADDR
    auth_token: str | None = None
    runtime_namespace: str = "flux-system"
    log_level: str = "info"
    kube_api_qps: float = 20.0
    kube_api_burst: int = 50

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.addr.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)


def _default_namespace() -> str:
    if os.environ.get("RUNTIME_NAMESPACE"):
        return os.environ["RUNTIME_NAMESPACE"]
    try:
        return _SA_NAMESPACE.read_text().strip() or "flux-system"
    except OSError:
        return "flux-system"


def parse_options(argv: Sequence[str] | None = None) -> UIOptions:
    parser = argparse.ArgumentParser(
        prog="python -m gotk_ui", description="gotk's read-only web UI"
    )
    add = parser.add_argument
    add("--kubeconfig", default=None, help="kubeconfig path (else $KUBECONFIG or in-cluster)")
    add(
        "--addr",
        default=DEFAULT_ADDR,
        help="address to serve on; loopback unless told otherwise (e.g. :9080 in a pod)",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--auth-token",
        default=None,
        help=f"require this bearer token (also read from ${TOKEN_ENV}, preferred: a flag "
        "shows in the process list)",
    )
    token.add_argument("--auth-token-file", default=None, help="read the bearer token from a file")
    add(
        "--runtime-namespace",
        default=None,
        help="namespace of the controllers' Leases and Deployments "
        "(default: $RUNTIME_NAMESPACE, the pod's namespace, or flux-system)",
    )
    add("--log-level", default="info", choices=["debug", "info", "error"])
    add("--kube-api-qps", type=float, default=20.0, help="client-side API request rate limit")
    add("--kube-api-burst", type=int, default=50)
    args = parser.parse_args(argv)
    auth_token = args.auth_token or os.environ.get(TOKEN_ENV) or None
    if args.auth_token_file:
        auth_token = Path(args.auth_token_file).read_text().strip() or None
    options = UIOptions(
        kubeconfig=args.kubeconfig,
        addr=args.addr,
        auth_token=auth_token,
        runtime_namespace=args.runtime_namespace or _default_namespace(),
        log_level=args.log_level,
        kube_api_qps=args.kube_api_qps,
        kube_api_burst=args.kube_api_burst,
    )
    try:
        options.host_port  # noqa: B018  (validates --addr)
    except ValueError:
        parser.error(f"--addr {args.addr!r} is not host:port")
    return options
