"""source-controller's flags: the shared runtime flags plus Flux's storage flags."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gotk_runtime import RuntimeOptions, runtime_flags
from gotk_runtime.flags import go_duration

CONTROLLER_NAME = "source-controller"


@dataclass(frozen=True, slots=True)
class StorageOptions:
    path: Path
    addr: str
    adv_addr: str
    retention_ttl: float
    retention_records: int


@dataclass(frozen=True, slots=True)
class HelmLimits:
    index_max_size: int
    chart_max_size: int
    chart_file_max_size: int


def advertised_address(storage_addr: str) -> str:
    """Flux's derivation when `--storage-adv-addr` is unset: empty host → localhost,
    0.0.0.0 → this host's name."""
    host, _, port = storage_addr.rpartition(":")
    if host in ("", "::"):
        host = "localhost"
    elif host == "0.0.0.0":
        host = socket.gethostname()
    return f"{host}:{port}"


def parse_options(
    argv: Sequence[str] | None = None,
) -> tuple[RuntimeOptions, StorageOptions, HelmLimits]:
    parser = runtime_flags(concurrent=2)
    parser.prog = "python -m source_controller"
    add = parser.add_argument
    add(
        "--storage-path",
        default=os.environ.get("STORAGE_PATH", "/data"),
        help="directory holding the artifacts",
    )
    add(
        "--storage-addr",
        default=os.environ.get("STORAGE_ADDR", ":9090"),
        help="address the artifact server listens on",
    )
    add(
        "--storage-adv-addr",
        default=os.environ.get("STORAGE_ADV_ADDR", ""),
        help="address advertised in status.artifact.url (default: derived from --storage-addr)",
    )
    add(
        "--artifact-retention-ttl",
        type=go_duration,
        default=60.0,
        metavar="DURATION",
        help="how long superseded artifacts are kept",
    )
    add(
        "--artifact-retention-records",
        type=int,
        default=2,
        help="how many artifacts are kept per object",
    )
    add(
        "--helm-index-max-size",
        type=int,
        default=50 << 20,
        metavar="BYTES",
        help="the largest Helm repository index accepted",
    )
    add(
        "--helm-chart-max-size",
        type=int,
        default=10 << 20,
        metavar="BYTES",
        help="the largest Helm chart archive accepted",
    )
    add(
        "--helm-chart-file-max-size",
        type=int,
        default=5 << 20,
        metavar="BYTES",
        help="the largest single file accepted inside a Helm chart",
    )
    args = parser.parse_args(argv)
    storage = StorageOptions(
        path=Path(args.storage_path),
        addr=args.storage_addr,
        adv_addr=args.storage_adv_addr or advertised_address(args.storage_addr),
        retention_ttl=args.artifact_retention_ttl,
        retention_records=args.artifact_retention_records,
    )
    helm = HelmLimits(
        index_max_size=args.helm_index_max_size,
        chart_max_size=args.helm_chart_max_size,
        chart_file_max_size=args.helm_chart_file_max_size,
    )
    return RuntimeOptions.from_args(args, CONTROLLER_NAME), storage, helm
