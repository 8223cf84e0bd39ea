"""Helm 4 post-rendering as a gotk-provided plugin: `python -m helm_controller.postrender
CONFIG` reads the rendered manifests on stdin and writes them back changed, in Flux's
order: `spec.postRenderers` (kustomize patches and images, through the kustomize binary),
then `spec.commonMetadata`, then the origin labels `helm.toolkit.fluxcd.io/{name,namespace}`.

Helm 4 takes a post-renderer only as a plugin name: `install_plugin` writes the plugin
(`postrenderer/v1`, subprocess runtime) into the controller's Helm plugin dir once; each
action passes `--post-renderer=gotk-postrender --post-renderer-args=<its config file>`.
This module runs in that separate process: it imports nothing heavier than PyYAML.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "PLUGIN_NAME",
    "install_plugin",
    "post_render",
    "render_config",
    "renderers_digest",
]

PLUGIN_NAME: Final = "gotk-postrender"
KUSTOMIZE_TIMEOUT: Final = 60
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def install_plugin(plugins_dir: Path, python: str = sys.executable) -> Path:
    """Write the plugin into `plugins_dir` (idempotent); return its directory."""
    plugin = plugins_dir / PLUGIN_NAME
    plugin.mkdir(parents=True, exist_ok=True)
    manifest = {
        "apiVersion": "v1",
        "type": "postrenderer/v1",
        "name": PLUGIN_NAME,
        "version": "0.1.0",
        "runtime": "subprocess",
        "runtimeConfig": {"platformCommand": [{"command": "${HELM_PLUGIN_DIR}/postrender"}]},
    }
    (plugin / "plugin.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    script = plugin / "postrender"
    script.write_text(f'#!/bin/sh\nexec "{python}" -m helm_controller.postrender "$@"\n')
    script.chmod(0o755)
    return plugin


def renderers_digest(value: Any) -> str:
    """`sha256:` of a spec value as JSON (observedPostRenderersDigest and friends)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def render_config(
    *,
    kustomize: Iterable[Mapping[str, Any]],
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    origin: Mapping[str, str],
    kustomize_bin: str | None = None,
) -> dict[str, Any]:
    return {
        "kustomize": [dict(k) for k in kustomize],
        "labels": dict(labels),
        "annotations": dict(annotations),
        "origin": dict(origin),
        "kustomizeBin": kustomize_bin,
    }


def _set_metadata(doc: dict[str, Any], key: str, values: Mapping[str, str]) -> None:
    if not values:
        return
    metadata = doc.setdefault("metadata", {})
    current = metadata.get(key) or {}
    metadata[key] = {**current, **values}


def _kustomize(docs: list[Any], spec: Mapping[str, Any], binary: str) -> list[Any]:
    workdir = Path(tempfile.mkdtemp(prefix="gotk-postrender-"))
    try:
        (workdir / "resources.yaml").write_text(
            yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False)
        )
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["resources.yaml"],
        }
        if spec.get("patches"):
            kustomization["patches"] = spec["patches"]
        if spec.get("images"):
            kustomization["images"] = spec["images"]
        (workdir / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        result = subprocess.run(
            [binary, "build", str(workdir)],
            capture_output=True,
            timeout=KUSTOMIZE_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise SystemExit(f"post-renderer kustomize: {detail[-1] if detail else 'failed'}")
        return [d for d in yaml.load_all(result.stdout, Loader=_Loader) if d]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def post_render(manifests: str, config: Mapping[str, Any]) -> str:
    docs = [d for d in yaml.load_all(manifests, Loader=_Loader) if isinstance(d, dict)]
    for spec in config.get("kustomize") or ():
        binary = config.get("kustomizeBin") or shutil.which("kustomize") or "kustomize"
        docs = _kustomize(docs, spec, binary)
    for doc in docs:
        _set_metadata(doc, "labels", config.get("labels") or {})
        _set_metadata(doc, "annotations", config.get("annotations") or {})
        _set_metadata(doc, "labels", config.get("origin") or {})
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m helm_controller.postrender CONFIG.json", file=sys.stderr)
        return 2
    config = json.loads(Path(argv[0]).read_text())
    sys.stdout.write(post_render(sys.stdin.read(), config))
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main(sys.argv[1:]))
